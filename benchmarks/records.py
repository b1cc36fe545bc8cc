"""The benchmark records: a JSON list per campaign under `benchmarks/results/`.

A record is appended by writing the whole list to a temporary file next to the records and
renaming it over them, so a run interrupted while saving leaves the previous records whole.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def load(path: Path) -> list[dict]:
    """The records in `path` (none if it does not exist yet)."""
    return json.loads(path.read_text()) if path.exists() else []


def append(path: Path, record: dict) -> None:
    """Add `record` to the records in `path`, atomically."""
    records = load(path) + [record]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(records, indent=2) + "\n")
    os.replace(partial, path)
