"""What users read about the server comes from the code: generated copies are current, and nothing
served points to a document outside this repository."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx

from tests.conftest import ROOT, rpc

OUTSIDE_DOCUMENT = re.compile(r"[A-Za-z-]+\.md\b|§")


def test_readme_tool_list_and_tool_catalogue_are_current():
    done = subprocess.run(
        [sys.executable, "tools/write_docs.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_the_readme_lists_the_tools_an_agent_is_served(http):
    readme = (ROOT / "README.md").read_text()
    for tool in rpc(http, "tools/list").json()["result"]["tools"]:
        assert f"`{tool['name']}`" in readme, tool["name"]


def test_nothing_served_cites_a_document_the_user_does_not_have(server, http):
    listing = rpc(http, "tools/list").content.decode()
    document = httpx.get(f"{server.url}/api/v1/openapi").content.decode()
    for served in (listing, document):
        assert OUTSIDE_DOCUMENT.findall(served) == []
