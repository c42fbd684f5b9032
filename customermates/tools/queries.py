"""Generic entity tools that query: configuration, filter, count, cross-type search (TOOLS.md §3)."""

from __future__ import annotations

TOOLS: list = []
