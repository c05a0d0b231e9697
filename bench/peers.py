#!/usr/bin/env python3
"""Cairn against the tools users would pick instead (issue 9), on the same data, in one run.

Datasets (deterministic, seeded): A) 10,000 files of 4 KiB in 100 folders; B) 1,000 files of
1 MiB; C) one 2 GiB file. Operations: first push; push after modifying one file, adding one
and deleting one (C has one file: it is modified and one small file added); push with nothing
changed; full download into an empty directory. Tools: Cairn (release `cairn` CLI against
`cairn serve`, SQLite + disk, loopback), Cairn-py (the Python package on the same setup:
`Artifact.add_dir` + `save`, `Api().artifact().download`), DVC (`dvc add` + `dvc push` to a local remote; `dvc
pull` with an empty cache), MLflow (`log_artifacts` to a local tracking server that proxies
artifacts, loopback; `download_artifacts`), Oxen (`oxenai`: local add + commit; no remote, so
no download), and `openssl dgst -sha256` of every file as the hashing bound.

Wall time: CLIs (cairn, dvc, openssl) as whole processes; the Python APIs (MLflow, Oxen) around
the call only (their import is not counted). Bytes sent: loopback traffic for the HTTP tools
(both directions, headers included); bytes added to the remote (DVC) or to `.oxen` (Oxen).
Peak RSS: of the client process tree (wait4).

Usage: bench/peers.py CAIRN_BIN WORK_DIR [--datasets A,B,C] [--json OUT] [--chart PNG]
(scripts/bench-peers sets it all up.)
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
DATASETS = {
    "A": ("10,000 × 4 KiB in 100 folders", 10_000, 4 * KIB),
    "B": ("1,000 × 1 MiB", 1_000, MIB),
    "C": ("1 × 2 GiB", 1, 2 * GIB),
}
OPS = ["first push", "edit push", "no-change push", "download"]


def lo_bytes():
    with open("/proc/net/dev") as f:
        for line in f:
            if line.strip().startswith("lo:"):
                return int(line.split(":")[1].split()[0])
    return 0


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass
    return total


class Timeout(Exception):
    pass


#: An operation running longer than this is stopped and reported as "> LIMIT".
LIMIT = 300


def run(cmd, cwd=None, env=None):
    """Run `cmd`; its wall time, peak RSS (MiB, whole process tree) and stdout. Stopped after
    LIMIT seconds (Timeout)."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True)
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t > LIMIT:
                os.killpg(p.pid, signal.SIGKILL)
                os.wait4(p.pid, 0)
                p.returncode = -9
                raise Timeout(f"{cmd[0]} stopped after {LIMIT} s")
            time.sleep(0.002)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if p.returncode != 0:
            raise RuntimeError(f"{cmd} failed: {err.read().decode(errors='replace')[-2000:]}")
        return {"wall": wall, "rss_mib": usage.ru_maxrss / 1024,
                "out": out.read().decode(errors="replace")}


def write_random(path, size, rng):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 8 * MIB)
            f.write(rng.randbytes(n))
            left -= n


def generate(root, key, seed=9):
    rng = random.Random(f"{seed}-{key}")
    _, count, size = DATASETS[key]
    for i in range(count):
        rel = f"d{i % 100:02d}/f{i:05d}.bin" if count > 1 else "big.bin"
        write_random(root / rel, size, rng)


def edit(root, key):
    """Modify one file, add one, delete one (C: modify 1 MiB of the big file, add one).
    Files are replaced, never written in place (the tools' copies may be hard links).
    Returns the bytes of changed content."""
    rng = random.Random(f"edit-{key}")
    _, count, size = DATASETS[key]
    files = sorted(p for p in root.rglob("*") if p.is_file())
    target = files[0]
    tmp = target.with_suffix(".tmp")
    if count == 1:
        with open(target, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 8 * MIB)
        with open(tmp, "r+b") as dst:
            dst.seek(size // 2)
            dst.write(rng.randbytes(MIB))
    else:
        write_random(tmp, size, rng)
        files[1].unlink()
    os.replace(tmp, target)
    write_random(root / "added" / "new.bin", 4 * KIB, rng)
    return size + 4 * KIB


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_http(url, proc, seconds=120):
    import urllib.request

    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.args}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


class Tool:
    name = "?"

    def setup(self, work):
        pass

    def teardown(self):
        pass

    def sent(self):
        return lo_bytes()


class Cairn(Tool):
    name = "Cairn"

    def __init__(self, binary):
        self.bin = binary

    def setup(self, work):
        self.work = work
        port = free_port()
        env = dict(os.environ, CAIRN_ADMIN_TOKEN="bench", RUST_LOG="warn")
        self.server = subprocess.Popen(
            [self.bin, "serve", "--addr", f"127.0.0.1:{port}", "--data-dir", str(work / "cairn-data")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(f"http://127.0.0.1:{port}/api/v1/health", self.server)
        self.env = dict(os.environ, CAIRN_HOST=f"http://127.0.0.1:{port}", CAIRN_TOKEN="bench",
                        CAIRN_ENTITY="bench", CAIRN_PROJECT="bench",
                        CAIRN_CONFIG=str(work / "none.json"))

    def push(self, data, key):
        return run([self.bin, "--json", "put", str(data), "--name", f"ds-{key}", "--type", "dataset"],
                   env=self.env)

    def download(self, key, dest):
        return run([self.bin, "--json", "get", f"ds-{key}:latest", "--root", str(dest)], env=self.env)

    def teardown(self):
        self.server.terminate()
        self.server.wait()

    def store(self):
        """(objects, bytes) in the registry's blob store (blobs, packs; not staging)."""
        root = self.work / "cairn-data" / "blobs"
        files = [p for d in ("blobs", "packs") for p in (root / d).rglob("*") if p.is_file()]
        return len(files), sum(p.stat().st_size for p in files)


class CairnBase(Cairn):
    """Cairn built from an earlier commit (`--baseline`), on the same setup: the named
    baseline the numbers are compared with in the same run."""
    name = "Cairn-base"


CAIRN_PY_PUSH = """
import json, sys, time, cairn
t = time.perf_counter()
a = cairn.Artifact(sys.argv[1], "dataset")
a.add_dir(sys.argv[2])
a.save()
print(json.dumps({"wall": time.perf_counter() - t}))
"""
CAIRN_PY_GET = """
import json, sys, time, cairn
t = time.perf_counter()
cairn.Api().artifact(sys.argv[1] + ":latest").download(root=sys.argv[2])
print(json.dumps({"wall": time.perf_counter() - t}))
"""


class CairnPy(Cairn):
    """The Python package (crates/cairn-py, installed in the peers venv) on the same registry
    setup as the CLI: the same SDK underneath, so the difference is the binding."""
    name = "Cairn-py"

    def __init__(self, binary, bindir):
        super().__init__(binary)
        self.python = str(bindir / "python")

    def _python(self, script, *args):
        env = dict(self.env, CAIRN_SILENT="1")
        r = run([self.python, "-c", script, *map(str, args)], env=env)
        answer = json.loads([l for l in r["out"].splitlines() if l.startswith("{")][-1])
        return answer | {"rss_mib": r["rss_mib"]}

    def push(self, data, key):
        return self._python(CAIRN_PY_PUSH, f"ds-{key}", data)

    def download(self, key, dest):
        return self._python(CAIRN_PY_GET, f"ds-{key}", dest)


class Dvc(Tool):
    name = "DVC"

    def __init__(self, bindir):
        self.dvc = str(bindir / "dvc")

    def setup(self, work):
        self.repo = work / "dvc-repo"
        self.remote = work / "dvc-remote"
        self.repo.mkdir()
        self.remote.mkdir()
        for args in (["init", "--no-scm", "-q"], ["remote", "add", "-d", "store", str(self.remote)],
                     ["config", "core.analytics", "false"], ["config", "cache.type", "hardlink,copy"]):
            run([self.dvc, *args], cwd=self.repo)

    def sent(self):
        return dir_bytes(self.remote)

    def push(self, data, key):
        a = run([self.dvc, "add", "-q", str(data)], cwd=self.repo)
        b = run([self.dvc, "push", "-q"], cwd=self.repo)
        return {"wall": a["wall"] + b["wall"], "rss_mib": max(a["rss_mib"], b["rss_mib"])}

    def download(self, key, dest):
        # a fresh checkout: no cache, no workspace copy; everything comes from the remote
        shutil.rmtree(self.repo / ".dvc" / "cache", ignore_errors=True)
        target = self.repo / "data"
        shutil.rmtree(target, ignore_errors=True)
        return run([self.dvc, "pull", "-q"], cwd=self.repo)


MLFLOW_PUSH = """
import json, sys, time, mlflow
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("bench")
with mlflow.start_run() as r:
    t = time.perf_counter()
    mlflow.log_artifacts(sys.argv[2], artifact_path="data")
    print(json.dumps({"wall": time.perf_counter() - t, "run": r.info.run_id}))
"""
MLFLOW_GET = """
import json, sys, time, mlflow
mlflow.set_tracking_uri(sys.argv[1])
t = time.perf_counter()
mlflow.artifacts.download_artifacts(run_id=sys.argv[2], artifact_path="data", dst_path=sys.argv[3])
print(json.dumps({"wall": time.perf_counter() - t}))
"""


class MLflow(Tool):
    name = "MLflow"

    def __init__(self, bindir):
        self.bindir = bindir

    def setup(self, work):
        port = free_port()
        self.uri = f"http://127.0.0.1:{port}"
        self.server = subprocess.Popen(
            [str(self.bindir / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
             "--backend-store-uri", f"sqlite:///{work}/mlflow.db",
             "--artifacts-destination", str(work / "mlartifacts"), "--workers", "2"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work)
        wait_http(f"{self.uri}/health", self.server)

    def _python(self, script, *args):
        r = run([str(self.bindir / "python"), "-c", script, *map(str, args)])
        answer = json.loads([l for l in r["out"].splitlines() if l.startswith("{")][-1])
        return answer | {"rss_mib": r["rss_mib"]}

    def push(self, data, key):
        r = self._python(MLFLOW_PUSH, self.uri, data)
        self.last_run = r["run"]
        return r

    def download(self, key, dest):
        return self._python(MLFLOW_GET, self.uri, self.last_run, dest)

    def teardown(self):
        self.server.terminate()
        self.server.wait()


OXEN_PUSH = """
import json, sys, time
import oxen
from oxen import Repo
if not oxen.is_configured():
    oxen.user.config_user("bench", "bench@example.invalid")
repo = Repo(sys.argv[1])
if sys.argv[3] == "init":
    repo.init()
t = time.perf_counter()
repo.add(sys.argv[2])
try:
    repo.commit(sys.argv[4])
except ValueError as e:  # a push with nothing changed: Oxen refuses the empty commit
    if "No changes" not in str(e):
        raise
print(json.dumps({"wall": time.perf_counter() - t}))
"""


class Oxen(Tool):
    name = "Oxen"

    def __init__(self, bindir):
        self.python = str(bindir / "python")
        self.n = 0

    def setup(self, work):
        self.repo = work / "oxen-repo"
        self.repo.mkdir()

    def sent(self):
        return dir_bytes(self.repo / ".oxen")

    def push(self, data, key):
        self.n += 1
        r = run([self.python, "-c", OXEN_PUSH, str(self.repo), str(data),
                 "init" if self.n == 1 else "-", f"push {self.n}"], cwd=self.repo)
        answer = json.loads([l for l in r["out"].splitlines() if l.startswith("{")][-1])
        return answer | {"rss_mib": r["rss_mib"]}

    def download(self, key, dest):
        return None


def openssl_bound(data):
    cmd = f"find '{data}' -type f -print0 | xargs -0 -n 1000 openssl dgst -sha256 >/dev/null"
    return run(["bash", "-c", cmd])


def bench_tool(tool, key, master, work):
    """The four operations of `tool` on dataset `key`; each: wall, rss_mib, sent."""
    base = work / f"{tool.name.lower()}-{key}"
    base.mkdir()
    # the previous tool's writes reach the disk first: no tool pays for another's writeback
    subprocess.run(["sync"], check=True)
    tool.setup(base)
    # the tool's own copy of the dataset (hard links: no extra disk; edits replace files)
    where = getattr(tool, "repo", base)
    data = where / "data"
    subprocess.run(["cp", "-al", str(master), str(data)], check=True)
    results = {}
    try:
        for op in OPS:
            if op == "edit push":
                changed = edit(data, key)
            before = tool.sent()
            try:
                if op == "download":
                    r = tool.download(key, base / "download")
                    if r is None:
                        results[op] = None
                        continue
                else:
                    r = tool.push(data, key)
            except Timeout:
                results[op] = {"wall": None, "timeout": LIMIT, "rss_mib": 0, "sent": 0}
                print(f"  {tool.name:7} {key} {op:15} stopped after {LIMIT} s", file=sys.stderr, flush=True)
                continue
            r["sent"] = tool.sent() - before
            if hasattr(tool, "store"):
                r["store_objects"], r["store_bytes"] = tool.store()
            r.pop("out", None)
            r.pop("run", None)
            results[op] = r
            print(f"  {tool.name:7} {key} {op:15} {r['wall']:8.2f} s  {r['rss_mib']:7.0f} MiB  "
                  f"{r['sent'] / MIB:10.1f} MiB", file=sys.stderr, flush=True)
        results["changed_bytes"] = changed
    finally:
        tool.teardown()
        shutil.rmtree(base, ignore_errors=True)
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cairn")
    ap.add_argument("work")
    ap.add_argument("--peers", default=str(Path(sys.executable).parent))
    ap.add_argument("--datasets", default="A,B,C")
    ap.add_argument("--tools", default="Cairn,Cairn-py,DVC,MLflow,Oxen")
    ap.add_argument("--json", default=None)
    ap.add_argument("--quick", action="store_true", help="tiny datasets: check the harness")
    ap.add_argument("--baseline", default=None, help="an earlier cairn binary (tool Cairn-base)")
    args = ap.parse_args()
    if args.quick:
        DATASETS.update(A=("200 × 4 KiB", 200, 4 * KIB), B=("20 × 1 MiB", 20, MIB),
                        C=("1 × 16 MiB", 1, 16 * MIB))
    work = Path(args.work)
    bindir = Path(args.peers)
    make = {"Cairn": lambda: Cairn(args.cairn), "Cairn-base": lambda: CairnBase(args.baseline), "Cairn-py": lambda: CairnPy(args.cairn, bindir),
            "DVC": lambda: Dvc(bindir),
            "MLflow": lambda: MLflow(bindir), "Oxen": lambda: Oxen(bindir)}
    results = {}
    for key in args.datasets.split(","):
        master = work / f"master-{key}"
        print(f"dataset {key}: {DATASETS[key][0]}", file=sys.stderr, flush=True)
        generate(master, key)
        results[key] = {"openssl": openssl_bound(master) | {"sent": 0}}
        results[key]["openssl"].pop("out", None)
        for name in args.tools.split(","):
            results[key][name] = bench_tool(make[name](), key, master, work)
        shutil.rmtree(master)
    out = json.dumps(results, indent=1)
    if args.json:
        Path(args.json).write_text(out)
    print(out)


if __name__ == "__main__":
    main()
