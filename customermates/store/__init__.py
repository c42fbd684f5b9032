"""Storage: SQLite connections, the unit of work, migrations and the account tables."""

from customermates.store.database import Database, StorageError, connect

__all__ = ["Database", "StorageError", "connect"]
