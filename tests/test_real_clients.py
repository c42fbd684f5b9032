"""MCP clients nobody here wrote: the MCP Inspector CLI and mcporter from npm, against the running server.

They are installed once into a cache folder outside the checkout (CUSTOMERMATES_TEST_CACHE, default
~/.cache/customermates-tests). Without Node/npm, or when npm cannot install them, every test here
SKIPS with the reason; none passes without having run the client.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import rpc

PACKAGES = {"@modelcontextprotocol/inspector": "2.12.0", "mcporter": "0.12.3"}
CACHE = Path(os.environ.get("CUSTOMERMATES_TEST_CACHE", Path.home() / ".cache" / "customermates-tests"))
PREFIX = CACHE / "npm"


def _installed(name: str) -> bool:
    manifest = PREFIX / "node_modules" / name / "package.json"
    return manifest.exists() and json.loads(manifest.read_text())["version"] == PACKAGES[name]


@pytest.fixture(scope="session")
def npm_bin() -> Path:
    """The folder of the installed clients' executables; installs them on first use (or skips)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are not on PATH: cannot run the MCP Inspector CLI or mcporter")
    PREFIX.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "npm.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test runs share the cache
        if not all(_installed(name) for name in PACKAGES):
            specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
            command = ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(PREFIX), *specs]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=600)
            except subprocess.TimeoutExpired:
                pytest.skip(f"npm install {' '.join(specs)} took over 10 minutes")
            if done.returncode != 0 or not all(_installed(name) for name in PACKAGES):
                pytest.skip(f"npm install {' '.join(specs)} failed: {done.stderr.strip()[-500:]}")
    return PREFIX / "node_modules" / ".bin"


def run(npm_bin: Path, tool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "CI": "1"}
    return subprocess.run(
        [str(npm_bin / tool), *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env
    )


@pytest.fixture
def inspector(npm_bin, server, tenant, tmp_path):
    def call(*args: str) -> subprocess.CompletedProcess:
        target = [server.mcp_url, "--header", f"x-api-key: {tenant.key}"]
        return run(npm_bin, "inspector", "--cli", *target, *args, cwd=tmp_path)

    return call


@pytest.fixture
def mcporter(npm_bin, server, tenant, tmp_path):
    def call(command: str, *args: str) -> subprocess.CompletedProcess:
        target = ["--http-url", server.mcp_url, "--allow-http", "--header", f"x-api-key={tenant.key}"]
        return run(npm_bin, "mcporter", command, *target, "--name", "customermates", *args, cwd=tmp_path)

    return call


def served_names(http: httpx.Client) -> list[str]:
    return [t["name"] for t in rpc(http, "tools/list").json()["result"]["tools"]]


# ---- MCP Inspector CLI --------------------------------------------------------------------------------


def test_inspector_lists_the_tools(inspector, http):
    done = inspector("--method", "tools/list")
    assert done.returncode == 0, done.stderr
    names = [t["name"] for t in json.loads(done.stdout)["tools"]]
    assert "get_current_user" in names and "list_users" in names
    assert names == served_names(http)


@pytest.mark.parametrize("era", ["legacy", "auto", "modern"])
def test_inspector_calls_a_tool_in_each_protocol_era(inspector, tenant, era):
    done = inspector("--protocol-era", era, "--method", "tools/call", "--tool-name", "get_current_user")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["isError"] is False and result["structuredContent"]["email"] == tenant.email


def test_inspector_shows_our_error_with_its_field_path_and_hint(inspector):
    done = inspector(
        "--method", "tools/call", "--tool-name", "list_users", "--tool-args-json", '{"pageSize":0}'
    )
    assert done.returncode != 0  # the CLI signals a tool error by its exit status
    assert "must have required property" not in done.stdout + done.stderr  # no output-schema mismatch
    result = json.loads(done.stdout)
    assert result["isError"] is True and "structuredContent" not in result
    [issue] = json.loads(result["content"][0]["text"])["error"]["issues"]
    assert issue["path"] == "$.pageSize" and issue["hint"] == "Send a value from 1 to 100."


# ---- mcporter -----------------------------------------------------------------------------------------


def test_mcporter_lists_the_tools(mcporter):
    done = mcporter("list")
    assert done.returncode == 0, done.stderr
    assert "function get_current_user(" in done.stdout and "function list_users(" in done.stdout


def test_mcporter_calls_a_tool(mcporter, tenant):
    done = mcporter("call", "customermates.get_current_user")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["email"] == tenant.email


def test_mcporter_shows_our_error_after_listing_the_schemas(mcporter):
    # `key=value` arguments make mcporter list the tools first, so it knows the outputSchema.
    done = mcporter("call", "customermates.list_users", "pageSize=0")
    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert "does not match the tool's output schema" not in output
    with contextlib.suppress(json.JSONDecodeError):
        output = json.dumps(json.loads(done.stdout))  # one line, whatever the indentation
    assert '"path": "$.pageSize"' in output and '"hint": "Send a value from 1 to 100."' in output
