"""HTML to plain text with the stdlib parser: scripts and styles dropped, block breaks kept."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Content of these elements is never text a reader sees. (Not <head>: it is often left
# unclosed, and its only visible text, <title>, is captured separately.)
_SKIP = frozenset({"script", "style", "noscript", "template", "svg"})
# Elements that start a new line of text.
_BLOCK = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tr",
        "ul",
    }
)
_CELL = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.title_parts: list[str] = []
        self._skip_depth = 0
        self._pre_depth = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
            return
        if tag in _SKIP:
            self._skip_depth += 1
            return
        if tag in _BLOCK:
            self._break()
        if tag == "pre":
            self._pre_depth += 1
        elif tag in _CELL and "".join(self.current).strip():
            self.current.append(" | ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/>, <hr/>: a break, never an unclosed skip region.
        if tag in _BLOCK:
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
            return
        if tag in _SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if tag in _BLOCK:
            self._break()  # before leaving <pre>, so its last line keeps its indentation
        if tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)
            return
        if self._skip_depth:
            return
        if self._pre_depth:
            head, *rest = data.split("\n")
            self.current.append(head)
            for line in rest:
                self._break(force=True)
                self.current.append(line)
            return
        self.current.append(_SPACES.sub(" ", data))

    def _break(self, *, force: bool = False) -> None:
        line = "".join(self.current)
        self.current = []
        line = line.rstrip() if self._pre_depth else line.strip()
        if line or force:
            self.lines.append(line)

    def text(self) -> str:
        self._break()
        out: list[str] = []
        for line in self.lines:
            if not line.strip() and (not out or not out[-1].strip()):
                continue  # at most one blank line in a row
            out.append(line)
        return "\n".join(out).strip()


def html_to_text(html: str) -> tuple[str, str]:
    """Return ``(text, title)`` of an HTML document.

    Script, style and other invisible content is dropped; block elements (paragraphs,
    headings, list items, table rows, ``<br>``) start new lines; table cells are joined with
    `` | ``; ``<pre>`` keeps its line breaks. Malformed markup never raises.
    """
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    title = _SPACES.sub(" ", "".join(parser.title_parts)).strip()
    return parser.text(), title
