"""Concurrent writers and readers through the real server leave a consistent database (docs/data-model.md)."""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal

import httpx

from tests.conftest import ok

WORKERS = 4
ROUNDS = 8


def workload(url: str, key: str, worker: int, failures: list[str]) -> None:
    """Each worker creates, links, renames and deletes its own records while reading everything."""
    try:
        with httpx.Client(base_url=url, headers={"x-api-key": key}, timeout=30) as http:
            service = ok(http, "create_services", {"services": [{"name": f"Svc {worker}", "amount": 0.1}]})
            service_id = service["items"][0]["id"]
            for n in range(ROUNDS):
                org = ok(http, "create_organizations", {"organizations": [{"name": f"Org {worker}-{n}"}]})
                org_id = org["items"][0]["id"]
                people = [{"firstName": f"P{worker}x{n}x{i}", "organizationIds": [org_id]} for i in range(5)]
                contacts = [c["id"] for c in ok(http, "create_contacts", {"contacts": people})["items"]]
                deal = ok(http, "create_deals", {"deals": [{"name": f"Deal {worker}-{n}", "contactIds": contacts,
                                                             "services": [{"serviceId": service_id, "quantity": 3}]}]})  # fmt: skip
                ok(
                    http,
                    "update_organizations",
                    {"organizations": [{"id": org_id, "name": f"Renamed {worker}-{n}"}]},
                )
                ok(http, "filter_entity", {"entity": "contact", "searchTerm": f"renamed {worker}-{n}"})
                if n % 2:
                    ok(http, "delete_entities", {"entity": "contact", "ids": contacts[:2]})
                ok(http, "update_services", {"services": [{"id": service_id, "amount": 0.1 + n}]})
                ok(http, "get_entities", {"items": [{"entity": "deal", "id": deal["items"][0]["id"]}]})
    except Exception as exc:  # surfaced by the test thread below
        failures.append(f"worker {worker}: {exc!r}")


def test_concurrent_workload_leaves_a_consistent_database(server, tenant):
    failures: list[str] = []
    threads = [
        threading.Thread(target=workload, args=(server.url, tenant.key, w, failures)) for w in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []

    conn = sqlite3.connect(server.db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        for entity in ("contact", "organization", "deal", "service", "task"):
            for kind in ("trigram", "words"):
                table = f"{entity}_{kind}"
                conn.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")  # raises if corrupt
            rows = conn.execute(f"SELECT count(*) FROM {entity}").fetchone()[0]
            assert conn.execute(f"SELECT count(*) FROM {entity}_trigram").fetchone()[0] == rows
        # Every deal's totals equal the sum over its services, exactly (docs/data-model.md).
        for deal_id, value, quantity in conn.execute("SELECT id, total_value, total_quantity FROM deal"):
            terms = conn.execute(
                "SELECT s.amount, l.quantity FROM link_deal_service l JOIN service s ON s.id = l.right_id"
                " WHERE l.left_id = ?",
                (deal_id,),
            ).fetchall()
            expected = sum(Decimal(a) * Decimal(q) / Decimal(10_000) for a, q in terms)
            assert value == int(expected.to_integral_value()) and quantity == sum(q for _, q in terms)
        # The links by seq that search walks hold exactly the contact-organization links.
        by_seq = conn.execute(
            "SELECT o.seq, c.seq FROM link_contact_organization l JOIN contact c ON c.id = l.left_id"
            " JOIN organization o ON o.id = l.right_id ORDER BY 1, 2"
        ).fetchall()
        assert (
            by_seq
            and conn.execute("SELECT * FROM search_contact_organization ORDER BY 1, 2").fetchall() == by_seq
        )
        renamed = conn.execute("SELECT count(*) FROM organization WHERE name LIKE 'Renamed %'").fetchone()[0]
        assert renamed == WORKERS * ROUNDS
    finally:
        conn.close()
    # Search never lags: each renamed organization's contacts are found under the new name only.
    with httpx.Client(base_url=server.url, headers={"x-api-key": tenant.key}, timeout=30) as http:
        for worker in range(WORKERS):
            for n in range(ROUNDS):
                new = ok(http, "count_entity", {"entity": "contact", "searchTerm": f"renamed {worker}-{n}"})
                old = ok(http, "count_entity", {"entity": "contact", "searchTerm": f"org {worker}-{n}"})
                assert (new["total"], old["total"]) == (3 if n % 2 else 5, 0), (worker, n)
