"""Plain text out of mail bodies: HTML conversion and separating new text from quotes and signatures.

The split is deliberately conservative. Hiding a customer's words in the "quoted" or "signature"
part is worse than leaving a signature in the text, so every rule requires strong evidence.
"""

import re

from supportpilot.regex_store import compiled

# "Re:", and the way mail programs say it in Dutch ("Antw:"), German ("AW:") and Scandinavian ("SV:", "VS:"),
# repeated or numbered ("Re[2]:"); not forwards, which bring something new.
_REPLY_SUBJECT = compiled(r"(?:re|aw|antw|sv|vs)\s*(?:\[\d+\]|\(\d+\))?\s*:", re.IGNORECASE)


def is_reply_subject(subject: str) -> bool:
    """Whether a subject is a reply's: it repeats the thread's subject."""
    return _REPLY_SUBJECT.match(subject.lstrip()) is not None


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML mail body: link text kept, hrefs and scripts/styles dropped."""
    # Imported here: html.parser costs every cold start of the classify stage, which only splits plain text.
    from supportpilot.mail.html_lines import html_lines

    return _collapse_blank_lines("\n".join(html_lines(html)))


def _is_blank(line: str) -> bool:
    return not line.strip(" >")


def _collapse_blank_lines(text: str) -> str:
    """One blank line at most between paragraphs; of a run of blank quote lines keep the shallowest."""
    kept: list[str] = []
    for line in (line.rstrip() for line in text.split("\n")):
        if _is_blank(line) and kept and _is_blank(kept[-1]):
            kept[-1] = min(kept[-1], line, key=len)
        else:
            kept.append(line)
    while kept and _is_blank(kept[-1]):
        kept.pop()
    while kept and _is_blank(kept[0]):
        kept.pop(0)
    return "\n".join(kept)


# --- quotes --------------------------------------------------------------------------------------

_ATTRIBUTION_PATTERNS = (
    compiled(r"^on\b.{0,250}\bwrote:$", re.IGNORECASE),
    compiled(r"^op\b.{0,250}\bschreef\b.{0,120}:$", re.IGNORECASE),
    compiled(r"^op\b.{0,250}\bgeschreven:$", re.IGNORECASE),
    compiled(r"^.{1,150}\bschreef op\b.{0,120}:$", re.IGNORECASE),
)
_ATTRIBUTION_EVIDENCE = compiled(r"\d{1,2}[:.]\d{2}|@")
# Ends the attribution of a ">" block, where the wording varies too much to demand more.
_ATTRIBUTION_END = compiled(r"\b(wrote|schreef|geschreven)\b.{0,120}:$", re.IGNORECASE)
_SEPARATOR = compiled(
    r"^[\s*_-]*(original message|oorspronkelijk bericht|origineel bericht|forwarded message"
    r"|doorgestuurd bericht|begin forwarded message|begin doorgestuurd bericht)[\s*_:-]*$",
    re.IGNORECASE,
)
_RULE_LINE = compiled(r"^\s*[_-]{10,}\s*$")
_FROM_FIELD = compiled(r"^\*?(from|van)\s*:\*?\s*\S", re.IGNORECASE)
_SENT_FIELD = compiled(r"^\*?(sent|date|verzonden|datum)\s*:", re.IGNORECASE)
_SUBJECT_FIELD = compiled(r"^\*?(subject|onderwerp)\s*:", re.IGNORECASE)
_HEADER_BLOCK_SPAN = 8


def _is_quote_line(line: str) -> bool:
    return line.lstrip().startswith(">")


def _attribution_length(lines: list[str], index: int) -> int:
    """Number of lines (1-3) forming an "On <date>, <name> wrote:" attribution starting at index, else 0.

    A wrapped attribution has no blank lines and no sentence ends inside it, and it carries a time or
    an address; a customer's own "On Monday I wrote:" does not.
    """
    joined = ""
    for length, line in enumerate(lines[index : index + 3], start=1):
        line = line.strip()
        if not line or re.search(r"[.!?]$", joined) or len(joined) + len(line) > 400:
            return 0
        joined = f"{joined} {line}".strip()
        if any(pattern.match(joined) for pattern in _ATTRIBUTION_PATTERNS):
            return length if _ATTRIBUTION_EVIDENCE.search(joined) else 0
    return 0


def _is_header_block(lines: list[str], index: int) -> bool:
    if not _FROM_FIELD.match(lines[index].strip()):
        return False
    following = [line.strip() for line in lines[index + 1 : index + 1 + _HEADER_BLOCK_SPAN]]
    return any(_SENT_FIELD.match(line) for line in following) and any(_SUBJECT_FIELD.match(line) for line in following)


def _next_content_index(lines: list[str], start: int) -> int | None:
    for index in range(start, len(lines)):
        if lines[index].strip():
            return index
    return None


def _history_start(lines: list[str]) -> int | None:
    """Index where unprefixed earlier history begins: everything from there on is quoted."""
    for index, line in enumerate(lines):
        if _SEPARATOR.match(line) or _is_header_block(lines, index):
            start = index
        elif length := _attribution_length(lines, index):
            following = _next_content_index(lines, index + length)
            if following is not None and _is_quote_line(lines[following]):
                continue  # attribution of a ">" block; the text below it may be the sender's answer
            start = index
        else:
            continue
        previous = _previous_content_index(lines, start)
        if previous is not None and _RULE_LINE.match(lines[previous]):
            start = previous
        return start
    return None


def _previous_content_index(lines: list[str], end: int) -> int | None:
    for index in range(end - 1, -1, -1):
        if lines[index].strip():
            return index
    return None


def _quoted_line_flags(lines: list[str]) -> list[bool]:
    """Marks ">" lines, blank lines between them and the attribution line just above a block."""
    flags = [_is_quote_line(line) for line in lines]
    blanks_since_content: list[int] = []
    previous_content_quoted = False
    for index, line in enumerate(lines):
        if not line.strip():
            blanks_since_content.append(index)
            continue
        if flags[index] and previous_content_quoted:
            for blank in blanks_since_content:
                flags[blank] = True
        blanks_since_content = []
        previous_content_quoted = flags[index]
    for index in range(len(lines)):
        if flags[index] and (index == 0 or not flags[index - 1]):
            _mark_attribution_above(lines, flags, index)
    return flags


def _mark_attribution_above(lines: list[str], flags: list[bool], block_start: int) -> None:
    above = _previous_content_index(lines, block_start)
    if above is None or flags[above]:
        return
    for length in (1, 2, 3):
        first = above - length + 1
        if first < 0 or any(flags[first : above + 1]):
            return
        joined = " ".join(line.strip() for line in lines[first : above + 1])
        if len(joined) <= 300 and _ATTRIBUTION_END.search(joined):
            for index in range(first, block_start):
                flags[index] = True
            return


# --- signatures ----------------------------------------------------------------------------------

_SIGN_OFF = compiled(
    r"^((met )?(vriendelijke|hartelijke|beste|fijne|lieve) groet(en|jes)?|met groet(en)?|groet(en|jes)?"
    r"|mvg|m\.v\.g\.|vriendelijke groeten|alvast bedankt|bedankt|dank je wel|dank u wel"
    r"|(kind|best|warm|warmest|many) (regards|wishes)|regards|best|cheers|thanks|thank you"
    r"|many thanks|thanks in advance|sincerely|yours sincerely|yours truly)[\s,.!]*$",
    re.IGNORECASE,
)
_DEVICE_LINE = compiled(
    r"^(sent from|sent with|sent via|get outlook for|download outlook (for|voor)|outlook voor (ios|android)"
    r"|(verzonden|verstuurd) (vanaf|van|met|via)|gesendet von)"
    r"\b.{0,60}$",
    re.IGNORECASE,
)
_DISCLAIMER = compiled(
    r"^(disclaimer:?$"
    r"|this e-?mail (message )?(and any (files|attachments) )?(transmitted with it )?(is|are) (strictly )?"
    r"(confidential|intended)"
    r"|this (message|communication) (and any attachments )?(is|are) (strictly )?(confidential|intended)"
    r"|the information (contained )?in this (e-?mail|message)"
    r"|dit e-?mail(bericht)? is (uitsluitend|alleen) bestemd"
    r"|dit (e-?mail)?bericht (en eventuele bijlagen )?is (uitsluitend bestemd|vertrouwelijk)"
    r"|de informatie (verzonden )?(in|met) dit e-?mail)",
    re.IGNORECASE,
)
_SIGNATURE_DELIMITER = compiled(r"^-- ?$")
_MAX_SIGNATURE_TAIL_LINES = 6
_MAX_SIGNATURE_LINE_CHARS = 60


def _is_short_tail(lines: list[str]) -> bool:
    """A tail that can only be a name block: a few short lines (name, role, phone number)."""
    content = [line.strip() for line in lines if line.strip()]
    return len(content) <= _MAX_SIGNATURE_TAIL_LINES and all(len(line) <= _MAX_SIGNATURE_LINE_CHARS for line in content)


def _signature_start(lines: list[str]) -> int:
    """Index of the first signature line among the new-text lines; len(lines) when there is none."""
    end = next(
        (
            index
            for index, line in enumerate(lines)
            if _SIGNATURE_DELIMITER.match(line) or _DISCLAIMER.match(line.strip())
        ),
        len(lines),
    )
    # A sign-off or device line only counts when nothing but a few short lines follows it, so only
    # the last few lines before the delimiter or disclaimer can start the signature.
    # A sign-off with nothing above it ("Thanks!\nAlex") is the whole message, not a signature.
    content_indexes = [index for index in range(end) if lines[index].strip()]
    for position, index in enumerate(content_indexes):
        if position < len(content_indexes) - _MAX_SIGNATURE_TAIL_LINES - 1:
            continue
        line = lines[index].strip()
        is_candidate = _DEVICE_LINE.match(line) or (position > 0 and _SIGN_OFF.match(line))
        if is_candidate and _is_short_tail(lines[index + 1 : end]):
            return index
    return end


def split_reply(text: str) -> tuple[str, str, str]:
    """Split a plain-text body into (new text, quoted earlier messages, signature)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    history_start = _history_start(lines)
    own_lines = lines if history_start is None else lines[:history_start]
    history_lines = [] if history_start is None else lines[history_start:]

    quoted_flags = _quoted_line_flags(own_lines)
    new_lines = [line for line, quoted in zip(own_lines, quoted_flags, strict=True) if not quoted]
    quoted_lines = [line for line, quoted in zip(own_lines, quoted_flags, strict=True) if quoted]
    quoted_lines += history_lines

    signature_start = _signature_start(new_lines)
    signature_lines = new_lines[signature_start:]
    new_lines = new_lines[:signature_start]
    return (
        _collapse_blank_lines("\n".join(new_lines)).strip(),
        "\n".join(quoted_lines).strip(),
        _collapse_blank_lines("\n".join(signature_lines)).strip(),
    )
