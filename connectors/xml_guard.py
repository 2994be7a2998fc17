"""A streaming check of the XML inside a ZIP-based Office document, before any parser builds it.

python-docx builds the whole document tree in memory, and so does our ODT reader: a 658 KB
DOCX whose ``document.xml`` inflates to 450 MB of empty paragraphs took the indexer to 9.9 GB.
The unpacked-size limit cannot catch that (450 MB is under it), so every XML part is first
streamed through expat, keeping nothing: elements and nesting are counted and a part past the
caps stops the read. Written on expat directly, not on a tree or pull parser, because the
property we need is that the check itself holds no tree and no text.
"""

from __future__ import annotations

import zipfile
from typing import Any
from xml.parsers import expat

from connectors.errors import ExtractionError
from connectors.limits import ExtractionLimits

_BLOCK = 1 << 20
_XML_SUFFIXES = (".xml", ".rels")


class _Stop(Exception):
    """Raised from an expat handler to end the scan with a reason."""


def check_xml_parts(archive: zipfile.ZipFile, kind: str, limits: ExtractionLimits) -> None:
    """Raise ``ExtractionError`` when the XML parts of ``archive`` are past the limits.

    Counts the elements of every ``.xml``/``.rels`` part together (``max_xml_elements``) and
    the nesting of each (``max_xml_depth``); refuses a part that declares a DTD or an entity
    (entity expansion). Malformed XML is left to the reader, which reports it as corrupt.
    Reads each part once, in 1 MiB blocks, holding none of it.
    """
    budget = [limits.max_xml_elements]
    for info in archive.infolist():
        if info.is_dir() or not info.filename.lower().endswith(_XML_SUFFIXES):
            continue
        with archive.open(info) as stream:
            try:
                _scan(stream, info.filename, kind, limits, budget)
            except _Stop as stop:
                raise ExtractionError(str(stop)) from None
            except expat.ExpatError:
                continue  # malformed: the reader reports it


def _scan(stream: Any, name: str, kind: str, limits: ExtractionLimits, budget: list[int]) -> None:
    parser = expat.ParserCreate()
    depth = [0]

    def start(_tag: str, _attrs: Any) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise _Stop(
                f"{kind} has more than {limits.max_xml_elements:,} XML elements (the limit; "
                f"reached in {name}): a decompression bomb or a document too large to read"
            )
        depth[0] += 1
        if depth[0] > limits.max_xml_depth:
            raise _Stop(
                f"{kind} nests XML elements more than {limits.max_xml_depth} levels deep "
                f"(the limit; in {name})"
            )

    def end(_tag: str) -> None:
        depth[0] -= 1

    def refuse_dtd(*_args: Any) -> None:
        raise _Stop(f"the document's XML declares a DTD ({name}), which is not allowed")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    while block := stream.read(_BLOCK):
        parser.Parse(block, False)
    parser.Parse(b"", True)
