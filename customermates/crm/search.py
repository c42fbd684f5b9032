"""Search terms: tokens, the FTS5 match of each entity's search index, and the relevance tiers.

    "ada lo"  -> tokens ["ada", "lo"]
              -> "ada"   (3+ chars)  trigram index: substring, any case      MATCH '"ada"'
                 "lo"    (1-2 chars) words index: a word starting with it    MATCH '"lo"*'
              -> record seqs matching every token, joined to the entity by seq

Search rows hold a record's own fields; the names of linked records (a contact's organizations, an
organization's contacts) are matched through the link table at read time (docs/query-language.md):

    matches(token) = own rows matching it  UNION  records linked to a record whose NAME matches it
    result         = matches(token 1) INTERSECT matches(token 2) ...

Most tokens reach no linked name (`reaching` probes each one first), and then the result is a single
FTS query over the own rows with every token AND-ed, as fast as an index of the whole text. Two
shapes read less (docs/query-language.md): a contact token like `@acme` reads the email-domain
index (`_domain_seqs`), and short tokens beside plain long words go to the words index together
(`_word_starts`), so FTS5 seeks in a short token's long list instead of reading it.

User text only ever reaches FTS5 inside a double-quoted string (inner quotes doubled), so `*`, `-`,
`:`, `(`, `AND`, `NEAR` are searched for as text and never change the query (docs/query-language.md).
Tokens go to the index as typed: the index's own case folding is the reference, so `Straße` finds
`STRASSE` only where SQLite folds alike (it does not fold ß to ss, unlike Python's casefold).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from customermates.crm.model import KEY_SHIFT, SEARCH_SEQ, SEARCH_TABLES, SEQ_MASK

if TYPE_CHECKING:
    import sqlite3

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


def _pattern(token: str) -> tuple[str, str]:
    """(index kind, FTS5 pattern) of one token."""
    return ("trigram", _quoted(token)) if len(token) >= SHORT else ("words", _quoted(token) + "*")


# Whose names a record is also found by: entity -> (the other type, FTS column filter for its name
# (none where the name is the row's only column: detail=none refuses filters), the link by `seq`).
_LINK = "search_contact_organization"  # (organization_seq, contact_seq), kept by triggers (0010)
LINKED = {"contact": ("organization", "", "organization_seq", "contact_seq"),
          "organization": ("contact", "{name}: ", "contact_seq", "organization_seq")}  # fmt: skip
EXPAND_MAX = 3  # up to this many tokens reaching linked names, the own rows keep one FTS query each
Span = tuple[int, int]  # the search rowids of one company's records (model.search_span)


def number(span: Span) -> int:
    """The company number of a span (`model.search_span`): what the email-domain index is keyed by."""
    return span[0] >> KEY_SHIFT


def _in(span: Span | None, rowid: str = "rowid") -> tuple[str, list[int]]:
    """The condition keeping one company's search rows: a rowid range FTS5 seeks into."""
    return (f" AND {rowid} BETWEEN ? AND ?", list(span)) if span else ("", [])


def _fts(entity: str, tokens: Collection[str], span: Span | None) -> tuple[str, list[object]]:
    """Seqs whose own search row matches every token: one FTS query per index kind. With both kinds
    (both keyed alike) the word-prefix rows stream and probe the trigram matches, read once into a
    set: no sort of the often long prefix list, as INTERSECT would."""
    within, bounds = _in(span)
    queries = {}
    for kind in SEARCH_TABLES:
        patterns = [p for k, p in map(_pattern, tokens) if k == kind]
        if patterns:
            queries[kind] = (f"FROM {entity}_{kind} WHERE {entity}_{kind} MATCH ?", " AND ".join(patterns))
    if len(queries) == 1:
        ((sql, pattern),) = queries.values()
        return f"SELECT {SEARCH_SEQ} AS seq {sql}{within}", [pattern, *bounds]
    long = [t for t in tokens if len(t) >= SHORT]
    if all(map(_one_word, long)):
        return _word_starts(entity, [t for t in tokens if len(t) < SHORT], long, span)
    # The trigram matches carry the span; a rowid range would only slow the prefix list down.
    (trigram, trigram_pattern), (words, words_pattern) = queries["trigram"], queries["words"]
    sql = f"SELECT {SEARCH_SEQ} AS seq {words} AND +rowid IN (SELECT rowid {trigram}{within})"
    return sql, [words_pattern, trigram_pattern, *bounds]


def _one_word(token: str) -> bool:
    """The words index reads `token` as one word, folded as the trigram index folds it: letters and
    digits of Latin scripts (below U+0250 both indexes and Python class characters alike)."""
    return all(ord(ch) < 0x250 and ch.isalnum() for ch in token)


PROBE_MAX = 500  # rows checked by one FTS5 probe each (~12 µs at 1M) before a prefix list is streamed instead


def _word_starts(
    entity: str, short: list[str], long: list[str], span: Span | None
) -> tuple[str, list[object]]:
    """Short and long tokens, every long one a plain word (`_one_word`).

    A record holding each long token at the start of a word is found by the words index alone, one
    FTS5 query over every token, which intersects its lists itself (seeking in the short tokens'
    long prefix lists instead of reading them). What is left, `inside` (a long token's trigram
    matches not holding it at a word start: few, as words are mostly matched from their start), is
    checked for the short tokens: one probe a row, or, when more than PROBE_MAX, by streaming the
    short tokens' rows against it. The two parts cannot share a record.
    """
    within, bounds = _in(span)
    words, trigram = f"{entity}_words", f"{entity}_trigram"
    shorts = " AND ".join(_pattern(t)[1] for t in short)
    starts = " AND ".join(_quoted(t) + "*" for t in long)
    sql = (
        f"WITH inside AS MATERIALIZED (SELECT rowid AS r FROM {trigram} WHERE {trigram} MATCH ?{within}"
        f" EXCEPT SELECT rowid FROM {words} WHERE {words} MATCH ?{within})"
        f" SELECT {SEARCH_SEQ} AS seq FROM {words} WHERE {words} MATCH ?{within}"
        f" UNION ALL SELECT r & {SEQ_MASK} FROM inside WHERE (SELECT count(*) FROM inside) <= {PROBE_MAX}"
        f" AND EXISTS (SELECT 1 FROM {words} w WHERE {words} MATCH ? AND w.rowid = inside.r)"
        # A LIMIT, not a WHERE term, skips this part: SQLite starts an FTS5 scan before testing a
        # term that does not depend on it, and this scan reads the short tokens' whole lists.
        f" UNION ALL SELECT seq FROM (SELECT {SEARCH_SEQ} AS seq FROM {words} WHERE {words} MATCH ?"
        f" AND +rowid IN (SELECT r FROM inside) LIMIT iif((SELECT count(*) FROM inside) > {PROBE_MAX}, -1, 0))"
    )
    anywhere = " AND ".join(map(_quoted, long))
    return sql, [anywhere, *bounds, starts, *bounds, f"{shorts} AND {starts}", *bounds, shorts, shorts]


def domain_of(token: str) -> str | None:
    """The start of an address's domain that a token like `@acme` asks for, when the email-domain
    index can answer it exactly: one '@', first, then ASCII only (the index folds ASCII alone)."""
    if len(token) >= SHORT and token[0] == "@" and token.count("@") == 1 and token.isascii():
        return token[1:].lower()
    return None


# The contacts whose own search row needs checking for a domain token (schemas/0014_contact_email_domains.sql):
# a domain beyond ASCII, a name holding '@'. Only these can hold the token in their name.
_UNSURE = "SELECT seq FROM contact_domain WHERE num = ? AND domain = ''"


def _domain_seqs(token: str, company: int) -> tuple[str, list[object]]:
    """Seqs of the company's contacts holding `token` ("@acme"): one range of the domain index, and
    the rows it cannot decide, each checked against its search row."""
    start = domain_of(token)
    check = (
        f"SELECT d.seq FROM ({_UNSURE}) d WHERE EXISTS (SELECT 1 FROM contact_trigram t"
        f" WHERE contact_trigram MATCH ? AND t.rowid = (? << {KEY_SHIFT} | d.seq))"
    )
    sql = f"SELECT seq FROM contact_domain WHERE num = ? AND domain >= ? AND domain < ? UNION {check}"
    # Kept addresses are ASCII, so every one starting with `start` sorts below `start` + U+0080.
    return sql, [company, start, f"{start}\u0080", company, _quoted(token), company]


def _domain_tokens(entity: str, tokens: Collection[str]) -> list[str]:
    """The tokens the email-domain index answers (`domain_of`): a contact's only."""
    return [t for t in tokens if domain_of(t)] if entity == "contact" else []


def named_only(entity: str, terms: Terms, span: Span) -> tuple[str, list[object]] | None:
    """With a domain token, the only records that can hold every token in their name (relevance
    tiers 0-2): the rows the domain index keeps under '' (a name holding '@' among them). None
    without one."""
    return (_UNSURE, [number(span)]) if _domain_tokens(entity, terms.tokens) else None


def _own(
    entity: str, tokens: Collection[str], span: Span | None = None, company: int | None = None
) -> tuple[str, list[object]]:
    """Seqs whose own row matches every token. A contact's domain tokens ("@acme", `domain_of`) read
    the domain index of the company numbered `company`; the other tokens lead when there are any."""
    domains = _domain_tokens(entity, tokens)
    if company is None or not domains:
        return _fts(entity, tokens, span)
    sets = [_domain_seqs(t, company) for t in domains]
    rest = [t for t in tokens if t not in domains]
    if not rest:
        return " INTERSECT ".join(f"SELECT seq FROM ({sql})" for sql, _ in sets), [
            p for _, ps in sets for p in ps
        ]
    lead, params = _fts(entity, rest, span)
    checks = " AND ".join(f"seq IN ({sql})" for sql, _ in sets)
    return f"SELECT seq FROM ({lead}) WHERE {checks}", [*params, *(p for _, ps in sets for p in ps)]


def _via(entity: str, token: str, span: Span | None = None) -> tuple[str, list[object]]:
    """Seqs of the records linked to a record whose name matches `token` (links never cross
    companies, so the other side's company span is the records' own)."""
    other, column, other_seq, own_seq = LINKED[entity]
    kind, pattern = _pattern(token)
    fts = f"{other}_{kind}"
    within, bounds = _in(span, "f.rowid")
    sql = f"SELECT s.{own_seq} AS seq FROM {fts} f CROSS JOIN {_LINK} s ON s.{other_seq} = f.{SEARCH_SEQ}"
    return f"{sql} WHERE {fts} MATCH ?{within}", [column + pattern, *bounds]


def reaching(conn: sqlite3.Connection, entity: str, terms: Terms, span: Span) -> tuple[str, ...]:
    """The tokens that match the name of a record linked to one of the company's records of
    `entity` (one indexed probe each); the others can only match own rows."""
    if entity not in LINKED:
        return ()
    found = []
    for token in terms.tokens:
        sql, params = _via(entity, token, span)
        if conn.execute(f"SELECT EXISTS ({sql})", params).fetchone()[0]:
            found.append(token)
    return tuple(found)


def _linked_check(entity: str, token: str, span: Span | None) -> tuple[str, list[object]]:
    """A condition on the row `m`: it is linked to a record whose name matches `token`.

    The other side's matches are read once into a set (`+` keeps SQLite from walking that set as an
    index for every row); each row of `m` costs one index range in the links.
    """
    other, column, other_seq, own_seq = LINKED[entity]
    kind, pattern = _pattern(token)
    fts = f"{other}_{kind}"
    within, bounds = _in(span)
    sql = (
        f"EXISTS (SELECT 1 FROM {_LINK} x WHERE x.{own_seq} = m.seq"
        f" AND +x.{other_seq} IN (SELECT {SEARCH_SEQ} FROM {fts} WHERE {fts} MATCH ?{within}))"
    )
    return sql, [column + pattern, *bounds]


def match_sql(
    entity: str,
    terms: Terms,
    reach: Collection[str] = (),
    span: Span | None = None,
    company: int | None = None,
) -> tuple[str, list[object]]:
    """A subquery yielding the `seq` of every record matching all tokens: of one company's records
    when `span` is given (then each seq is one live record of it: a count needs no join), else of any.

    `reach`: the tokens that also match linked names (`reaching`). With k of them the result is
    the union, over each subset S of them, of "own rows match the other tokens and each is linked
    to a name matching each token of S": 2^k parts. A part is led by the FTS query of its own
    tokens and checks the links of those rows only (when that query finds nothing, no linked set is
    read), or, when S holds every token, intersects the linked sets. None reads a token's own
    matches alone (a short token's can be most of the index). Above EXPAND_MAX, per token
    (own UNION linked) and INTERSECT. `company`: the company's number, for the email-domain index
    (taken from `span` when that is given).
    """
    if company is None and span is not None:
        company = number(span)
    if not reach:
        return _own(entity, terms.tokens, span, company)
    if len(reach) > EXPAND_MAX:
        parts, params = [], []
        for token in terms.tokens:
            own, own_params = _own(entity, [token], span, company)
            if token in reach:
                via, via_params = _via(entity, token, span)
                own, own_params = f"{own} UNION {via}", [*own_params, *via_params]
            parts.append(f"SELECT seq FROM ({own})")
            params += own_params
        return " INTERSECT ".join(parts), params
    parts, params = [], []
    for subset in _subsets(list(reach)):
        rest = [t for t in terms.tokens if t not in subset]
        if rest:
            own, part_params = _own(entity, rest, span, company)
            checks = [_linked_check(entity, token, span) for token in subset]
            where = " AND ".join(sql for sql, _ in checks)
            parts.append(f"SELECT m.seq FROM ({own}) m" + (f" WHERE {where}" if checks else ""))
            part_params += [p for _, check_params in checks for p in check_params]
        else:
            vias = [_via(entity, token, span) for token in subset]
            parts.append(f"SELECT seq FROM ({' INTERSECT '.join(sql for sql, _ in vias)})")
            part_params = [p for _, via_params in vias for p in via_params]
        params += part_params
    return " UNION ".join(parts), params


def _subsets(items: list[str]) -> list[tuple[str, ...]]:
    return [tuple(t for i, t in enumerate(items) if mask >> i & 1) for mask in range(1 << len(items))]


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
