"""Readers of helpdesk exports: one `ImportedTicket` (or a `Rejected` row) per record, streamed.

- `zendesk`: Zendesk's JSON export (Admin Center > Tools > Reports), one ticket per line: `id`,
  `subject`, `description`, `status`, `type`, `tags`, `created_at`, `requester` (`email`, `phone`,
  `name`) or `via.source.from`, `requester_id`, `comments` (`author_id`, `plain_body`/`body`,
  `public`, `created_at`).
- `freshdesk`, CSV: the ticket export with `Ticket ID`, `Created time`, `Description` and `Email`
  and/or `Work phone`/`Mobile phone`; optional `Subject`, `Status`, `Type`, `Tags`, `Full name`.
- `freshdesk`, `.json`/`.jsonl`: API tickets, one per line: `id`, `subject`, `description_text`,
  `status` (2-5), `type`, `tags`, `created_at`, `requester` (`email`, `phone`, `mobile`, `name`),
  `conversations` (`body_text`, `incoming`, `private`, `created_at`).
- `csv`, the generic layout (UTF-8, header row): `ticket_id`, `created_at`, `body`, and `email`
  and/or `phone`; optional `name`, `subject`, `category`, `tags` (`,` or `;` separated), `status`
  (`open`; anything else is closed).

Times are ISO 8601 (`2024-03-01T09:30:00Z`) or `YYYY-MM-DD HH:MM[:SS]`; a time without zone is UTC.
Errors name the file, line and column, never a value of the row: exports hold personal data.
"""

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from pathlib import PurePath
from typing import Any, Literal

from pydantic import BaseModel, Field

from supportpilot.csv_header import delimiter_for
from supportpilot.timeline.models import ImportSource


class ImportFormatError(ValueError):
    """The file is not the layout or encoding expected: the message names file, line and column."""


class ImportedMessage(BaseModel):
    body: str
    created_at: datetime
    direction: Literal["inbound", "outbound", "internal"] = "inbound"


class ImportedTicket(BaseModel):
    source_id: str = Field(min_length=1)
    created_at: datetime
    subject: str = ""
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    open: bool = False
    labels: list[str] = Field(default_factory=list, description="the old helpdesk's category first, then tags")
    messages: list[ImportedMessage] = Field(min_length=1)


@dataclass(frozen=True)
class Rejected:
    reason: str


Record = tuple[int, ImportedTicket | Rejected]


class RowProblem(ValueError):
    """One record cannot be imported; the reason names a column, never its value."""


def parse_time(value: Any, column: str) -> datetime:
    text = str(value or "").strip()
    if not text:
        raise RowProblem(f"{column}: empty")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RowProblem(f"{column}: not a date and time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _decoded(name: str, lines: Iterable[bytes]) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(lines, start=1):
        try:
            yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise ImportFormatError(
                f"{name} line {number} column {error.start + 1}: not UTF-8 text (export or save the file as UTF-8)"
            ) from None


def _split_labels(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value or "").replace(";", ",").split(",") if part.strip()]


# ---------- CSV ----------
@dataclass(frozen=True)
class CsvLayout:
    name: str
    required: tuple[str, ...]
    contact_columns: tuple[str, ...]  # at least one of them

    def check(self, file_name: str, header: list[str]) -> None:
        for column in self.required:
            if column not in header:
                raise ImportFormatError(
                    f"{file_name} line 1: column {column!r} missing from the header (expected the {self.name} layout; "
                    f"found {len(header)} columns: {', '.join(repr(h) for h in header[:12])})"
                )
        if not any(column in header for column in self.contact_columns):
            wanted = " or ".join(repr(c) for c in self.contact_columns)
            raise ImportFormatError(f"{file_name} line 1: no column {wanted} in the header ({self.name} layout)")


GENERIC_CSV = CsvLayout("generic CSV", ("ticket_id", "created_at", "body"), ("email", "phone"))
FRESHDESK_CSV = CsvLayout(
    "Freshdesk CSV", ("Ticket ID", "Created time", "Description"), ("Email", "Work phone", "Mobile phone")
)


def _generic_ticket(row: dict[str, str]) -> ImportedTicket:
    created = parse_time(row.get("created_at"), "created_at")
    body = (row.get("body") or "").strip()
    if not body:
        raise RowProblem("body: empty")
    labels = [row["category"].strip()] if (row.get("category") or "").strip() else []
    return ImportedTicket(
        source_id=(row.get("ticket_id") or "").strip() or _missing("ticket_id"),
        created_at=created,
        subject=(row.get("subject") or "").strip(),
        email=(row.get("email") or "").strip() or None,
        phone=(row.get("phone") or "").strip() or None,
        name=(row.get("name") or "").strip() or None,
        open=(row.get("status") or "").strip().lower() == "open",
        labels=labels + _split_labels(row.get("tags")),
        messages=[ImportedMessage(body=body, created_at=created)],
    )


def _freshdesk_csv_ticket(row: dict[str, str]) -> ImportedTicket:
    created = parse_time(row.get("Created time"), "Created time")
    body = (row.get("Description") or "").strip()
    if not body:
        raise RowProblem("Description: empty")
    phone = (row.get("Mobile phone") or "").strip() or (row.get("Work phone") or "").strip() or None
    labels = [row["Type"].strip()] if (row.get("Type") or "").strip() else []
    return ImportedTicket(
        source_id=(row.get("Ticket ID") or "").strip() or _missing("Ticket ID"),
        created_at=created,
        subject=(row.get("Subject") or "").strip(),
        email=(row.get("Email") or "").strip() or None,
        phone=phone,
        name=(row.get("Full name") or "").strip() or None,
        open=(row.get("Status") or "").strip().lower() in {"open", "pending"},
        labels=labels + _split_labels(row.get("Tags")),
        messages=[ImportedMessage(body=body, created_at=created)],
    )


def _missing(column: str) -> str:
    raise RowProblem(f"{column}: empty")


def _csv_records(file_name: str, lines: Iterable[bytes], layout: CsvLayout, convert) -> Iterator[Record]:
    numbered = _decoded(file_name, lines)
    first = next(numbered, None)
    if first is None:
        raise ImportFormatError(f"{file_name} line 1: empty file, expected the {layout.name} header")
    current = {"line": 0}

    def text_lines() -> Iterator[str]:
        for number, text in chain([first], numbered):
            current["line"] = number
            yield text

    reader = csv.reader(text_lines(), delimiter=delimiter_for(first[1], layout.required))
    header = [column.strip() for column in next(reader)]
    layout.check(file_name, header)
    while True:
        start = current["line"] + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ImportFormatError(f"{file_name} line {current['line']}: not valid CSV ({error})") from None
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield start, Rejected(f"{len(row)} fields where the header has {len(header)}")
            continue
        try:
            yield start, convert(dict(zip(header, row, strict=True)))
        except RowProblem as problem:
            yield start, Rejected(str(problem))
        except ValueError:
            yield start, Rejected("a field has an invalid value")


# ---------- JSON lines ----------
def _json_records(file_name: str, lines: Iterable[bytes], convert, layout_name: str) -> Iterator[Record]:
    for number, text in _decoded(file_name, lines):
        if not text.strip():
            continue
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            column = min(error.pos, len(text.rstrip("\r\n"))) + 1
            if number == 1:
                raise ImportFormatError(
                    f"{file_name} line 1 column {column}: not JSON lines ({layout_name}: one ticket object per line)"
                ) from None
            yield number, Rejected(f"column {column}: not valid JSON")
            continue
        if not isinstance(document, dict):
            yield number, Rejected("not a JSON object")
            continue
        try:
            yield number, convert(document)
        except RowProblem as problem:
            yield number, Rejected(str(problem))
        except (ValueError, TypeError, AttributeError):
            yield number, Rejected("a field has an invalid value or type")


def _zendesk_ticket(doc: dict[str, Any]) -> ImportedTicket:
    if "id" not in doc:
        raise RowProblem("id: missing")
    created = parse_time(doc.get("created_at"), "created_at")
    requester = doc.get("requester") or {}
    via_from = ((doc.get("via") or {}).get("source") or {}).get("from") or {}
    requester_id = doc.get("requester_id")
    messages = []
    for index, comment in enumerate(doc.get("comments") or []):
        body = str(comment.get("plain_body") or comment.get("body") or "").strip()
        if not body:
            continue
        if comment.get("public") is False:
            direction = "internal"
        elif requester_id is not None:
            direction = "inbound" if comment.get("author_id") == requester_id else "outbound"
        else:
            direction = "inbound" if index == 0 else "outbound"
        messages.append(
            ImportedMessage(
                body=body,
                created_at=parse_time(comment.get("created_at") or created.isoformat(), f"comments.{index}.created_at"),
                direction=direction,
            )
        )
    if not messages and str(doc.get("description") or "").strip():
        messages.append(ImportedMessage(body=str(doc["description"]).strip(), created_at=created))
    if not messages:
        raise RowProblem("comments and description: no text")
    return ImportedTicket(
        source_id=str(doc["id"]),
        created_at=created,
        subject=str(doc.get("subject") or doc.get("raw_subject") or ""),
        email=requester.get("email") or via_from.get("address"),
        phone=requester.get("phone"),
        name=requester.get("name") or via_from.get("name"),
        open=str(doc.get("status") or "").lower() in {"new", "open", "pending", "hold"},
        labels=_split_labels(doc.get("type")) + _split_labels(doc.get("tags")),
        messages=messages,
    )


_FRESHDESK_OPEN = {2, 3}  # 2 open, 3 pending, 4 resolved, 5 closed


def _freshdesk_json_ticket(doc: dict[str, Any]) -> ImportedTicket:
    if "id" not in doc:
        raise RowProblem("id: missing")
    created = parse_time(doc.get("created_at"), "created_at")
    requester = doc.get("requester") or {}
    messages = []
    opening = str(doc.get("description_text") or "").strip()
    if opening:
        messages.append(ImportedMessage(body=opening, created_at=created))
    for index, reply in enumerate(doc.get("conversations") or []):
        body = str(reply.get("body_text") or "").strip()
        if not body:
            continue
        direction = "internal" if reply.get("private") else ("inbound" if reply.get("incoming") else "outbound")
        messages.append(
            ImportedMessage(
                body=body,
                created_at=parse_time(reply.get("created_at"), f"conversations.{index}.created_at"),
                direction=direction,
            )
        )
    if not messages:
        raise RowProblem("description_text and conversations: no text")
    return ImportedTicket(
        source_id=str(doc["id"]),
        created_at=created,
        subject=str(doc.get("subject") or ""),
        email=requester.get("email") or doc.get("email"),
        phone=requester.get("mobile") or requester.get("phone") or doc.get("phone"),
        name=requester.get("name"),
        open=doc.get("status") in _FRESHDESK_OPEN,
        labels=_split_labels(doc.get("type")) + _split_labels(doc.get("tags")),
        messages=messages,
    )


def read_export(source: ImportSource, file_name: str, lines: Iterable[bytes]) -> Iterator[Record]:
    """(line number, ticket or rejection) per record of an export, read lazily from its byte lines.
    Raises ImportFormatError as soon as the layout or encoding is not the expected one."""
    name = PurePath(file_name).name
    if source == "zendesk":
        return _json_records(name, lines, _zendesk_ticket, "Zendesk JSON export")
    if source == "freshdesk" and PurePath(file_name).suffix.lower() in {".json", ".jsonl", ".ndjson"}:
        return _json_records(name, lines, _freshdesk_json_ticket, "Freshdesk JSON")
    if source == "freshdesk":
        return _csv_records(name, lines, FRESHDESK_CSV, _freshdesk_csv_ticket)
    return _csv_records(name, lines, GENERIC_CSV, _generic_ticket)
