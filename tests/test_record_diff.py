"""`changes` between two shapes of one record: what audit rows and webhook payloads carry."""

from __future__ import annotations

from customermates.record_diff import diff


def test_only_changed_keys_in_the_order_of_the_record_after_and_updated_at_never():
    before = {"id": "a", "name": "Acme", "notes": None, "updatedAt": "t1", "score": 1}
    after = {"id": "a", "notes": "hi", "name": "Acme Inc", "updatedAt": "t2", "score": 1}
    changes = diff(before, after)
    assert changes == {
        "notes": {"previous": None, "current": "hi"},
        "name": {"previous": "Acme", "current": "Acme Inc"},
    }
    assert list(changes) == ["notes", "name"]


def test_arrays_of_identified_objects_list_only_the_elements_that_differ():
    before = {"contacts": [{"id": "1", "name": "Ada"}, {"id": "2", "name": "Bo"}]}
    after = {"contacts": [{"id": "2", "name": "Bob"}, {"id": "3", "name": "Cy"}, {"id": "1", "name": "Ada"}]}
    assert diff(before, after) == {
        "contacts": {
            "previous": [{"id": "2", "name": "Bo"}],
            "current": [{"id": "2", "name": "Bob"}, {"id": "3", "name": "Cy"}],
        }
    }
    columns = {"customFieldValues": [{"columnId": "c", "value": "x"}]}
    assert diff(columns, {"customFieldValues": []}) == {
        "customFieldValues": {"previous": [{"columnId": "c", "value": "x"}], "current": []}
    }


def test_plain_arrays_and_keys_one_side_lacks_are_whole_values():
    assert diff({"emails": ["a@x.example"]}, {"emails": ["b@x.example"]}) == {
        "emails": {"previous": ["a@x.example"], "current": ["b@x.example"]}
    }
    assert diff({"gone": 5, "kept": 1}, {"kept": 1, "new": 2}) == {
        "new": {"previous": None, "current": 2},
        "gone": {"previous": 5, "current": None},
    }
    assert diff({"a": 1, "gone": None}, {"a": 1}) == {}
