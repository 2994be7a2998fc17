"""RTF to plain text: a small reader for what Word, WordPad and LibreOffice write.

Read: paragraphs and line breaks (``\\par``, ``\\line``, ``\\sect``, ``\\page``), tabs,
table rows (cells joined with `` | ``, paragraphs inside a cell joined with a space),
``\\'hh`` bytes in the document's code page (``\\ansicpg``, default Windows-1252) or in the
code page of the current font's ``\\fcharset``/``\\cpg``, ``\\uN`` characters (surrogate pairs
included) with their ``\\ucN`` fallback skipped, ``\\binN`` data skipped, the typographic
symbols (``\\emdash``, ``\\rquote``, …), field results (``\\fldrslt``) and the ``\\info``
title. Skipped: the font, colour, style, list and revision tables, pictures and objects'
data, headers and footers, field instructions, comments, index and table-of-contents entries
and every ``{\\*\\…}`` destination. Not interpreted: character formatting (hidden text is
kept), shapes' text boxes (inside ``\\shpinst``), and bidirectional or vertical layout.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, replace
from typing import Literal

from connectors.errors import ExtractionError

# Groups nested deeper than this are not a document any editor writes.
MAX_DEPTH = 1000

_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?[0-9]{1,10})? ?"  # 1, 2: control word and its parameter
    rb"|\\'([0-9a-fA-F]{2})"  # 3: a byte in the current code page
    rb"|\\([^a-zA-Z'])"  # 4: control symbol: \\ \{ \} \~ \- \_ \* and \<newline>
    rb"|([{}])"  # 5: group start or end
    rb"|([^\\{}\r\n]+)"  # 6: text
    rb"|[\r\n]+|\\'?",  # line ends are not text; a stray backslash is dropped
    re.DOTALL,
)

# Destinations whose text a reader never sees as body text.
_SKIPPED = frozenset(
    {
        "aftncn",
        "aftnsep",
        "aftnsepc",
        "annotation",
        "atnauthor",
        "atndate",
        "atnid",
        "atnref",
        "background",
        "bkmkend",
        "bkmkstart",
        "colorschememapping",
        "colortbl",
        "datastore",
        "docvar",
        "filetbl",
        "fldinst",
        "footer",
        "footerf",
        "footerl",
        "footerr",
        "ftncn",
        "ftnsep",
        "ftnsepc",
        "generator",
        "header",
        "headerf",
        "headerl",
        "headerr",
        "latentstyles",
        "listoverridetable",
        "listtable",
        "nonesttables",
        "nonshppict",
        "objdata",
        "pgdsctbl",
        "pict",
        "pntxta",
        "pntxtb",
        "private",
        "revtbl",
        "rsidtbl",
        "stylesheet",
        "tc",
        "template",
        "themedata",
        "userprops",
        "xe",
        "xmlnstbl",
    }
)
_SYMBOLS = {
    "tab": "\t",
    "emdash": "\u2014",
    "endash": "\u2013",
    "bullet": "\u2022",
    "lquote": "\u2018",
    "rquote": "\u2019",
    "ldblquote": "\u201c",
    "rdblquote": "\u201d",
    "emspace": " ",
    "enspace": " ",
    "qmspace": " ",
}
_CONTROL_SYMBOLS = {"\\": "\\", "{": "{", "}": "}", "~": " ", "_": "-", "\n": "\n", "\r": "\n"}
_BREAKS = frozenset({"par", "line", "sect", "page", "column"})
# \fcharsetN -> the code page of a font's bytes (0, 1 and 2: the document's own).
_CHARSETS = {
    77: "mac_roman",
    128: "cp932",
    129: "cp949",
    130: "cp1361",
    134: "gbk",
    136: "cp950",
    161: "cp1253",
    162: "cp1254",
    163: "cp1258",
    177: "cp1255",
    178: "cp1256",
    186: "cp1257",
    204: "cp1251",
    222: "cp874",
    238: "cp1250",
    254: "cp437",
    255: "cp850",
}
# Marks the end of a table cell while reading; turned into " | " per line at the end.
_CELL = "\ue000"
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

_Destination = Literal["body", "title", "info", "fonttbl", "skip"]


@dataclass(frozen=True, slots=True)
class _Group:
    """State that a group saves on ``{`` and restores on ``}``."""

    destination: _Destination = "body"
    uc: int = 1  # fallback characters after each \uN
    font: int | None = None
    in_table: bool = False


def rtf_to_text(data: bytes) -> tuple[str, str]:
    """The text and the ``\\info`` title of an RTF document.

    Lines are separated by ``\\n``; whitespace is not tidied. Raises ``ExtractionError`` when
    the data is not RTF or its groups are nested absurdly deep.
    """
    start = data.lstrip(b" \t\r\n").removeprefix(b"\xef\xbb\xbf")
    if not start.startswith(b"{\\rtf"):
        raise ExtractionError("not an RTF document (it does not start with {\\rtf)")
    reader = _Reader()
    reader.read(start)
    return reader.text(), reader.title()


class _Reader:
    def __init__(self) -> None:
        self.codepage = "cp1252"
        self.font_codepages: dict[int, str] = {}
        self.default_font: int | None = None
        self.defining_font: int | None = None  # the font being declared in \fonttbl
        self.group = _Group()
        self.stack: list[_Group] = []
        self.out: dict[_Destination, list[str]] = {"body": [], "title": []}
        self.pending = bytearray()  # bytes not yet decoded, all in one code page
        self.pending_to: tuple[_Destination, str] = ("body", self.codepage)
        self.to_skip = 0  # \uN fallback characters still to drop
        self.starred = False

    def read(self, data: bytes) -> None:
        pos = 0
        while pos < len(data):
            match = _TOKEN.match(data, pos)
            if match is None:  # cannot happen: the last alternative matches any one byte
                break
            pos = match.end()
            word, param, hex_byte, symbol, brace, text = match.groups()
            if match.lastindex is None:  # a line end or a stray backslash: not even a character
                continue
            if brace is not None:
                if not self._brace(brace):
                    break
                continue
            if word == b"bin":
                # Raw binary data follows; it is never text and may hold braces.
                pos += max(0, int(param or 0))
                self._consume_fallback(1)
                continue
            if self.to_skip:
                if text is None:
                    self.to_skip -= 1
                    continue
                dropped = min(self.to_skip, len(text))
                self.to_skip -= dropped
                text = text[dropped:]
                if not text:
                    continue
            if self.group.destination == "skip":
                continue
            if word is not None:
                self._word(word.decode("ascii"), None if param is None else int(param))
            elif hex_byte is not None:
                self._bytes(bytes.fromhex(hex_byte.decode("ascii")))
            elif symbol is not None:
                self._symbol(symbol.decode("latin-1"))
            elif text is not None:
                self._bytes(text)
        self._flush()

    # --- tokens -----------------------------------------------------------------------------

    def _brace(self, brace: bytes) -> bool:
        """Open or close a group; False once the document's outermost group has closed."""
        self.to_skip = 0  # a fallback never runs past the end of its group
        self.starred = False
        if brace == b"{":
            if len(self.stack) >= MAX_DEPTH:
                raise ExtractionError(f"RTF groups nested more than {MAX_DEPTH} deep")
            self.stack.append(self.group)
            return True
        if not self.stack:
            return False
        self.group = self.stack.pop()
        return bool(self.stack)

    def _consume_fallback(self, count: int) -> None:
        self.to_skip = max(0, self.to_skip - count)

    def _symbol(self, symbol: str) -> None:
        if symbol == "*":
            self.starred = True
        elif symbol in _CONTROL_SYMBOLS:
            self._emit(_CONTROL_SYMBOLS[symbol])

    def _word(self, word: str, param: int | None) -> None:
        group = self.group
        if self.starred:
            # {\*\name …}: a destination this reader may not know; its text is never body text.
            self.starred = False
            self._set(destination="skip")
            return
        if group.destination == "fonttbl":
            self._font_table_word(word, param)
            return
        if word in _SKIPPED:
            self._set(destination="skip")
        elif word == "fonttbl":
            self._set(destination="fonttbl")
        elif word == "info":
            self._set(destination="info")
        elif word == "title" and group.destination == "info":
            self._set(destination="title")
        elif group.destination == "info":
            return
        elif word == "u" and param is not None:
            self._emit(_unicode(param))
            self.to_skip = group.uc
        elif word == "uc":
            self._set(uc=max(0, 1 if param is None else param))
        elif word in _BREAKS:
            in_cell = word == "par" and group.in_table
            self._emit(" " if in_cell else "\n")
        elif word in ("cell", "nestcell"):
            self._emit(_CELL)
        elif word in ("row", "nestrow"):
            self._emit("\n")
        elif word == "intbl":
            self._set(in_table=True)
        elif word == "pard":
            self._set(in_table=False)
        elif word in _SYMBOLS:
            self._emit(_SYMBOLS[word])
        elif word == "f":
            self._set(font=param)
        elif word == "plain":
            self._set(font=None)
        else:
            self._document_word(word, param)

    def _document_word(self, word: str, param: int | None) -> None:
        if word == "ansicpg" and param is not None:
            self.codepage = _codepage(param) or self.codepage
        elif word in ("ansi", "mac", "pc", "pca"):
            self.codepage = {"ansi": "cp1252", "mac": "mac_roman", "pc": "cp437", "pca": "cp850"}[
                word
            ]
        elif word == "deff":
            self.default_font = param

    def _font_table_word(self, word: str, param: int | None) -> None:
        if word == "f":
            self.defining_font = param
        elif self.defining_font is None or param is None:
            return
        elif word == "fcharset" and param in _CHARSETS:
            self.font_codepages[self.defining_font] = _CHARSETS[param]
        elif word == "cpg" and (codepage := _codepage(param)) is not None:
            self.font_codepages[self.defining_font] = codepage

    def _set(self, **changes: object) -> None:
        self.group = replace(self.group, **changes)  # type: ignore[arg-type]

    # --- output -----------------------------------------------------------------------------

    def _current_codepage(self) -> str:
        font = self.group.font if self.group.font is not None else self.default_font
        if font is None:
            return self.codepage
        return self.font_codepages.get(font, self.codepage)

    def _bytes(self, data: bytes) -> None:
        destination = self.group.destination
        if destination not in self.out:
            return
        target = (destination, self._current_codepage())
        if target != self.pending_to:
            self._flush()
            self.pending_to = target
        self.pending += data

    def _emit(self, text: str) -> None:
        destination = self.group.destination
        if destination not in self.out:
            return
        self._flush()
        self.out[destination].append(text)

    def _flush(self) -> None:
        if not self.pending:
            return
        destination, codepage = self.pending_to
        text = bytes(self.pending).decode(codepage, errors="replace")
        self.out[destination].append(text.replace(_CELL, ""))
        self.pending.clear()

    def text(self) -> str:
        lines: list[str] = []
        for line in _join(self.out["body"]).split("\n"):
            if _CELL in line:
                cells = [cell.strip() for cell in line.split(_CELL)]
                if not cells[-1]:
                    cells.pop()  # the \cell that ends the row's last cell
                if not any(cells):
                    continue
                line = " | ".join(cells)
            lines.append(line)
        return "\n".join(lines)

    def title(self) -> str:
        return " ".join(_join(self.out["title"]).split())


def _join(parts: list[str]) -> str:
    text = "".join(parts)
    # \uN gives UTF-16 code units: pair the surrogates, replace any left alone.
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _CONTROL_CHARS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _unicode(value: int) -> str:
    if value < 0:
        value += 0x10000  # \uN is a signed 16-bit number
    if not 0 <= value < 0x110000:
        return "\ufffd"
    return "" if value == ord(_CELL) else chr(value)


def _codepage(number: int) -> str | None:
    name = {10000: "mac_roman", 65001: "utf-8"}.get(number, f"cp{number}")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None
