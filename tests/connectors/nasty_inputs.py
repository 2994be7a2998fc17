"""Builders of hostile inputs (generated in the test, never checked in) and a peak-RSS probe."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
    'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)


def nested_multipart_email(levels: int) -> bytes:
    """An e-mail whose body is ``levels`` multiparts, each the only part of the one above."""
    out = ["From: a@example.org\nSubject: deep\nMIME-Version: 1.0\n"]
    out.extend(f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(levels))
    out.append("Content-Type: text/plain\n\nhello from the bottom\n")
    out.extend(f"--b{i}--\n" for i in reversed(range(levels)))
    return "".join(out).encode()


def write_docx_bomb(path: Path, inflated_bytes: int) -> None:
    """A small DOCX whose ``word/document.xml`` inflates to ``inflated_bytes`` of empty
    paragraphs (about 6 bytes each). Streamed, so building it costs no memory here."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(f'<?xml version="1.0"?><w:document xmlns:w="{_W}"><w:body>'.encode())
            block = b"<w:p/>" * 100_000
            for _ in range(max(1, inflated_bytes // len(block))):
                part.write(block)
            part.write(b"</w:body></w:document>")


def write_bytes_named(folder: Path, name: bytes, data: bytes) -> None:
    """Write a file whose name is raw bytes (they need not be UTF-8)."""
    fd = os.open(os.fsencode(folder) + b"/" + name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (Linux ``clear_refs``); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_bytes() -> int:
    """This process's peak RSS since start or the last ``reset_peak_rss`` (``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss_bytes() -> int:
    """This process's resident memory now (``VmRSS``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0
