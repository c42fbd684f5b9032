"""create_<plural> / update_<plural> for the five entities (TOOLS.md §4-8)."""

from __future__ import annotations

TOOLS: list = []
