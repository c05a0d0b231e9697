"""A real `cairn serve` (SQLite + disk in a temporary directory) on a free loopback port for the
whole session; each test gets its own project, working directory and `CAIRN_*` environment."""

import hashlib
import os
import pathlib
import sys
import uuid

import pytest

import cairn

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests"))
from registry import start  # noqa: E402  (tests/registry.py, shared with the other suites)


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    binary = os.environ.get("CAIRN_BIN") or str(ROOT / "target" / "debug" / "cairn")
    data = tmp_path_factory.mktemp("registry")
    token = "cairn-py-tests-" + uuid.uuid4().hex
    proc, url = start(
        binary,
        ["--data-dir", str(data)],
        dict(os.environ, CAIRN_ADMIN_TOKEN=token, RUST_LOG="warn"),
        stderr=None,
    )
    yield {"url": url, "token": token, "data": data}
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture
def project(registry, monkeypatch, tmp_path):
    """A fresh project `team/<random>` as the default, and a fresh working directory."""
    name = "p" + uuid.uuid4().hex[:12]
    monkeypatch.setenv("CAIRN_HOST", registry["url"])
    monkeypatch.setenv("CAIRN_TOKEN", registry["token"])
    monkeypatch.setenv("CAIRN_ENTITY", "team")
    monkeypatch.setenv("CAIRN_PROJECT", name)
    monkeypatch.setenv("CAIRN_CONFIG", str(tmp_path / "no-config.json"))
    monkeypatch.setenv("CAIRN_SILENT", "1")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield name
    if cairn.run is not None:
        cairn.run.finish()


def write(path, content):
    """Write `content` (str or bytes) to `path`, making its directories."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)


def sha(content):
    """The manifest digest of `content`."""
    data = content.encode() if isinstance(content, str) else content
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digests(artifact):
    """path -> digest of an artifact's manifest."""
    return {p: e.digest for p, e in artifact.manifest.entries.items()}
