"""Regenerate the checked-in OpenAPI document: `python tools/write_openapi.py` (or `--check`).

The server serves the same bytes from memory; tests/test_openapi.py fails when this copy is stale,
so run this after changing a tool, a binding or openapi.py, and commit the result.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from customermates.catalog import REGISTRY  # noqa: E402
from customermates.openapi import document_bytes  # noqa: E402

TARGET = ROOT / "schemas" / "openapi.json"


def main(argv: list[str]) -> int:
    fresh = document_bytes(REGISTRY)
    if "--check" in argv:
        current = TARGET.read_bytes() if TARGET.exists() else b""
        if current != fresh:
            print(f"{TARGET.relative_to(ROOT)} is stale; run: python tools/write_openapi.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_bytes(fresh)
    print(f"wrote {TARGET.relative_to(ROOT)} ({len(fresh):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
