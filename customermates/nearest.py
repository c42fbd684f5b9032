""" "Did you mean": the one way known names are ranked by closeness to a mistyped one.

Names compare lowercase without `_`, `-` and spaces (so `first_name` finds `firstName` and
`createContacts` finds `create_contacts`), by edit distance; ties keep the order of `choices`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_LENGTH = 64  # edit distance is quadratic: a hostile megabyte-long name must not stall the server


def compact(name: str) -> str:
    return re.sub(r"[_\-\s]", "", str(name)[: MAX_LENGTH * 2]).lower()[:MAX_LENGTH]


def distance(a: str, b: str) -> int:
    """Edits between `a` and `b`: insertions, deletions, substitutions and swaps of two neighbours."""
    before, prev = [0] * (len(b) + 1), list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i]
        for j in range(1, len(b) + 1):
            best = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, before[j - 2] + 1)
            cur.append(best)
        before, prev = prev, cur
    return prev[-1]


def ranked(word: str, choices: Sequence[str]) -> list[tuple[int, str]]:
    """Every choice with its distance to `word`, closest first."""
    wanted = compact(word)
    return sorted(((distance(wanted, compact(c)), c) for c in choices), key=lambda pair: pair[0])


def close_enough(word: str, choice: str, edits: int) -> bool:
    """At most 40% of the longer name may differ, so `sie` is no match for `size` but `nmae` is for `name`."""
    return edits <= max(1, 2 * max(len(compact(word)), len(compact(choice))) // 5)


def closest(word: str, choices: Sequence[str], n: int = 1, within: int | None = None) -> list[str]:
    """Up to `n` choices close to `word` (at most `within` edits, else the 40% rule), best first."""
    return [
        c
        for edits, c in ranked(word, choices)
        if (edits <= within if within is not None else close_enough(word, c, edits))
    ][:n]
