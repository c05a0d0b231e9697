"""A real `cairn serve` for the real `wandb` SDK: on SQLite + disk, and (when the services of
scripts/services are up) on PostgreSQL + S3. Each test gets its own project and working
directory, with WANDB_* pointing at the registry."""

import hashlib
import os
import pathlib
import subprocess
import sys
import uuid

import pytest
import requests
import wandb

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from registry import start  # noqa: E402  (tests/registry.py, shared with tests/docs and bench/)
ADMIN = "cairn_" + "0123456789abcdef" * 4


def backends():
    out = ["sqlite"]
    if os.environ.get("CAIRN_TEST_DATABASE_URL") and os.environ.get("CAIRN_TEST_S3_BUCKET"):
        out.append("postgres-s3")
    elif os.environ.get("CAIRN_REQUIRE_SERVICES"):
        raise RuntimeError("CAIRN_REQUIRE_SERVICES is set but PostgreSQL/S3 are not configured")
    return out


@pytest.fixture(scope="session", params=backends())
def registry(request, tmp_path_factory):
    binary = os.environ.get("CAIRN_BIN") or str(ROOT / "target" / "debug" / "cairn")
    data = tmp_path_factory.mktemp("registry")
    env = dict(os.environ, CAIRN_ADMIN_TOKEN=ADMIN, RUST_LOG="warn,cairn_wandb=info")
    args = ["--data-dir", str(data)]
    if request.param == "postgres-s3":
        db = "wandb_" + uuid.uuid4().hex[:12]
        base = os.environ["CAIRN_TEST_DATABASE_URL"]
        subprocess.run(["psql", base, "-q", "-c", f"CREATE DATABASE {db}"], check=True)
        args += [
            "--database-url", base.rsplit("/", 1)[0] + "/" + db,
            "--blob-store", f"s3://{os.environ['CAIRN_TEST_S3_BUCKET']}/{db}",
        ]
    log = open(data / "serve.log", "w")
    proc, url = start(binary, args, env, log)
    procs = [proc]
    found = {"url": url, "token": ADMIN, "backend": request.param, "log": data / "serve.log"}
    if request.param == "postgres-s3":
        # a second stateless replica on the same stores
        other, found["replica"] = start(binary, args, env, log)
        procs.append(other)
    yield found
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=20)
    log.close()


@pytest.fixture
def project(registry, monkeypatch, tmp_path):
    """A fresh project `team/<random>`, the SDK pointed at the registry, a fresh directory."""
    name = "p" + uuid.uuid4().hex[:12]
    monkeypatch.setenv("WANDB_BASE_URL", registry["url"])
    monkeypatch.setenv("WANDB_API_KEY", registry["token"])
    monkeypatch.setenv("WANDB_ENTITY", "team")
    monkeypatch.setenv("WANDB_PROJECT", name)
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("WANDB_ARTIFACT_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    # the SDK reads its settings once per process: start each test from a clean slate
    wandb.teardown()
    yield name
    wandb.teardown()


class Native:
    """Cairn's own HTTP API, to check what the SDK did."""

    def __init__(self, url, token, project):
        self.base = f"{url}/api/v1/projects/team/{project}"
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"Bearer {token}"

    def get(self, path, **kw):
        r = self.s.get(self.base + path, **kw)
        r.raise_for_status()
        return r.json()

    def manifest(self, name, ref="latest"):
        return self.get(f"/artifacts/{name}/versions/{ref}/manifest")["contents"]

    def version(self, name, ref="latest"):
        return self.get(f"/artifacts/{name}/versions/{ref}")

    def versions(self, name):
        return [v["version"] for v in self.get(f"/artifacts/{name}/versions")["versions"]]


@pytest.fixture
def native(registry, project):
    return Native(registry["url"], registry["token"], project)


def write(path, content):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return str(path)


def sha(content):
    data = content.encode() if isinstance(content, str) else content
    return "sha256:" + hashlib.sha256(data).hexdigest()
