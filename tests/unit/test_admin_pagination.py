from plugin.admin.service import Page


def test_page_arithmetic():
    page = Page(items=list(range(50)), number=2, total=120)

    assert (page.pages, page.has_prev, page.has_next) == (3, True, True)
    assert (page.first_index, page.last_index) == (51, 100)


def test_last_and_empty_pages():
    last = Page(items=list(range(20)), number=3, total=120)
    empty = Page(items=[], number=1, total=0)

    assert (last.has_next, last.first_index, last.last_index) == (False, 101, 120)
    assert (empty.pages, empty.has_prev, empty.has_next) == (1, False, False)
    assert (empty.first_index, empty.last_index) == (0, 0)
