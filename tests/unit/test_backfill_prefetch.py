"""The backfill reads the next page while it writes this one (plugin/sync/backfill.py ``_prefetched``):
same pages in the same order, a reading error raised at its page, and a reader that stops with the
writer."""
from __future__ import annotations

import threading

import pytest
from flask import Flask

from plugin.sync.backfill import _prefetched


@pytest.fixture
def app_context():
    with Flask(__name__).app_context():
        yield


def test_pages_arrive_in_order_and_all_of_them(app_context):
    assert list(_prefetched(iter(range(50)))) == list(range(50))


def test_a_reading_error_is_raised_at_its_page(app_context):
    def pages():
        yield "page 1"
        yield "page 2"
        raise ConnectionError("the platform went away")

    read = _prefetched(pages())
    assert [next(read), next(read)] == ["page 1", "page 2"]
    with pytest.raises(ConnectionError, match="went away"):
        next(read)


def test_the_reader_stops_when_the_writer_stops_and_reads_at_most_one_page_ahead(app_context):
    asked = []

    def pages():
        for n in range(1000):
            asked.append(n)
            yield n

    read = _prefetched(pages())
    assert next(read) == 0
    read.close()  # the writer failed: the reader thread ends and the source generator is closed
    assert not any(t.name == "storecare-backfill-reader" and t.is_alive() for t in threading.enumerate())
    assert len(asked) <= 3  # the page written, the one read ahead, and at most one waiting to be handed over
