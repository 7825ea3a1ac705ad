"""Reading helpdesk exports: layouts, encodings and bad rows, each reported by file, line and column."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from supportpilot.timeline.import_formats import (
    ImportedMessage,
    ImportedTicket,
    ImportFormatError,
    Rejected,
    read_export,
)
from supportpilot.timeline.imports import imported_triage, map_label, training_rows
from supportpilot.timeline.models import ImportMapping

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"


def read(source: str, name: str) -> list:
    with open(FIXTURES / name, "rb") as export:
        return list(read_export(source, name, export))


def test_the_zendesk_export_gives_tickets_with_their_comments_and_rejects_the_broken_line():
    records = dict(read("zendesk", "zendesk_tickets.json"))
    first = records[1]
    assert isinstance(first, ImportedTicket)
    assert (first.source_id, first.email, first.phone) == ("9001", "anne@example.nl", "+31 6 0000 0001")
    assert not first.open
    assert [m.direction for m in first.messages] == ["inbound", "outbound", "internal"]
    assert first.labels == ["question", "shipping", "nl"]
    assert records[2].open is True
    assert isinstance(records[3], Rejected) and "not valid JSON" in records[3].reason
    assert isinstance(records[4], ImportedTicket)  # no address or number: the importer rejects it


def test_the_freshdesk_csv_keeps_multi_line_descriptions_and_names_the_line_of_a_bad_date():
    records = read("freshdesk", "freshdesk_tickets.csv")
    assert [line for line, _ in records] == [2, 4, 5]
    ticket = records[0][1]
    assert ticket.messages[0].body.endswith("Graag een oplossing.")
    assert ticket.labels == ["Defect", "kettle", "warranty"] and ticket.phone == "06 0000 0001"
    assert records[2][1] == Rejected("Created time: not a date and time")


def test_the_generic_csv_rejects_a_row_without_text_by_its_line():
    records = read("csv", "generic_tickets.csv")
    assert records[1][1].phone == "+31 6 0000 0009" and records[1][1].open
    assert records[2] == (4, Rejected("body: empty"))


def test_a_csv_saved_by_a_dutch_spreadsheet_reads_like_one_with_commas(tmp_path):
    export = tmp_path / "excel.csv"
    export.write_text(
        "ticket_id;created_at;email;body\n"
        "X-1;2024-01-01T00:00:00Z;a@example.com;Dubbel betaald: \u20ac 12,50, twee keer\n"
    )
    with open(export, "rb") as lines:
        [(line, ticket)] = list(read_export("csv", str(export), lines))
    assert (line, ticket.source_id, ticket.email) == (2, "X-1", "a@example.com")
    assert ticket.messages[0].body == "Dubbel betaald: \u20ac 12,50, twee keer"


def test_an_empty_export_is_an_error_naming_the_layout(tmp_path):
    export = tmp_path / "empty.csv"
    export.write_text("")
    with open(export, "rb") as lines, pytest.raises(ImportFormatError, match=r"empty\.csv line 1: empty file"):
        list(read_export("csv", str(export), lines))


def test_a_row_with_more_fields_than_the_header_is_rejected_not_misread(tmp_path):
    export = tmp_path / "extra.csv"
    export.write_text("ticket_id,created_at,email,body\nX-1,2024-01-01T00:00:00Z,a@example.com,hi,extra\n")
    with open(export, "rb") as lines:
        assert list(read_export("csv", str(export), lines)) == [(2, Rejected("5 fields where the header has 4"))]


def test_a_different_column_layout_is_an_error_naming_file_line_and_column(tmp_path):
    export = tmp_path / "tickets.csv"
    export.write_text("id,date,mail,text\n1,2024-01-01,a@example.com,hi\n")
    with open(export, "rb") as lines, pytest.raises(ImportFormatError) as error:
        list(read_export("csv", str(export), lines))
    assert "tickets.csv line 1: column 'ticket_id' missing" in str(error.value)


def test_a_zendesk_file_that_is_no_json_lines_is_an_error_naming_the_column(tmp_path):
    export = tmp_path / "export.json"
    export.write_text('{\n  "tickets": []\n}\n')
    with open(export, "rb") as lines, pytest.raises(ImportFormatError, match=r"export.json line 1 column 2: not JSON"):
        list(read_export("zendesk", str(export), lines))


def test_an_export_in_another_encoding_is_an_error_naming_file_line_and_column(tmp_path):
    export = tmp_path / "latin1.csv"
    export.write_bytes(
        "ticket_id,created_at,email,body\nL-1,2024-01-01T00:00:00Z,a@example.com,ok\n"
        "L-2,2024-01-02T00:00:00Z,b@example.com,caf\u00e9\n".encode("latin-1")
    )
    with open(export, "rb") as lines, pytest.raises(ImportFormatError) as error:
        list(read_export("csv", str(export), lines))
    assert str(error.value).startswith("latin1.csv line 3 column 43: not UTF-8")


def test_the_mapping_turns_old_categories_into_the_taxonomy_or_keeps_the_shops_own_labels():
    mapping = ImportMapping(categories={"shipping": "order_status"})
    assert map_label(["question", "shipping"], mapping) == "order_status"
    assert map_label(["Refund"], mapping) == "refund"  # already a category of the desk
    assert map_label(["Gift Wrap"], mapping) == "gift_wrap"
    assert map_label(["Gift Wrap"], mapping.model_copy(update={"unmapped": "drop"})) is None


def test_a_mapping_to_something_that_is_no_label_is_refused():
    with pytest.raises(ValueError, match=r"categories\.x"):
        ImportMapping(categories={"x": "Not A Label"})


def test_an_imported_ticket_is_read_as_a_live_one_its_own_words_with_names_neutralised():
    body = (
        "Thanks, the parcel arrived today. Groetjes, Mia\n\n"
        "Op ma 23 nov 2026 om 10:12 schreef support@example.nl:\n"
        "> BESTE KLANT, UW PAKKET IS ONDERWEG!!! Het komt morgen, excuses voor het wachten."
    )
    created = datetime(2024, 1, 1, tzinfo=UTC)
    ticket = ImportedTicket(
        source_id="H-1",
        created_at=created,
        labels=["order_status"],
        messages=[ImportedMessage(body=body, created_at=created)],
    )

    triage = imported_triage(ticket, "order_status", "csv")
    [(_, row)] = list(training_rows([(2, ticket)], ImportMapping()))

    assert (triage.language, triage.emotional_load) == ("en", 0.0)  # not the quoted Dutch, nor "Mia" (Italian)
    assert row["language"] == "en"
