"""Assigned users + createdAt rules, led by the user links kept by creation time (migration 0013).

Pages and totals are checked against a reference computed here in Python over the same seeded
records; the kept links are checked against the links themselves after every kind of write.
"""

from __future__ import annotations

import random

import pytest

from customermates.crm import queries as q
from customermates.store import connect
from customermates.store import migrations as mig
from tests.crm_seed import Crm, open_crm

ENTITIES = ("contact", "organization", "deal", "service", "task")
NOW = "2026-03-31T12:00:00.000Z"
READ_OWN = {"contacts.readOwn", "users.readAll"}


def rule(field: str, operator: str, value=None) -> dict:
    return {"field": field, "operator": operator} | ({} if value is None else {"value": value})


def kept(crm: Crm, entity: str) -> list[tuple]:
    return sorted(tuple(r) for r in crm.conn.execute(f"SELECT * FROM {entity}_user_created"))


def expected_kept(crm: Crm, entity: str) -> list[tuple]:
    sql = f"SELECT l.right_id, e.created_at, l.left_id FROM link_{entity}_user l JOIN {entity} e ON e.id = l.left_id"
    return sorted(tuple(r) for r in crm.conn.execute(sql))


def seed(crm: Crm) -> tuple[list[dict], list[str]]:
    """60 contacts over Jan-Mar 2026, each assigned to none, one or two of three users."""
    users = [crm.admin.user_id] + [
        crm.member(f"m{i}@acme.example", {"contacts.readAll", "users.readAll"}).user_id for i in range(2)
    ]
    rng = random.Random(14)
    people = []
    for i in range(60):
        day, hour = 1 + rng.randrange(89), rng.randrange(24)
        created = f"2026-{1 + (day - 1) // 30:02d}-{1 + (day - 1) % 30:02d}T{hour:02d}:00:00.000Z"
        updated = f"2026-04-{1 + i % 28:02d}T{i % 24:02d}:{i:02d}:00.000Z"  # distinct: a fixed order
        assigned = rng.sample(users, rng.choice((0, 1, 1, 2)))
        name = f"Person {i:02d}"
        ident = crm.add("contact", name, created_at=created, updated_at=updated, userIds=assigned)
        people.append({"id": ident, "name": name, "created": created, "updated": updated, "users": assigned})
    return people, users


CASES = [  # (user indexes, createdAt rules, [(from, before)] of created stamps they keep)
    ([0], [rule("createdAt", "gte", "2026-02-10")], ("2026-02-10T00:00:00.000Z", "9")),
    ([1, 2], [rule("createdAt", "gte", "2026-01-20"), rule("createdAt", "lt", "2026-03-05")],
     ("2026-01-20T00:00:00.000Z", "2026-03-05T00:00:00.000Z")),
    ([2], [rule("createdAt", "between", ["2026-01-05", "2026-02-14T06:00:00Z"])],
     ("2026-01-05T00:00:00.000Z", "2026-02-14T06:00:00.001Z")),
    ([0, 1, 2], [rule("createdAt", "inLastDays", 30)], ("2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z")),
    ([0], [rule("createdAt", "lte", "2026-01-31")], ("", "2026-02-01T00:00:00.000Z")),
    ([1], [rule("createdAt", "gt", "2026-12-31")], ("2027-01-01T00:00:00.000Z", "9")),
]  # fmt: skip
SORTS = {  # sort -> the reference's key and direction
    ("updatedAt", "desc"): (lambda p: (p["updated"], p["id"]), True),
    ("createdAt", "asc"): (lambda p: (p["created"], p["id"]), False),
    ("name", "asc"): (lambda p: (p["name"].casefold(), p["id"]), False),
}


@pytest.mark.parametrize("case", range(len(CASES)))
def test_pages_and_totals_match_a_reference(crm, case):
    people, users = seed(crm)
    picked, rules, (low, high) = CASES[case]
    chosen = [users[i] for i in picked]
    for (field, way), (key, reverse) in SORTS.items():
        want = sorted(
            (p for p in people if set(p["users"]) & set(chosen) and low <= p["created"] < high),
            key=key,
            reverse=reverse,
        )
        args = {
            "entity": "contact",
            "filters": [rule("userIds", "in", chosen), *rules],
            "sortDescriptor": {"field": field, "direction": way},
            "pageSize": 4,
        }
        got, page = [], 1
        while True:
            out = crm.call("filter_entity", {**args, "page": page}, now=NOW)
            assert out["total"] == len(want), (field, way, page)
            got += [(i["id"], i["name"]) for i in out["items"]]
            if len(out["items"]) < 4:
                break
            page += 1
        assert got == [(p["id"], p["name"]) for p in want], (field, way)
        counted = crm.call("count_entity", {"entity": "contact", "filters": args["filters"]}, now=NOW)
        assert counted["total"] == len(want)
    assert any(set(p["users"]) & set(chosen) for p in people)


def test_the_kept_links_lead_for_assigned_users_and_for_a_read_own_caller(crm):
    people, users = seed(crm)
    since = [q.FilterRule("createdAt", "gte", "2026-02-01")]
    assigned = q.Query("contact", filters=[q.FilterRule("userIds", "in", [users[1]]), *since])
    assert "contact_user_created" in q.plan_query(crm.conn, crm.admin, assigned).source
    plain = q.Query("contact", filters=[q.FilterRule("userIds", "in", [users[1]])])
    assert "contact_user_created" not in q.plan_query(crm.conn, crm.admin, plain).source

    own = crm.member("own@acme.example", READ_OWN)
    mine = people[:25]
    for p in mine:
        crm.link("contact", p["id"], "user", [own.user_id])
    plan = q.plan_query(crm.conn, own, q.Query("contact", filters=since))
    assert "contact_user_created" in plan.source
    want = sorted((p["name"] for p in mine if p["created"] >= "2026-02-01"), key=str.casefold)
    args = {"entity": "contact", "filters": [rule("createdAt", "gte", "2026-02-01")]}
    out = crm.call("filter_entity", {**args, "pageSize": 100}, own)
    assert [i["name"] for i in out["items"]] == want and out["total"] == len(want) > 0
    assert crm.call("count_entity", args, own)["total"] == len(want)


def test_every_write_keeps_the_links_by_creation_time_exact(crm):
    users = [crm.admin.user_id, crm.member("m@acme.example", {"contacts.readAll"}).user_id]
    made = {}
    for entity in ENTITIES:
        plural = q.PLURAL[entity]
        first = "firstName" if entity == "contact" else "name"
        items = [{first: f"{entity} {i}", "userIds": users[: i % 3]} for i in range(6)]
        if entity == "service":
            items = [item | {"amount": 10} for item in items]
        made[entity] = [i["id"] for i in crm.call(f"create_{plural}", {plural: items})["items"]]
    contacts = made["contact"]
    crm.call("update_contacts", {"contacts": [{"id": contacts[2], "userIds": [users[1]]},
                                              {"id": contacts[1], "userIds": []}]})  # fmt: skip
    crm.call(
        "link_entities", {"entity": "contact", "sourceId": contacts[0], "relation": "users", "ids": users}
    )
    crm.call("unlink_entities", {"entity": "contact", "sourceId": contacts[4], "relation": "users",
                                 "ids": [users[0]]})  # fmt: skip
    for entity in ENTITIES:
        crm.call("delete_entities", {"entity": entity, "ids": made[entity][4:]})
    assert [len(kept(crm, e)) for e in ENTITIES] == [3, 3, 3, 3, 3]
    deleted = crm.conn.execute(
        "SELECT id FROM audit_log WHERE operation = 'delete_entities' AND entity_id = ?", (contacts[5],)
    ).fetchone()[0]
    crm.call("undo_changes", {"eventIds": [deleted]})  # the contact and its two links come back
    assert len(kept(crm, "contact")) == 5
    crm.conn.execute("DELETE FROM app_user WHERE id = ?", (users[1],))  # its links cascade away
    crm.conn.execute(
        "UPDATE contact SET created_at = '2020-01-01T00:00:00.000Z' WHERE id = ?", (contacts[0],)
    )
    for entity in ENTITIES:
        assert kept(crm, entity) == expected_kept(crm, entity), entity
    assert ("2020-01-01T00:00:00.000Z", contacts[0]) in [(c, i) for _, c, i in kept(crm, "contact")]
    crm.conn.execute("DELETE FROM company WHERE id = ?", (crm.company_id,))
    assert [len(kept(crm, e)) for e in ENTITIES] == [0] * 5


def test_the_migration_keeps_the_links_written_before_it(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    older = [m for m in mig.available() if m.version < 13]
    monkeypatch.setattr(mig, "available", lambda: older)
    crm = open_crm(path)  # a database of the release before
    member = crm.member("m@acme.example", {"contacts.readAll"}).user_id
    ada = crm.add("contact", "Ada Old", created_at="2025-06-01T00:00:00.000Z", userIds=[member])
    bea = crm.add(
        "contact", "Bea New", created_at="2026-02-01T00:00:00.000Z", userIds=[member, crm.admin.user_id]
    )
    task = crm.add("task", "Call", created_at="2026-01-01T00:00:00.000Z", userIds=[member])
    crm.add("contact", "Cy Nobody", created_at="2026-02-02T00:00:00.000Z")
    names = {r[0] for r in crm.conn.execute("SELECT name FROM sqlite_master")}
    assert "contact_user_created" not in names
    crm.conn.close()
    monkeypatch.undo()

    conn = connect(path)
    assert 13 in mig.migrate(conn)
    upgraded = Crm(conn, crm.company_id, crm.admin)
    assert kept(upgraded, "contact") == sorted(
        [(member, "2025-06-01T00:00:00.000Z", ada), (member, "2026-02-01T00:00:00.000Z", bea),
         (crm.admin.user_id, "2026-02-01T00:00:00.000Z", bea)]
    )  # fmt: skip
    assert kept(upgraded, "task") == [(member, "2026-01-01T00:00:00.000Z", task)]
    recent = [rule("userIds", "in", [member]), rule("createdAt", "gte", "2026-01-01")]
    assert upgraded.names({"filters": recent}) == ["Bea New"]
    upgraded.add("contact", "Dee Later", created_at="2026-03-01T00:00:00.000Z", userIds=[member])
    assert upgraded.names({"filters": recent}) == ["Bea New", "Dee Later"]
    conn.close()
