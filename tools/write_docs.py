"""Regenerate the tool list in README.md and docs/tools.md from the registry: `python tools/write_docs.py`.

With `--check`, change nothing and exit 1 when either copy is stale (tests/test_docs.py does the same).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from customermates.catalog import REGISTRY  # noqa: E402
from customermates.catalog_docs import in_readme, tools_page  # noqa: E402

README = ROOT / "README.md"
TOOLS_PAGE = ROOT / "docs" / "tools.md"


def fresh() -> dict[Path, str]:
    return {README: in_readme(README.read_text(), REGISTRY), TOOLS_PAGE: tools_page(REGISTRY)}


def main() -> int:
    stale = [path for path, text in fresh().items() if not path.exists() or path.read_text() != text]
    if "--check" in sys.argv[1:]:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is stale; run: python tools/write_docs.py", file=sys.stderr)
        return 1 if stale else 0
    for path, text in fresh().items():
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
