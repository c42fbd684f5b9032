"""Search terms: tokens, the FTS5 match of each entity's search index, and the relevance tiers.

    "ada lo"  -> tokens ["ada", "lo"]
              -> "ada"   (3+ chars)  trigram index: substring, any case      MATCH '"ada"'
                 "lo"    (1-2 chars) words index: a word starting with it    MATCH '"lo"*'
              -> record seqs matching every token (INTERSECT), joined to the entity by seq

User text only ever reaches FTS5 inside a double-quoted string (inner quotes doubled), so `*`, `-`,
`:`, `(`, `AND`, `NEAR` are searched for as text and never change the query (docs/query-language.md).
Tokens go to the index as typed: the index's own case folding is the reference, so `Straße` finds
`STRASSE` only where SQLite folds alike (it does not fold ß to ss, unlike Python's casefold).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_TOKENS = 10
SHORT = 3  # tokens shorter than this use the word-prefix index


@dataclass(frozen=True)
class Terms:
    """A search term read into tokens; `phrase` is the whole term case-folded, whitespace collapsed."""

    tokens: tuple[str, ...]
    phrase: str

    @property
    def long(self) -> tuple[str, ...]:
        return tuple(t for t in self.tokens if len(t) >= SHORT)

    @property
    def short(self) -> tuple[str, ...]:
        return tuple(t for t in self.tokens if len(t) < SHORT)


def read_terms(term: str) -> Terms:
    """Split on whitespace; drop tokens without a letter or digit and repeats (ignoring case)."""
    kept: dict[str, str] = {}
    for token in term.split():
        if any(ch.isalnum() for ch in token):
            kept.setdefault(token.casefold(), token)
    return Terms(tuple(kept.values()), " ".join(term.casefold().split()))


def _quoted(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def match_sql(entity: str, terms: Terms) -> tuple[str, list[str]]:
    """A subquery yielding the `seq` of every record matching all tokens (any company: join filters)."""
    parts, params = [], []
    if terms.long:
        parts.append(f"SELECT rowid AS seq FROM {entity}_trigram WHERE {entity}_trigram MATCH ?")
        params.append(" AND ".join(_quoted(t) for t in terms.long))
    if terms.short:
        parts.append(f"SELECT rowid AS seq FROM {entity}_words WHERE {entity}_words MATCH ?")
        params.append(" AND ".join(_quoted(t) + "*" for t in terms.short))
    return " INTERSECT ".join(parts), params


def tier_sql(terms: Terms, key: str = "e.name_key") -> tuple[str, list[object]]:
    """Relevance tier from the record's case-folded name (docs/query-language.md): 0 exact, 1 prefix,
    2 every token in the name itself, 3 matched through other fields (emails, linked names).

    Tier 2 reads a short token as "a word of the name starts with it"; words are taken as split by
    spaces here, an approximation that only affects ordering, never which records match.
    """
    inside, params = [], []
    for token in (t.casefold() for t in terms.tokens):
        if len(token) >= SHORT:
            inside.append(f"instr({key}, ?) > 0")
            params.append(token)
        else:
            inside.append(f"instr(' ' || {key}, ?) > 0")
            params.append(" " + token)
    sql = (
        f"CASE WHEN {key} = ? THEN 0 WHEN substr({key}, 1, ?) = ? THEN 1"
        f" WHEN {' AND '.join(inside)} THEN 2 ELSE 3 END"
    )
    return sql, [terms.phrase, len(terms.phrase), terms.phrase, *params]
