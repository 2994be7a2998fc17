"""Fixtures shared by the connector tests."""

from __future__ import annotations

import sys
from pathlib import Path

# The shared contract and the document builders live beside the tests. Under
# `--import-mode=importlib` a test folder is not put on `sys.path`, so put this one there
# for `from connector_contract import ...` (their names are unique to this folder).
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.append(_HERE)
