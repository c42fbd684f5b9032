"""Group commit: write calls queued together share one transaction, each in its own savepoint.

Real `Database` on a real file, concurrent calls from an anyio task group: a burst started in one
turn of the event loop forms one group; calls queued while a group runs form the next.
"""

from __future__ import annotations

import sqlite3
import time

import anyio
import msgspec
import pytest

from customermates.catalog import REGISTRY
from customermates.registry import _execute
from customermates.store.database import Database, at_group_end
from customermates.validation import check
from tests.crm_seed import open_crm

UNKNOWN_ORG = "0190f2c4-0000-7000-8000-000000000000"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def grouped(db: Database) -> int:
    """How many calls ran in groups of more than one."""
    return sum(size * n for size, n in db.group_sizes.items() if isinstance(size, int) and size > 1)


async def gather(db: Database, calls: list) -> list:
    """Start every call at once, in list order; each slot gets its result or its exception."""
    out: list = [None] * len(calls)

    async def one(i: int, fn, args) -> None:
        try:
            out[i] = await db.write(fn, *args)
        except Exception as exc:
            out[i] = exc

    async with anyio.create_task_group() as tg:
        for i, (fn, *args) in enumerate(calls):
            tg.start_soon(one, i, fn, args)
    return out


def _slow_first(conn: sqlite3.Connection) -> str:
    time.sleep(0.2)  # keeps the writer busy so the calls after it queue into one group
    return "first"


def _table(path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY); INSERT INTO parent VALUES (1);"
        "CREATE TABLE child (n INTEGER, parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);"
    )
    conn.close()


def _insert(conn: sqlite3.Connection, n: int, parent: int = 1) -> int:
    conn.execute("INSERT INTO child VALUES (?, ?)", (n, parent))
    return conn.execute("SELECT count(*) FROM child").fetchone()[0]


def _insert_then_fail(conn: sqlite3.Connection, n: int) -> None:
    conn.execute("INSERT INTO child VALUES (?, 1)", (n,))
    raise ValueError(f"call {n} refused")


def _end_transaction(conn: sqlite3.Connection, n: int) -> None:
    conn.execute("INSERT INTO child VALUES (?, 1)", (n,))
    conn.execute("ROLLBACK")  # what SQLite does itself on some errors (SQLITE_FULL, an interrupt)
    raise sqlite3.OperationalError(f"call {n} ended the transaction")


def _children(path) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT n FROM child ORDER BY rowid")]
    finally:
        conn.close()


@pytest.mark.anyio
async def test_queued_calls_share_a_transaction_in_arrival_order_and_see_earlier_writes(tmp_path):
    path = tmp_path / "g.db"
    _table(path)
    db = await Database.open(path, readers=1)
    try:
        results = await gather(db, [(_slow_first,)] + [(_insert, n) for n in range(1, 21)])
    finally:
        await db.close()
    # each call counts the rows it sees after its own insert: 1, 2, ... as if run one after another
    assert results == ["first", *range(1, 21)]
    assert _children(path) == list(range(1, 21))
    assert db.group_sizes == {21: 1}


@pytest.mark.anyio
async def test_a_lone_call_runs_alone_and_a_cancelled_queued_call_never_runs(tmp_path):
    path = tmp_path / "g.db"
    _table(path)
    db = await Database.open(path, readers=1)
    try:
        assert await db.write(_insert, 1) == 1
        assert db.group_sizes == {1: 1}

        async def given_up() -> None:
            with anyio.move_on_after(0.05):  # cancelled while _slow_first holds the writer
                await db.write(_insert, 2)

        async def later() -> None:
            await anyio.sleep(0.01)
            await given_up()
            assert await db.write(_insert, 3) == 2  # the writer goes on after a cancelled caller

        async with anyio.create_task_group() as tg:
            tg.start_soon(db.write, _slow_first)
            tg.start_soon(later)
    finally:
        await db.close()
    assert _children(path) == [1, 3]


@pytest.mark.anyio
async def test_a_failing_call_leaves_nothing_and_its_neighbours_land(tmp_path):
    path = tmp_path / "g.db"
    _table(path)
    db = await Database.open(path, readers=1)
    try:
        calls = [(_slow_first,), (_insert, 1), (_insert_then_fail, 2), (_insert, 3)]
        results = await gather(db, calls)
    finally:
        await db.close()
    assert results[:2] == ["first", 1] and results[3] == 2  # call 2's row is gone before call 3 runs
    assert isinstance(results[2], ValueError) and str(results[2]) == "call 2 refused"
    assert _children(path) == [1, 3]
    assert db.group_sizes == {4: 1}


@pytest.mark.anyio
async def test_a_failed_commit_reruns_each_call_alone(tmp_path):
    path = tmp_path / "g.db"
    _table(path)
    db = await Database.open(path, readers=1)
    try:
        # call 2 names a parent that does not exist: a deferred key, so only COMMIT refuses it
        calls = [(_slow_first,), (_insert, 1), (_insert, 2, 99), (_insert, 3)]
        results = await gather(db, calls)
    finally:
        await db.close()
    assert results[:2] == ["first", 1] and results[3] == 2
    assert isinstance(results[2], sqlite3.IntegrityError)
    assert _children(path) == [1, 3]
    assert db.group_sizes == {"fallback": 1}


@pytest.mark.anyio
async def test_a_call_that_ends_the_transaction_fails_alone(tmp_path):
    path = tmp_path / "g.db"
    _table(path)
    db = await Database.open(path, readers=1)
    try:
        calls = [(_slow_first,), (_insert, 1), (_end_transaction, 2), (_insert, 3)]
        results = await gather(db, calls)
        after = await db.write(_insert, 4)  # the writer is usable again
    finally:
        await db.close()
    assert results[:2] == ["first", 1] and results[3] == 2 and after == 3
    assert isinstance(results[2], sqlite3.OperationalError)
    assert _children(path) == [1, 3, 4]
    assert db.group_sizes == {"fallback": 1, 1: 1}


@pytest.mark.anyio
async def test_concurrent_tool_calls_land_exactly_with_a_dry_run_and_a_bad_one_among_them(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("CUSTOMERMATES_WEBHOOK_ALLOW_INSECURE", "1")
    path = tmp_path / "crm.db"
    crm = open_crm(path)
    crm.call("create_webhook", {"url": "http://127.0.0.1:9/hook", "events": ["contact.created"]})
    crm.conn.close()
    db = await Database.open(path, readers=1)
    outcomes: dict[str, object] = {}

    async def create(label: str, contacts: list[dict], dry_run: bool = False) -> None:
        args = {"contacts": contacts}
        outcomes[label] = await REGISTRY.invoke(db, "create_contacts", args, crm.admin, dry_run=dry_run)

    good = {
        f"g{i}": [{"firstName": f"Good{i}-{k}", "emails": [f"g{i}.{k}@x.example"]} for k in range(10)]
        for i in range(24)
    }
    try:
        async with anyio.create_task_group() as tg:
            for i, (label, contacts) in enumerate(good.items()):
                tg.start_soon(create, label, contacts)
                if i == 5:
                    tg.start_soon(create, "dry", [{"firstName": "Dry", "emails": ["dry@x.example"]}], True)
                if i == 10:
                    tg.start_soon(create, "bad", [{"firstName": "Bad", "organizationIds": [UNKNOWN_ORG]}])
    finally:
        await db.close()

    assert grouped(db) > 1
    bad = outcomes.pop("bad")
    assert bad.is_error and bad.error.code == "not_found"
    dry = outcomes.pop("dry")
    assert not dry.is_error
    assert [c["name"] for c in msgspec.to_builtins(dry.structured)["items"]] == ["Dry"]
    created = {}
    for label, outcome in outcomes.items():
        assert not outcome.is_error, outcome.structured
        items = msgspec.to_builtins(outcome.structured)["items"]
        assert [i["name"] for i in items] == [f"Good{label[1:]}-{k}" for k in range(10)]
        created |= {i["id"]: i["name"] for i in items}

    conn = sqlite3.connect(path)
    try:
        stored = dict(conn.execute("SELECT id, first_name FROM contact"))
        audited = sorted(
            r[0] for r in conn.execute("SELECT entity_id FROM audit_log WHERE event = 'contact.created'")
        )
        delivered = sorted(
            r[0]
            for r in conn.execute(
                "SELECT a.entity_id FROM webhook_delivery d JOIN audit_log a ON a.id = d.event_id"
            )
        )
        emails = conn.execute("SELECT count(*) FROM contact_email").fetchone()[0]
    finally:
        conn.close()
    assert stored == created and len(created) == 240
    assert audited == sorted(created) and delivered == sorted(created)
    assert emails == 240


def _tool(conn: sqlite3.Connection, principal, name: str, args: dict, made: dict | None = None) -> dict:
    """One tool call as the writer runs it (the handler, audit and outbox rows, in the caller's transaction)."""
    tool = REGISTRY.tools[name]
    output, _ = _execute(conn, tool, check(args, tool.input, writes=True), principal, False, None, None)
    result = msgspec.to_builtins(output)
    if made is not None:
        made.update((i["name"], i["id"]) for i in result["items"])
    return result


def _rename_made(conn: sqlite3.Connection, principal, made: dict, old: str, new: str) -> dict:
    """Runs after the call that created `old` in the same group: it renames that new record."""
    return _tool(conn, principal, "update_contacts", {"contacts": [{"id": made[old], "firstName": new}]})


def _delete_made(conn: sqlite3.Connection, principal, made: dict, name: str) -> dict:
    return _tool(conn, principal, "delete_entities", {"entity": "contact", "ids": [made[name]]})


def _create_then_fail(conn: sqlite3.Connection, principal, name: str) -> None:
    _tool(conn, principal, "create_contacts", {"contacts": [{"firstName": name}]})
    raise ValueError("refused after writing")


@pytest.mark.anyio
async def test_search_finds_what_each_call_of_a_group_left_of_records_made_renamed_failed_deleted(tmp_path):
    path = tmp_path / "crm.db"
    crm = open_crm(path)
    kept = crm.call("create_contacts", {"contacts": [{"firstName": "Quillon", "emails": ["q@old.example"]}]})
    kept_id = kept["items"][0]["id"]
    admin = crm.admin
    db = await Database.open(path, readers=1)
    made: dict[str, str] = {}
    people = [{"firstName": f"Zephyrine{k}", "emails": [f"zephyr{k}@group.example"]} for k in range(3)]
    try:
        results = await gather(
            db,
            [
                (_slow_first,),
                (_tool, admin, "create_contacts", {"contacts": people}, made),
                (_tool, admin, "create_contacts", {"contacts": [{"firstName": "Marigold"}]}, made),
                (_rename_made, admin, made, "Marigold", "Thistlewood"),
                (_create_then_fail, admin, "Vanishwell"),
                (_tool, admin, "create_contacts", {"contacts": [{"firstName": "Ephemeron"}]}, made),
                (_delete_made, admin, made, "Ephemeron"),
                (
                    _tool,
                    admin,
                    "update_contacts",
                    {"contacts": [{"id": kept_id, "firstName": "Brackenridge"}]},
                ),
            ],
        )
    finally:
        await db.close()
    assert db.group_sizes == {8: 1}
    assert isinstance(results[4], ValueError)

    def found(term: str) -> list[str]:
        out = crm.call("search_all_entities", {"searchTerm": term})
        return sorted(i["name"] for group in out["results"] for i in group["items"])

    assert found("zephyr") == ["Zephyrine0", "Zephyrine1", "Zephyrine2"]  # by name and by address
    assert found("group.example") == ["Zephyrine0", "Zephyrine1", "Zephyrine2"]
    assert found("Thistlewood") == ["Thistlewood"]
    assert found("Marigold") == []
    assert found("Vanishwell") == []
    assert found("Ephemeron") == []
    assert found("Brackenridge") == ["Brackenridge"]
    assert found("Quillon") == []
    # one row per live contact in each search table, none left by the failed call or the deleted record
    live = crm.conn.execute("SELECT count(*) FROM contact").fetchone()[0]
    assert live == 5
    for table in ("contact_trigram", "contact_words"):
        assert crm.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == live


def _log_batch(conn: sqlite3.Connection, items: list) -> None:
    conn.execute("INSERT INTO child VALUES (?, 1)", (1000 + len(items),))
    conn.executemany("INSERT INTO child VALUES (?, 1)", [(n,) for n in items])


def _insert_later(conn: sqlite3.Connection, n: int, fail: bool = False) -> int:
    at_group_end(conn, "log", _log_batch, [n, n + 100])
    if fail:
        raise ValueError(f"call {n} refused")
    return n


@pytest.mark.anyio
async def test_work_left_to_the_group_end_runs_once_with_the_items_of_the_calls_that_kept(tmp_path):
    path = tmp_path / "g.db"
    _table(path)
    db = await Database.open(path, readers=1)
    try:
        alone = await db.write(_insert_later, 7)  # no group: runs at once, in the call
        calls = [(_slow_first,), (_insert_later, 1), (_insert_later, 2, True), (_insert_later, 3)]
        results = await gather(db, calls)
    finally:
        await db.close()
    assert alone == 7 and results[1] == 1 and results[3] == 3 and isinstance(results[2], ValueError)
    # one batch of 2 for the lone call; one batch of 4 for the group, without the refused call's items
    assert _children(path) == [1002, 7, 107, 1004, 1, 101, 3, 103]
    assert db.group_sizes == {1: 1, 4: 1}


def _search_create_then_fail(conn: sqlite3.Connection, principal, widget: dict) -> None:
    """Reads through the search index (writing the group's earlier search rows), writes, is refused."""
    _tool(conn, principal, "create_widget", widget | {"name": "Refused"})
    _create_then_fail(conn, principal, "Vanishwell")


@pytest.mark.anyio
async def test_a_later_call_of_a_group_finds_by_search_what_an_earlier_one_created(tmp_path):
    """Search rows left to the group's end are written before a later call of the group reads them:
    a widget counting contacts by an address fragment (read through the search index) counts the
    contacts an earlier call of its group created, as it would one call later; a call that read (so
    wrote those rows) and was then refused takes its own writes back, not the earlier calls' rows."""
    path = tmp_path / "crm.db"
    crm = open_crm(path)
    admin = crm.admin
    crm.call("create_contacts", {"contacts": [{"firstName": "Before", "emails": ["b@tidewater.example"]}]})
    people = [{"firstName": f"Pelagia{k}", "emails": [f"p{k}@tidewater.example"]} for k in range(3)]
    widget = {
        "name": "Tidewater",
        "displayType": "verticalBarChart",
        "entityType": "contact",
        "aggregationType": "count",
        "groupByType": "none",
        "entityFilters": [{"field": "emails", "operator": "contains", "value": "tidewater"}],
    }
    db = await Database.open(path, readers=1)
    try:
        results = await gather(
            db,
            [
                (_slow_first,),
                (_tool, admin, "create_contacts", {"contacts": people}),
                (_tool, admin, "create_widget", widget),
                (
                    _tool,
                    admin,
                    "create_contacts",
                    {"contacts": [{"firstName": "Late", "emails": ["l@tidewater.example"]}]},
                ),
                (_search_create_then_fail, admin, widget),
                (_tool, admin, "create_widget", widget | {"name": "After a refused call"}),
            ],
        )
    finally:
        await db.close()
    assert db.group_sizes == {6: 1}
    assert isinstance(results[4], ValueError)
    assert results[2]["item"]["data"] == [{"key": "__total__", "label": "Total", "value": 4}]
    assert results[5]["item"]["data"] == [{"key": "__total__", "label": "Total", "value": 5}]
    assert crm.call("search_all_entities", {"searchTerm": "Late"})["results"][0]["items"]
    assert crm.call("search_all_entities", {"searchTerm": "Vanishwell"})["results"][0]["items"] == []
    for table in ("contact_trigram", "contact_words"):
        assert crm.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 5
