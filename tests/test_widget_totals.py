"""Deal value by organization from the stored per-organization totals (docs/widgets.md, "Stored totals").

Every write path must leave each organization's stored value equal to Σ totalValue of its linked
deals: the widget must show the numbers worked out by hand below after each step, the same as the
same chart computed from the links (a filter that keeps every organization forces that path), and a
seeded random sequence of writes must agree with a GROUP BY written here.
"""

from __future__ import annotations

import json
import random
from contextlib import suppress

import httpx
import pytest

from customermates.errors import ToolError
from customermates.ids import new_id, now_iso
from customermates.store import accounts as acc
from customermates.store import connect
from customermates.store import migrations as mig
from tests.conftest import call_tool, make_tenant, ok, running_server
from tests.crm_seed import Crm, open_crm
from tests.records_support import add_role_user, make

W1 = {"name": "By organization", "displayType": "verticalBarChart", "entityType": "organization",
      "aggregationType": "dealValue", "groupByType": "organization"}  # fmt: skip
EVERY_ORGANIZATION = [
    {"field": "createdAt", "operator": "gt", "value": "2000-01-01T00:00:00.000Z"}
]  # computed from the links instead


def points(widget: dict) -> list[tuple[str, float]]:
    return [(p["label"], p["value"]) for p in widget["data"]]


class Charts:
    """The stored-path widget and its twin computed from the links, read by one client."""

    def __init__(self, http: httpx.Client):
        self.http = http
        self.stored = ok(http, "create_widget", W1)["item"]["id"]
        self.linked = ok(http, "create_widget", W1 | {"entityFilters": EVERY_ORGANIZATION})["item"]["id"]

    def read(self) -> list[tuple[str, float]]:
        stored, linked = ok(self.http, "get_widgets", {"ids": [self.stored, self.linked]})["items"]
        assert stored["dataError"] is None and linked["dataError"] is None
        assert stored["data"] == linked["data"]
        return points(stored)


def event_id(http: httpx.Client, event: str, entity_id: str, key: str | None = None) -> str:
    """The newest such event (of a change to `key`, when given)."""
    items = ok(http, "list_changes", {"pageSize": 100})["items"]
    return next(i["id"] for i in items if i["event"] == event and i["entityId"] == entity_id
                and (key is None or key in (i["changes"] or {})))  # fmt: skip


def error_code(http: httpx.Client, tool: str, args: dict) -> str:
    result = call_tool(http, tool, args)
    assert result["isError"] is True, result
    if result.get("structuredContent"):
        return result["structuredContent"]["error"]["code"]
    return json.loads(result["content"][0]["text"])["error"]["code"]


def test_deal_value_by_organization_follows_every_write(tmp_path):
    db_path = tmp_path / "crm.db"
    tenant = make_tenant(db_path)
    rival = make_tenant(db_path, "Rival", "boss@rival.example")
    reader_key = add_role_user(db_path, tenant, "rita@acme.example", "Own organizations",
                               ["organizations.readOwn", "organizations.create", "deals.readAll"])  # fmt: skip
    with running_server(db_path) as server:
        clients = [httpx.Client(base_url=server.url, headers={"x-api-key": k}, timeout=30)
                   for k in (tenant.key, rival.key, reader_key)]  # fmt: skip
        http, other, reader = clients
        try:
            (r_service,) = make(other, "service", {"name": "R", "amount": 1000})
            (r_org,) = make(other, "organization", {"name": "Orbit"})
            make(
                other,
                "deal",
                {"name": "R1", "services": [{"serviceId": r_service}], "organizationIds": [r_org]},
            )
            theirs = Charts(other)

            s1, s2, huge = make(http, "service", {"name": "S1", "amount": 10}, {"name": "S2", "amount": 5},
                                {"name": "Huge", "amount": 10**12})  # fmt: skip
            orbit, nadir, zenith = make(
                http, "organization", {"name": "Orbit"}, {"name": "Nadir"}, {"name": "Zenith"}
            )
            (mine,) = make(reader, "organization", {"name": "Mine"})  # assigned to the reader
            d1, d2, d3 = make(
                http,
                "deal",
                {"name": "D1", "services": [{"serviceId": s1, "quantity": 6}, {"serviceId": s2, "quantity": 8}],
                 "organizationIds": [orbit]},  # 100
                {"name": "D2", "services": [{"serviceId": s1, "quantity": 5}], "organizationIds": [orbit, nadir]},
                {"name": "D3", "services": [{"serviceId": s2, "quantity": 2}]},  # 10, no organization
            )  # fmt: skip
            ours = Charts(http)
            assert ours.read() == [("Orbit", 150), ("Nadir", 50)]

            ok(
                http,
                "link_entities",
                {"entity": "organization", "sourceId": zenith, "relation": "deals", "ids": [d3]},
            )
            assert ours.read() == [("Orbit", 150), ("Nadir", 50), ("Zenith", 10)]

            ok(
                http,
                "unlink_entities",
                {"entity": "deal", "sourceId": d1, "relation": "organizations", "ids": [orbit]},
            )
            assert ours.read() == [("Nadir", 50), ("Orbit", 50), ("Zenith", 10)]  # a tie: by name

            ok(http, "update_services", {"services": [{"id": s1, "amount": 12}]})  # D1 112, D2 60
            assert ours.read() == [("Nadir", 60), ("Orbit", 60), ("Zenith", 10)]

            ok(
                http, "update_deals", {"deals": [{"id": d2, "services": [{"serviceId": s1, "quantity": 7}]}]}
            )  # 84
            assert ours.read() == [("Nadir", 84), ("Orbit", 84), ("Zenith", 10)]

            ok(http, "update_deals", {"deals": [{"id": d1, "organizationIds": [zenith, mine]}]})
            assert ours.read() == [("Zenith", 122), ("Mine", 112), ("Nadir", 84), ("Orbit", 84)]

            # The reader sees only the organization assigned to them: computed from the links.
            (seen,) = ok(reader, "get_widgets", {"ids": [ours.stored]})["items"]
            assert points(seen) == [("Mine", 112)]

            # Failed batches write nothing: a missing organization, and a total past the limit found
            # only after the links were written.
            for tool, args, expected in (
                ("create_deals", {"deals": [{"name": "D4", "organizationIds": [nadir]},
                                            {"name": "D5", "organizationIds": [new_id()]}]}, "not_found"),
                ("update_deals", {"deals": [{"id": d2, "services": [{"serviceId": huge, "quantity": 1000}]}]},
                 "invalid_input"),
            ):  # fmt: skip
                assert error_code(http, tool, args) == expected
            assert ours.read() == [("Zenith", 122), ("Mine", 112), ("Nadir", 84), ("Orbit", 84)]

            ok(http, "delete_entities", {"entity": "deal", "ids": [d2]})
            assert ours.read() == [("Zenith", 122), ("Mine", 112)]

            ok(http, "undo_changes", {"eventIds": [event_id(http, "deal.deleted", d2)]})
            assert ours.read() == [("Zenith", 122), ("Mine", 112), ("Nadir", 84), ("Orbit", 84)]

            ok(http, "delete_entities", {"entity": "service", "ids": [s2]})  # D1 72, D3 0
            assert ours.read() == [("Nadir", 84), ("Orbit", 84), ("Mine", 72), ("Zenith", 72)]

            ok(http, "delete_entities", {"entity": "organization", "ids": [orbit, mine]})
            assert ours.read() == [("Nadir", 84), ("Zenith", 72)]

            ok(
                http, "undo_changes", {"eventIds": [event_id(http, "service.updated", s1, "amount")]}
            )  # S1 10: D1 60, D2 70
            assert ours.read() == [("Nadir", 70), ("Zenith", 60)]

            assert theirs.read() == [("Orbit", 1000)]
        finally:
            for client in clients:
                client.close()


# ---- a seeded random sequence of writes against a GROUP BY written here ------------------------------

FROM_SCRATCH = (
    "SELECT o.id, o.name, coalesce(sum(d.total_value), 0) FROM organization o"
    " LEFT JOIN link_organization_deal l ON l.left_id = o.id LEFT JOIN deal d ON d.id = l.right_id"
    " WHERE o.company_id = ? GROUP BY o.id"
)


def expected_points(crm: Crm) -> list[dict]:
    """W1's data worked out from the links: non-zero organizations, largest first, ties by name."""
    rows = crm.conn.execute(FROM_SCRATCH, (crm.company_id,)).fetchall()
    chosen = sorted((r for r in rows if r[2]), key=lambda r: (-r[2], r[1].casefold(), r[0]))
    return [{"key": i, "label": name, "value": units // 10_000 if units % 10_000 == 0 else units / 10_000}
            for i, name, units in chosen]  # fmt: skip


class Company:
    """One tenant driven through the in-process registry, with the two W1 widgets."""

    def __init__(self, crm: Crm, rng: random.Random):
        self.crm, self.rng = crm, rng
        self.services = [
            self.create("service", {"name": f"S{i}", "amount": rng.randint(1, 999) / 4}) for i in range(4)
        ]
        self.orgs = [self.create("organization", {"name": f"Org {i}"}) for i in range(6)]
        self.deals: list[str] = []
        self.widgets = [
            crm.call("create_widget", W1)["item"]["id"],
            crm.call("create_widget", W1 | {"entityFilters": EVERY_ORGANIZATION})["item"]["id"],
        ]

    def create(self, entity: str, item: dict) -> str:
        plural = {"deal": "deals", "service": "services", "organization": "organizations"}[entity]
        return self.crm.call(f"create_{plural}", {plural: [item]})["items"][0]["id"]

    def some(self, ids: list[str], most: int) -> list[str]:
        return self.rng.sample(ids, self.rng.randint(0, min(most, len(ids))))

    def terms(self) -> list[dict]:
        return [
            {"serviceId": s, "quantity": self.rng.randint(1, 40) / 8} for s in self.some(self.services, 2)
        ]

    def step(self) -> None:
        """One random write; some fail (and must write nothing)."""
        rng, call = self.rng, self.crm.call
        kind = rng.choice(["create", "create", "link", "unlink", "reprice", "terms", "relink", "delete",
                           "undo", "fail", "organization", "service"])  # fmt: skip
        if kind == "create" or not self.deals:
            deal = {
                "name": f"D{len(self.deals)}",
                "services": self.terms(),
                "organizationIds": self.some(self.orgs, 3),
            }
            self.deals.append(self.create("deal", deal))
        elif kind in ("link", "unlink") and self.orgs:
            org = rng.choice(self.orgs)
            call(f"{kind}_entities", {"entity": "organization", "sourceId": org, "relation": "deals",
                                      "ids": self.some(self.deals, 3) or self.deals[:1]})  # fmt: skip
        elif kind == "reprice" and self.services:
            call(
                "update_services",
                {"services": [{"id": rng.choice(self.services), "amount": rng.randint(1, 999) / 4}]},
            )
        elif kind == "terms" and self.services:
            call("update_deals", {"deals": [{"id": rng.choice(self.deals), "services": self.terms()}]})
        elif kind == "relink":
            call(
                "update_deals",
                {"deals": [{"id": rng.choice(self.deals), "organizationIds": self.some(self.orgs, 3)}]},
            )
        elif kind == "delete":
            entity, pool = rng.choice(
                [("deal", self.deals), ("organization", self.orgs), ("service", self.services)]
            )
            if pool:
                gone = pool.pop(rng.randrange(len(pool)))
                call("delete_entities", {"entity": entity, "ids": [gone]})
        elif kind == "undo":
            items = call("list_changes", {"pageSize": 20})["items"]
            undoable = [
                i for i in items if i["undoable"] and i["entity"] in ("deal", "organization", "service")
            ]
            if undoable:
                with suppress(ToolError):  # a conflict: nothing was written
                    call("undo_changes", {"eventIds": [rng.choice(undoable)["id"]]})
                self.resync()
        elif kind == "fail":
            with pytest.raises(ToolError):
                call("create_deals", {"deals": [{"name": "ok", "organizationIds": self.orgs[:2]},
                                                {"name": "bad", "organizationIds": [new_id()]}]})  # fmt: skip
        elif kind == "organization":
            self.orgs.append(self.create("organization", {"name": f"Org {rng.randint(0, 99)}"}))
        elif kind == "service":
            self.services.append(self.create("service", {"name": f"S{rng.randint(0, 99)}", "amount": 2.5}))

    def resync(self) -> None:
        """Undo may delete or restore records: take the id lists from the database."""
        for entity, pool in (("deal", self.deals), ("organization", self.orgs), ("service", self.services)):
            rows = self.crm.conn.execute(
                f"SELECT id FROM {entity} WHERE company_id = ? ORDER BY seq", (self.crm.company_id,)
            )
            pool[:] = [r[0] for r in rows]

    def check(self) -> None:
        rows = self.crm.conn.execute(FROM_SCRATCH, (self.crm.company_id,)).fetchall()
        stored = dict(
            self.crm.conn.execute(
                "SELECT id, deal_value FROM organization WHERE company_id = ?", (self.crm.company_id,)
            )
        )
        assert stored == {i: units for i, _, units in rows}
        stored_widget, linked_widget = self.crm.call("get_widgets", {"ids": self.widgets})["items"]
        assert stored_widget["data"] == expected_points(self.crm) == linked_widget["data"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_writes_keep_the_stored_totals_exact(tmp_path, seed):
    rng = random.Random(seed)
    crm = open_crm(tmp_path / "crm.db")
    companies = [Company(crm, rng), Company(crm.company("Rival", "boss@rival.example"), rng)]
    for _ in range(80):
        company = rng.choice(companies)
        company.step()
        for each in companies:
            each.check()
    crm.conn.close()


def test_past_100_organizations_both_paths_keep_the_same_100_and_other(tmp_path):
    crm = open_crm(tmp_path / "crm.db")
    values = {}
    for i in range(110):  # 95 distinct values, then 15 organizations tied at 50 across the 100th place
        name = f"Org {i:03}" if i < 95 else f"Tie {109 - i:02}"  # ties: names run against id order
        org = crm.add("organization", name)
        values[org] = (name, 200 - i if i < 95 else 50)
        crm.add("deal", f"D{i}", total_value=values[org][1], organizationIds=[org])
    first = sorted(values, key=lambda o: (-values[o][1], o))[:100]  # the 100 largest, ties by id
    shown = sorted(first, key=lambda o: (-values[o][1], values[o][0].casefold(), o))
    expected = [{"key": o, "label": values[o][0], "value": values[o][1]} for o in shown]
    expected.append({"key": "__other__", "label": "Other", "value": 10 * 50})
    widgets = [
        crm.call("create_widget", W1 | extra)["item"]["id"]
        for extra in ({}, {"entityFilters": EVERY_ORGANIZATION})
    ]
    seen: list[str] = []
    crm.conn.set_trace_callback(seen.append)
    stored = crm.call("get_widgets", {"ids": widgets[:1]})["items"][0]
    crm.conn.set_trace_callback(None)
    assert not [sql for sql in seen if "link_organization_deal" in sql]  # read from the stored totals
    linked = crm.call("get_widgets", {"ids": widgets[1:]})["items"][0]
    assert stored["data"] == expected == linked["data"]
    crm.conn.close()


# ---- large sums, and the migration of an existing database --------------------------------------------


def test_a_sum_past_64_bits_is_not_stored_and_the_widget_computes_from_the_links(tmp_path):
    crm = open_crm(tmp_path / "crm.db")
    (big,) = crm.call("create_services", {"services": [{"name": "Big", "amount": 10**12}]})["items"]
    made = crm.call("create_organizations", {"organizations": [{"name": "Fits"}, {"name": "Too big"}]})[
        "items"
    ]
    fits, too_big = (o["id"] for o in made)
    deals = [{"name": f"D{i}", "services": [{"serviceId": big["id"], "quantity": q}], "organizationIds": [o]}
             for i, (q, o) in enumerate([(200, fits), (200, fits), (500, too_big), (500, too_big)])]  # fmt: skip
    crm.call("create_deals", {"deals": deals})  # 10^15 on one organization: the write still succeeds
    stored = dict(crm.conn.execute("SELECT name, deal_value FROM organization"))
    assert stored == {"Fits": 4 * 10**18, "Too big": None}
    widgets = [
        crm.call("create_widget", W1 | extra)["item"]["id"]
        for extra in ({}, {"entityFilters": EVERY_ORGANIZATION})
    ]
    computed = crm.call("get_widgets", {"ids": widgets})["items"]
    assert computed[0]["data"] == computed[1]["data"] and computed[0]["dataError"] == computed[1]["dataError"]
    crm.call("unlink_entities", {"entity": "organization", "sourceId": too_big, "relation": "deals",
                                 "ids": [crm.conn.execute("SELECT id FROM deal WHERE name = 'D3'").fetchone()[0]]})  # fmt: skip
    assert (
        crm.conn.execute("SELECT deal_value FROM organization WHERE id = ?", (too_big,)).fetchone()[0]
        == 5 * 10**18
    )
    computed = crm.call("get_widgets", {"ids": widgets})["items"]
    assert (
        points(computed[0])
        == points(computed[1])
        == [("Too big", 500_000_000_000_000), ("Fits", 400_000_000_000_000)]
    )
    crm.conn.close()


def test_migration_0008_fills_the_totals_of_an_existing_database(tmp_path, monkeypatch):
    every = mig.available()
    monkeypatch.setattr(mig, "available", lambda: [m for m in every if m.version <= 7])
    conn = connect(tmp_path / "crm.db")
    mig.migrate(conn)
    assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == 7
    companies = [
        acc.create_company(conn, n, f"owner@{n}.example", "O", "Owner").company_id for n in ("a", "b")
    ]
    now = now_iso()

    def insert(table: str, company_id: str, name: str, value: int = 0) -> str:
        ident = new_id()
        extra = ", total_value" if table == "deal" else ""
        conn.execute(
            f"INSERT INTO {table} (id, company_id, name, name_key, created_at, updated_at{extra})"
            f" VALUES (?, ?, ?, ?, ?, ?{', ?' if extra else ''})",
            (ident, company_id, name, name.lower(), now, now, *((value,) if extra else ())),
        )
        return ident

    a, b = companies
    orbit, nadir, empty = (insert("organization", a, n) for n in ("Orbit", "Nadir", "Empty"))
    rival = insert("organization", b, "Rival")
    d1, d2, d3 = (insert("deal", a, n, v) for n, v in (("D1", 1_000_000), ("D2", 500_000), ("D3", 7)))
    d4 = insert("deal", b, "D4", 990_000)
    huge, big = insert("organization", a, "Huge"), insert("organization", a, "Big")
    d5, d6, d7 = (
        insert("deal", a, n, v) for n, v in (("D5", 5 * 10**18), ("D6", 5 * 10**18), ("D7", 4 * 10**18))
    )
    conn.executemany(
        "INSERT INTO link_organization_deal VALUES (?, ?)",
        [(orbit, d1), (orbit, d2), (nadir, d2), (rival, d4), (huge, d5), (huge, d6), (big, d7), (big, d1)],
    )
    monkeypatch.setattr(mig, "available", lambda: every)
    assert 8 in mig.migrate(conn)
    stored = dict(conn.execute("SELECT id, deal_value FROM organization"))
    assert stored == {orbit: 1_500_000, nadir: 500_000, empty: 0, rival: 990_000, huge: None,
                      big: 4 * 10**18 + 1_000_000}  # fmt: skip
    assert d3  # a deal without organizations counts nowhere
    plan = " ".join(r[3] for r in conn.execute(
        "EXPLAIN QUERY PLAN SELECT id, deal_value FROM organization WHERE company_id = ? AND deal_value <> 0"
        " ORDER BY deal_value DESC, id LIMIT 100", (a,)))  # fmt: skip
    assert "organization_company_deal_value" in plan and "TEMP B-TREE" not in plan
    conn.close()
