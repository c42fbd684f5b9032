"""How much of a model's context the tool catalogue takes: `python tools/catalog_size.py`.

Every MCP client puts each tool's name, description and inputSchema into the model's context on
every turn; that is the *model-visible* size (compact JSON of `{name, description, inputSchema}`,
summed over the tools). The *whole* size is the compact JSON of the full tools/list entries (titles,
annotations, output schemas). Tokens are estimated as characters / 4. The entries measured are the
ones `tools/list` serves (`Registry.listing_json`, the same encoded bytes), per toolset and in full.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from customermates.catalog import REGISTRY  # noqa: E402
from customermates.registry import TOOLSETS  # noqa: E402

VISIBLE_KEYS = ("name", "description", "inputSchema")


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def model_visible(entry: dict) -> int:
    return len(compact({k: entry[k] for k in VISIBLE_KEYS}))


def whole(entry: dict) -> int:
    return len(compact(entry))


def served(toolsets: frozenset[str] | None) -> list[dict]:
    """The entries of tools/list as served for `?toolsets=` (None: the full list)."""
    return json.loads(bytes(REGISTRY.listing_json(toolsets)))


def row(label: str, entries: list[dict]) -> str:
    visible = sum(model_visible(e) for e in entries)
    total = sum(whole(e) for e in entries)
    per_tool = visible // len(entries) if entries else 0
    return f"{label:<16}{len(entries):>6}{visible:>10,}{visible // 4:>9,}{per_tool:>10,}{total:>10,}{total // 4:>9,}"


def main() -> int:
    print(
        f"{'toolset':<16}{'tools':>6}{'visible':>10}{'≈tokens':>9}{'per tool':>10}{'whole':>10}{'≈tokens':>9}"
    )
    for toolset in TOOLSETS:
        print(row(toolset, served(frozenset({toolset}))))
    everything = served(None)
    print(row("all", everything))
    print()
    print(f"{'heaviest tools':<32}{'visible':>7}{'whole':>8}{'desc':>6}")
    heaviest = sorted(everything, key=model_visible, reverse=True)[:5]
    for entry in heaviest:
        print(
            f"  {entry['name']:<30}{model_visible(entry):>7,}{whole(entry):>8,}{len(entry['description']):>6,}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
