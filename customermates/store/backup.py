"""Online backup (docs/data-model.md): a consistent copy written beside the target, then renamed."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from customermates.errors import StorageError
from customermates.store.database import connect


def backup(source: Path, target: Path) -> int:
    """Copy `source` into `target` while other processes keep writing; return the size in bytes."""
    if not source.exists():
        raise sqlite3.OperationalError(f"no database at {source}")
    if target.is_dir():
        raise StorageError(
            f"{target} is a directory; name the backup file, e.g. {target / 'customermates.db'}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.partial")
    temp.unlink(missing_ok=True)
    try:
        _copy(source, temp)
        os.replace(temp, target)
    except BaseException:  # a failed or interrupted copy leaves no full-size leftover behind
        temp.unlink(missing_ok=True)
        raise
    return target.stat().st_size


def _copy(source: Path, temp: Path) -> None:
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
