#!/usr/bin/env python3
"""Scale benchmark (issue 6) against a running `cairn serve`: commit of a 1,000,000-entry
manifest, fetching it, a one-entry patch on it, and a missing-check of 100,000 digests.
Reports the client's wall time, the server's own time (the `latency` tower-http logs for the
request: for the streamed manifest, the time to its first byte) and the server's peak anonymous
memory during the step (RssAnon, sampled every 5 ms; SQLite's mmap'd file pages are page cache,
not counted). Usage: scale.py URL TOKEN SERVER_PID SERVER_LOG LABEL [ENTRIES]"""
import concurrent.futures
import hashlib
import threading
import json
import re
import sys
import time
import urllib.request

url, token, pid, log, label = sys.argv[1:6]
N = int(sys.argv[6]) if len(sys.argv) > 6 else 1_000_000
P = f"{url}/api/v1/projects/bench/scale"


def request(method, path, body=None, ctype="application/json"):
    req = urllib.request.Request(P + path, data=body, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, timeout=600) as res:
        return res.status, res.read()


def kib(field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def server_ms():
    """The latency of the last request the server logged."""
    with open(log, errors="replace") as f:
        found = re.findall(r"latency=(\d+) ms", re.sub(r"\x1b\[[0-9;]*m", "", f.read()))
    return int(found[-1]) if found else -1


def step(name, fn):
    base = kib("RssAnon")
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], kib("RssAnon"))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    t0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    time.sleep(0.2)  # let the log line land
    print(f"| {label} | {name} | {wall:.2f} s | {server_ms()} ms | {peak[0] / 1024:.0f} MiB (+{(peak[0] - base) / 1024:.0f}) |", flush=True)
    return out


blobs = [f"blob {i}".encode() for i in range(10_000)]
digests = ["sha256:" + hashlib.sha256(b).hexdigest() for b in blobs]
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    list(pool.map(lambda i: request("PUT", f"/blobs/{digests[i]}", blobs[i], "application/octet-stream"), range(len(blobs))))

contents = {
    f"d{i // 1000:04d}/f{i:07d}.bin": {"digest": digests[i % len(blobs)], "size": len(blobs[i % len(blobs)])}
    for i in range(N)
}
body = json.dumps({"type": "dataset", "manifest": {"version": 1, "contents": contents}}).encode()
status, _ = step(f"commit {N:,} entries ({len(body) / 1e6:.0f} MB JSON)", lambda: request("POST", "/artifacts/big/versions", body))
assert status == 201, status
_, manifest = step(f"fetch the {N:,}-entry manifest", lambda: request("GET", "/artifacts/big/versions/v0/manifest"))
assert len(json.loads(manifest)["contents"]) == N
patch = json.dumps({"base": "v0", "patch": {"put": {"d0000/f0000000.bin": {"digest": digests[1], "size": len(blobs[1])}}, "remove": []}}).encode()
status, _ = step("1-entry patch on it", lambda: request("POST", "/artifacts/big/versions", patch))
assert status == 201, status

asked = [("sha256:" + hashlib.sha256(f"absent {i}".encode()).hexdigest()) if i % 10 else digests[i % len(blobs)] for i in range(100_000)]


def missing_check():
    missing = 0
    for i in range(0, len(asked), 10_000):
        _, out = request("POST", "/blobs/missing", json.dumps({"digests": asked[i:i + 10_000]}).encode())
        missing += len(json.loads(out)["missing"])
    return missing


missing = step("missing-check of 100,000 digests (10 requests)", missing_check)
assert missing == 90_000, missing
