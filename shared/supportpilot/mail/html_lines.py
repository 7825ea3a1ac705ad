"""The text lines of an HTML mail body, for `text.html_to_text`: apart, so that only HTML mails load html.parser."""

import re
from html.parser import HTMLParser

_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "template"})
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "center", "dd", "div", "dl", "dt", "fieldset", "figcaption",
        "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
        "nav", "ol", "section", "table", "tr", "ul",
    }
)  # fmt: skip
_PARAGRAPH_TAGS = frozenset({"p", "pre", "blockquote"})
_CELL_TAGS = frozenset({"td", "th"})
# Hostile HTML nests thousands of blockquotes; prefixing each line that deep would explode in size.
_MAX_QUOTE_MARKERS = 10


class _TextExtractor(HTMLParser):
    """Collects text lines; lines inside <blockquote> get "> " prefixes so split_reply sees them as quotes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._fragments: list[str] = []
        self._skip_depth = 0
        self._quote_depth = 0
        self._pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth += 1
        elif tag == "br":
            self._end_line()
        elif tag in _PARAGRAPH_TAGS:
            self._end_paragraph()
            self._quote_depth += tag == "blockquote"
            self._pre_depth += tag == "pre"
        elif tag in _BLOCK_TAGS:
            self._break_line()
            if tag == "li":
                self._fragments.append("- ")
        elif tag in _CELL_TAGS and self._fragments:
            self._fragments.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._end_line()
        elif tag in _BLOCK_TAGS or tag in _PARAGRAPH_TAGS:
            self._break_line()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _PARAGRAPH_TAGS:
            self._break_line()
            if tag == "blockquote":
                self._quote_depth = max(0, self._quote_depth - 1)
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)
            self._blank_line()
        elif tag in _BLOCK_TAGS:
            self._break_line()

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        data = data.replace("\xa0", " ")
        if self._pre_depth:
            first, *rest = data.split("\n")
            self._fragments.append(first)
            for line in rest:
                self._end_line()
                self._fragments.append(line)
        else:
            self._fragments.append(re.sub(r"\s+", " ", data))

    def _end_line(self) -> None:
        text = "".join(self._fragments)
        text = text.rstrip() if self._pre_depth else text.strip()
        self._fragments = []
        prefix = "> " * min(self._quote_depth, _MAX_QUOTE_MARKERS)
        self.lines.append((prefix + text).rstrip())

    def _break_line(self) -> None:
        if "".join(self._fragments).strip():
            self._end_line()
        self._fragments = []

    def _end_paragraph(self) -> None:
        self._break_line()
        self._blank_line()

    def _blank_line(self) -> None:
        self.lines.append(("> " * min(self._quote_depth, _MAX_QUOTE_MARKERS)).rstrip())


def html_lines(html: str) -> list[str]:
    """Text lines of an HTML body, quoted lines prefixed with "> "; blank lines not yet collapsed."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except (AssertionError, ValueError):
        pass  # html.parser gives up on some hostile markup; keep the text read so far
    extractor._break_line()
    return extractor.lines
