"""``casesearch manifest init DIR``: a manifest listing every file the files connector reads.

The template has every column the manifest reader knows (``file_metadata.MANIFEST_COLUMNS``)
and one row per file, with only ``path`` filled in: an empty cell means "not given here", so
the unfilled template changes nothing until the operator writes values into it.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from connectors.errors import FatalConnectorError
from connectors.file_metadata import MANIFEST_COLUMNS, MANIFEST_NAMES
from connectors.files import FilesConnector


def write_manifest_template(root: str | os.PathLike[str]) -> tuple[Path, int]:
    """Write ``manifest.csv`` in ``root``; return its path and the number of files listed.

    Raises ``FatalConnectorError`` when ``root`` is not a folder or a manifest already exists
    there (the operator's values are never overwritten).
    """
    folder = Path(root)
    if not folder.is_dir():
        raise FatalConnectorError(f"{folder} is not a folder")
    existing = [name for name in MANIFEST_NAMES if (folder / name).exists()]
    if existing:
        raise FatalConnectorError(
            f"{folder / existing[0]} already exists; it is not overwritten (move it away first)"
        )
    paths = FilesConnector(folder).readable_paths()
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for rel in paths:
        writer.writerow([rel, *([""] * (len(MANIFEST_COLUMNS) - 1))])
    target = folder / MANIFEST_NAMES[0]
    with target.open("x", encoding="utf-8", newline="") as handle:  # never over a new one
        handle.write(buffer.getvalue())
    return target, len(paths)
