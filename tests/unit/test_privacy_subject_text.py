"""Error texts lose the subject of a redaction and keep the rest (plugin/privacy/subject.py)."""
from __future__ import annotations

from plugin.privacy.subject import Subject

ANNA = Subject(customer_ids=frozenset({"7"}), emails=frozenset({"anna.kowalska@example.com"}),
               phones=frozenset({"+48 600 100 200"}), names=frozenset({"Anna", "Kowalska", "Anna Kowalska"}))


def test_her_email_in_any_case_her_phone_and_her_names_become_redacted():
    text = "InvalidPayload: customer 7 'ANNA.Kowalska@Example.com' (+48 600 100 200), Anna Kowalska, is odd"

    assert ANNA.redacted_text(text) == "InvalidPayload: customer 7 '[redacted]' ([redacted]), [redacted], is odd"


def test_a_name_goes_only_as_a_whole_word_and_other_text_stays():
    text = "Annabelle ordered from Kowalskas-shop; anna wrote to bob@example.com"

    assert ANNA.redacted_text(text) == "Annabelle ordered from Kowalskas-shop; [redacted] wrote to bob@example.com"


def test_non_ascii_names_fold_their_case():
    subject = Subject(customer_ids=frozenset({"9"}), names=frozenset({"Stępień"}))

    assert subject.redacted_text("customer STĘPIEŃ failed") == "customer [redacted] failed"
