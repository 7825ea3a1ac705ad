"""Raw MIME bytes (as SES stores them) to clean ticket data. Pure: no AWS, no I/O.

Every input is hostile, so parse_mail never raises: whatever cannot be read becomes a short entry in
`warnings` (without personal data) and the rest of the mail is still returned.
"""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from functools import partial
from typing import TypeVar

from supportpilot.mail.text import html_to_text, split_reply

DEFAULT_MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_TEXT_CHARS = 100_000

_MAX_NESTING = 20
_MAX_WARNINGS = 50
_MAX_FILENAME_CHARS = 200
# HTML is verbose; this bounds the work of converting a hostile, huge HTML body.
_HTML_CHARS_PER_TEXT_CHAR = 20
_PRECEDENCE_AUTOMATED = frozenset({"bulk", "junk", "list", "auto_reply"})
_SUPPRESS_AUTOMATED = frozenset({"all", "oof", "autoreply"})
_DAEMON_MAILBOXES = frozenset({"mailer-daemon", "postmaster"})
_LOOP_HEADER = "X-SupportPilot-Loop"
_T = TypeVar("_T")
_DEFECT_DESCRIPTIONS = {
    "MissingHeaderBodySeparatorDefect": "missing header/body separator",
    "CloseBoundaryNotFoundDefect": "multipart closing boundary not found (mail may be truncated)",
    "StartBoundaryNotFoundDefect": "multipart start boundary not found",
}


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    size: int
    content: bytes | None


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_address: str | None
    from_name: str | None
    to_addresses: tuple[str, ...]
    subject: str
    date: datetime | None
    text: str
    quoted: str
    signature: str
    attachments: tuple[ParsedAttachment, ...]
    automated_reason: str | None
    warnings: tuple[str, ...]


class _Warnings:
    def __init__(self) -> None:
        self.items: list[str] = []
        self._omitted = 0

    def add(self, warning: str) -> None:
        if warning in self.items:
            return
        if len(self.items) < _MAX_WARNINGS:
            self.items.append(warning)
        else:
            self._omitted += 1

    def as_tuple(self) -> tuple[str, ...]:
        if self._omitted:
            return (*self.items, f"{self._omitted} further warnings omitted")
        return tuple(self.items)


def _printable(text: str, limit: int = 40) -> str:
    """A hostile value made safe to quote in a warning or reason."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text)
    return cleaned[:limit] + ("..." if len(cleaned) > limit else "")


def _repair_surrogates(text: str) -> str:
    """The parser keeps undecodable header bytes as surrogates; most are raw UTF-8 or windows-1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    for encoding in ("utf-8", "windows-1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")


def _without_controls(text: str, keep: str = "") -> str:
    return "".join(ch for ch in text if ch in keep or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))


def _header(msg: Message, name: str, warnings: _Warnings) -> str | None:
    """Decoded value of the first `name` header, falling back to compat32 decoding when it is malformed."""
    try:
        value = msg.get(name)
        text = None if value is None else str(value)
    except Exception:  # the default policy's header parser raises assorted errors on hostile input
        warnings.add(f"malformed {name} header decoded leniently")
        text = _legacy_header(msg, name)
    if text is None:
        return None
    return _without_controls(_repair_surrogates(text), keep="\t").strip()


def _legacy_header(msg: Message, name: str) -> str | None:
    raw = next((value for key, value in msg.raw_items() if key.lower() == name.lower()), None)
    if raw is None:
        return None
    try:
        return str(make_header(decode_header(raw)))
    except Exception:  # compat32 decoding is the last resort; keep the raw text
        return str(raw)


def _message_ids(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    ids = re.findall(r"<\s*([^<>\s]+)\s*>", value) or value.split()
    return tuple(dict.fromkeys(ids))


def _addresses(msg: Message, name: str, warnings: _Warnings) -> list[tuple[str, str]]:
    """(display name, lower-cased addr-spec) pairs of a header, skipping unparseable entries."""
    try:
        headers = msg.get_all(name) or []
        pairs = []
        for header in headers:
            # Return-Path is not an address header in the default policy's registry
            parsed = getattr(header, "addresses", None)
            if parsed is None:
                pairs += getaddresses([str(header)])
            else:
                pairs += [(address.display_name, address.addr_spec) for address in parsed]
    except Exception:  # the default policy's address parser can raise on hostile input
        warnings.add(f"malformed {name} header parsed leniently")
        raw = [value for key, value in msg.raw_items() if key.lower() == name.lower()]
        pairs = getaddresses([str(value) for value in raw])
    result = []
    for display_name, addr_spec in pairs:
        address = _without_controls(_repair_surrogates(addr_spec)).strip().lower()
        if re.fullmatch(r"[^@\s]+@[^@\s]+", address):
            result.append((_without_controls(_repair_surrogates(display_name)).strip(), address))
    return result


def _date(value: str | None, warnings: _Warnings) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        warnings.add("Date header is unparseable")
        return None
    # RFC 5322 "-0000" means UTC with an unknown local zone; Python returns it naive.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _automated_reason(msg: Message, warnings: _Warnings) -> str | None:
    def header(name: str) -> str | None:
        return _header(msg, name, warnings)

    if header(_LOOP_HEADER) is not None:
        return f"loop marker {_LOOP_HEADER} (our own outbound mail)"
    if _content_type(msg) == "multipart/report":
        return "delivery status notification (multipart/report)"
    for name in ("From", "Sender", "Return-Path"):
        for _, address in _addresses(msg, name, warnings):
            if address.partition("@")[0] in _DAEMON_MAILBOXES:
                return f"{name} is a mail system mailbox"
    return_path = header("Return-Path")
    if return_path is not None and return_path.replace(" ", "") in ("", "<>"):
        return "null Return-Path <>"
    auto_submitted = header("Auto-Submitted")
    if auto_submitted is not None and auto_submitted.split(";")[0].strip().lower() != "no":
        return f"Auto-Submitted: {_printable(auto_submitted)}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if header(name) is not None:
            return f"{name} header present"
    suppress = header("X-Auto-Response-Suppress") or ""
    if _SUPPRESS_AUTOMATED & set(re.split(r"[\s,;]+", suppress.lower())):
        return f"X-Auto-Response-Suppress: {_printable(suppress)}"
    precedence = (header("Precedence") or "").lower()
    if precedence in _PRECEDENCE_AUTOMATED:
        return f"Precedence: {precedence}"
    return None


# --- body and attachments ------------------------------------------------------------------------


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:  # hostile Content-Type headers; RFC 2045 says plain text is the default
        return "text/plain"


def _is_body_part(part: Message) -> bool:
    content_type = _content_type(part)
    if content_type.startswith("multipart/") and not part.is_multipart():
        return True  # a multipart without usable boundary: its raw content is the only text there is
    if content_type not in ("text/plain", "text/html"):
        return False
    try:
        return part.get_content_disposition() != "attachment" and part.get_filename() is None
    except Exception:  # an unreadable disposition: treat the text as body rather than lose it
        return True


def _contains_body_of_type(part: Message, content_type: str, depth: int = 0) -> bool:
    if depth > _MAX_NESTING:
        return False
    if part.is_multipart() and _content_type(part).startswith("multipart/"):
        return any(_contains_body_of_type(child, content_type, depth + 1) for child in _children(part))
    return _is_body_part(part) and _content_type(part) == content_type


def _children(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [child for child in payload if isinstance(child, Message)] if isinstance(payload, list) else []


class _Collector:
    def __init__(self, warnings: _Warnings) -> None:
        self.warnings = warnings
        self.bodies: list[tuple[str, str]] = []  # (content type, decoded text)
        self.attachment_parts: list[Message] = []

    def collect(self, part: Message, *, bodies: bool = True, attachments: bool = True, depth: int = 0) -> None:
        if depth > _MAX_NESTING:
            self.warnings.add(f"MIME nesting deeper than {_MAX_NESTING} levels ignored")
            return
        if part.is_multipart() and _content_type(part).startswith("multipart/"):
            children = _children(part)
            if _content_type(part) == "multipart/alternative":
                self._collect_alternative(children, bodies=bodies, attachments=attachments, depth=depth)
            else:
                for child in children:
                    self.collect(child, bodies=bodies, attachments=attachments, depth=depth + 1)
        elif _is_body_part(part):
            if bodies:
                self.bodies.append((_content_type(part), _decode_text(part, self.warnings)))
        elif attachments:
            self.attachment_parts.append(part)

    def _collect_alternative(self, children: list[Message], *, bodies: bool, attachments: bool, depth: int) -> None:
        if bodies:
            # Prefer text/plain, but senders sometimes put an empty one next to the real HTML.
            preferred = [c for c in children if _contains_body_of_type(c, "text/plain", depth + 1)]
            preferred += [c for c in children if _contains_body_of_type(c, "text/html", depth + 1)]
            for child in preferred:
                candidate = _Collector(self.warnings)
                candidate.collect(child, attachments=False, depth=depth + 1)
                if any(text.strip() for _, text in candidate.bodies):
                    self.bodies.extend(candidate.bodies)
                    break
        if attachments:
            # Inline images of the HTML alternative are kept: customers paste photos there.
            for child in children:
                self.collect(child, bodies=False, depth=depth + 1)


def _decode_bytes(payload: bytes, charset: str | None, warnings: _Warnings) -> str:
    charset = (charset or "utf-8").strip().lower()
    try:
        return payload.decode(charset)
    except LookupError:
        warnings.add(f"unknown charset '{_printable(charset)}' decoded as utf-8 with replacement")
        return payload.decode("utf-8", "replace")
    except ValueError:  # UnicodeDecodeError, or a charset name the codec machinery rejects
        pass
    if charset in ("utf-8", "utf8", "us-ascii", "ascii"):
        try:
            text = payload.decode("windows-1252")
        except UnicodeDecodeError:
            pass
        else:
            warnings.add(f"body declared {_printable(charset)} is not valid: decoded as windows-1252")
            return text
    warnings.add(f"body is not valid {_printable(charset)}: decoded as utf-8 with replacement")
    return payload.decode("utf-8", "replace")


def _decode_text(part: Message, warnings: _Warnings) -> str:
    payload = part.get_payload(decode=True) or b""
    try:
        charset = part.get_content_charset()
    except Exception:  # hostile charset parameter (e.g. broken RFC 2231 encoding)
        charset = None
    text = _decode_bytes(payload, charset, warnings)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _body_text(bodies: list[tuple[str, str]], max_text_chars: int, warnings: _Warnings) -> str:
    texts = []
    for content_type, text in bodies:
        if content_type == "text/html":
            max_html_chars = max_text_chars * _HTML_CHARS_PER_TEXT_CHAR
            if len(text) > max_html_chars:
                warnings.add(f"HTML body truncated to {max_html_chars} characters before conversion")
                text = text[:max_html_chars]
            text = html_to_text(text)
        texts.append(_without_controls(text, keep="\n\t").strip("\n"))
    text = "\n\n".join(t for t in texts if t.strip())
    if len(text) > max_text_chars:
        warnings.add(f"text of {len(text)} characters truncated to {max_text_chars}")
        text = text[:max_text_chars]
    return text


def _sanitise_filename(raw_name: str | None, index: int) -> str:
    name = _without_controls(_repair_surrogates(raw_name or ""))
    name = re.split(r"[/\\]", name)[-1]
    name = re.sub(r"\s+", " ", name).strip()
    if name in ("", ".", ".."):
        return f"attachment-{index}"
    if len(name) > _MAX_FILENAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= 10:
            name = stem[: _MAX_FILENAME_CHARS - len(extension) - 1] + "." + extension
        else:
            name = name[:_MAX_FILENAME_CHARS]
    return name


def _attachment_payload(part: Message) -> bytes:
    if isinstance(part.get_payload(), list):  # message/rfc822 and similar: keep the embedded mail
        children = _children(part)
        return children[0].as_bytes(policy=policy.SMTP) if children else b""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _attachment(part: Message, index: int, max_bytes: int, warnings: _Warnings) -> ParsedAttachment:
    try:
        raw_name = part.get_filename()
    except Exception:  # malformed RFC 2231 / RFC 2047 parameters
        raw_name = None
        warnings.add(f"attachment {index} has an unreadable filename")
    filename = _sanitise_filename(raw_name, index)
    content = _attachment_payload(part)
    if len(content) > max_bytes:
        warnings.add(
            f"attachment '{_printable(filename, 80)}' ({len(content)} bytes) exceeds the "
            f"{max_bytes}-byte limit: kept only in the raw mail"
        )
        return ParsedAttachment(filename, _content_type(part), len(content), None)
    return ParsedAttachment(filename, _content_type(part), len(content), content)


def _defect_warnings(msg: Message, warnings: _Warnings) -> None:
    for part in msg.walk():
        for defect in getattr(part, "defects", ()):
            name = type(defect).__name__
            description = (
                _DEFECT_DESCRIPTIONS.get(name) or re.sub(r"(?<!^)(?=[A-Z])", " ", name.removesuffix("Defect")).lower()
            )
            warnings.add(f"mail is malformed: {description}")


# --- entry point ---------------------------------------------------------------------------------


def _guarded(step: Callable[[], _T], fallback: _T, what: str, warnings: _Warnings) -> _T:
    """Runs one parsing step; a failure costs that step only, never the whole mail."""
    try:
        return step()
    except Exception as error:  # the last line of defence: parse_mail must never raise
        warnings.add(f"{what} could not be read ({type(error).__name__})")
        return fallback


def _parse_bytes(raw: bytes, warnings: _Warnings) -> Message:
    if not isinstance(raw, bytes | bytearray | memoryview):
        warnings.add(f"mail is not bytes but {type(raw).__name__}: treated as empty")
        raw = b""
    if not bytes(raw).strip():
        warnings.add("mail is empty")
    try:
        return BytesParser(policy=policy.default).parsebytes(bytes(raw))
    except Exception as error:  # e.g. RecursionError on absurd nesting
        warnings.add(f"mail could not be parsed ({type(error).__name__})")
        return Message()


def parse_mail(
    raw: bytes,
    *,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
) -> ParsedMail:
    """Parse raw MIME bytes into ticket data; never raises, problems are reported in `warnings`."""
    warnings = _Warnings()
    msg = _parse_bytes(raw, warnings)

    def header(name: str) -> str | None:
        return _guarded(partial(_header, msg, name, warnings), None, f"{name} header", warnings)

    senders = _guarded(partial(_addresses, msg, "From", warnings), [], "From header", warnings)
    from_name, from_address = senders[0] if senders else (None, None)
    recipients = _guarded(partial(_addresses, msg, "To", warnings), [], "To header", warnings)

    collector = _Collector(warnings)
    _guarded(partial(collector.collect, msg), None, "MIME structure", warnings)
    body = _guarded(partial(_body_text, collector.bodies, max_text_chars, warnings), "", "body", warnings)
    new_text, quoted, signature = _guarded(partial(split_reply, body), (body, "", ""), "body split", warnings)
    attachments = [
        _guarded(partial(_attachment, part, index, max_attachment_bytes, warnings), None, "attachment", warnings)
        for index, part in enumerate(collector.attachment_parts, start=1)
    ]
    automated_reason = _guarded(partial(_automated_reason, msg, warnings), None, "headers", warnings)
    _guarded(partial(_defect_warnings, msg, warnings), None, "defects", warnings)

    return ParsedMail(
        message_id=next(iter(_message_ids(header("Message-ID"))), None),
        in_reply_to=_message_ids(header("In-Reply-To")),
        references=_message_ids(header("References")),
        from_address=from_address,
        from_name=from_name or None,
        to_addresses=tuple(dict.fromkeys(address for _, address in recipients)),
        subject=" ".join((header("Subject") or "").split()),
        date=_guarded(partial(_date, header("Date"), warnings), None, "Date header", warnings),
        text=new_text,
        quoted=quoted,
        signature=signature,
        attachments=tuple(attachment for attachment in attachments if attachment is not None),
        automated_reason=automated_reason,
        warnings=warnings.as_tuple(),
    )
