"""Online backup (DATA-MODEL.md §10.6): a consistent copy written beside the target, then renamed."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from customermates.store.database import connect


def backup(source: Path, target: Path) -> int:
    """Copy `source` into `target` while other processes keep writing; return the size in bytes."""
    if not source.exists():
        raise sqlite3.OperationalError(f"no database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.partial")
    temp.unlink(missing_ok=True)
    src = connect(source)
    try:
        dst = sqlite3.connect(temp)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(temp, target)
    return target.stat().st_size
