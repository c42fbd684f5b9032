"""Generic entity tools that read or change records by id (TOOLS.md §3)."""

from __future__ import annotations

TOOLS: list = []
