#!/usr/bin/env python3
"""Commit memory benchmark (issue 24): for each registry binary and each manifest size, a fresh
`cairn serve` (SQLite + local disk) takes one full-manifest commit of N entries (keys in a
scrambled order, over 1,000 small blobs), while a thread asks /api/v1/health every 50 ms.
Reports the commit's wall time, the registry's peak resident memory (VmHWM of the fresh
process), its resident memory after the commit, and the slowest health answer during it.
Usage: commit_memory.py LABEL=BIN [LABEL=BIN …] -- N [N …]"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

split = sys.argv.index("--")
binaries = [a.split("=", 1) for a in sys.argv[1:split]]
sizes = [int(n) for n in sys.argv[split + 1:]]
TOKEN = "bench"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def request(url, method, path, body=None, ctype="application/json", timeout=1200):
    req = urllib.request.Request(url + path, data=body, method=method)
    req.add_header("Authorization", f"Bearer {TOKEN}")
    if body is not None:
        req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, timeout=timeout) as res:
        return res.status, res.read()


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


blobs = [f"blob {i}".encode() for i in range(1000)]
digests = ["sha256:" + hashlib.sha256(b).hexdigest() for b in blobs]


def body_of(n):
    """A commit of n entries, keys scrambled (i * 7919 mod n), built as bytes in pieces."""
    parts = [b'{"type":"dataset","manifest":{"version":1,"contents":{']
    for k in range(n):
        i = (k * 7919) % n
        sep = "," if k else ""
        parts.append(f'{sep}"d{i // 1000:05d}/f{i:08d}.bin":{{"digest":"{digests[i % 1000]}","size":{len(blobs[i % 1000])}}}'.encode())
    parts.append(b"}}}")
    return b"".join(parts)


print("| registry | entries | JSON | commit wall | peak RSS | RSS after | slowest health answer during it |")
print("|---|---:|---:|---:|---:|---:|---:|")
for n in sizes:
    body = body_of(n)
    for label, binary in binaries:
        work = tempfile.mkdtemp()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, CAIRN_ADMIN_TOKEN=TOKEN, CAIRN_TOKEN_RATE="0", CAIRN_TOKEN_UPLOADS="0", RUST_LOG="warn")
        server = subprocess.Popen([binary, "serve", "--addr", f"127.0.0.1:{port}", "--data-dir", f"{work}/data",
                                   "--max-json-body", "4GiB", "--max-manifest-entries", "100000000"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    request(url, "GET", "/api/v1/health")
                    break
                except OSError:
                    time.sleep(0.05)
            P = "/api/v1/projects/bench/mem"
            for b, d in zip(blobs, digests):
                request(url, "PUT", f"{P}/blobs/{d}", b, "application/octet-stream")
            slowest = [0.0]
            done = threading.Event()

            def probe():
                while not done.is_set():
                    t0 = time.perf_counter()
                    request(url, "GET", "/api/v1/health", timeout=60)
                    slowest[0] = max(slowest[0], time.perf_counter() - t0)
                    time.sleep(0.05)

            prober = threading.Thread(target=probe)
            prober.start()
            t0 = time.perf_counter()
            status, out = request(url, "POST", f"{P}/artifacts/big/versions", body)
            wall = time.perf_counter() - t0
            done.set()
            prober.join()
            assert status == 201, (status, out)
            peak = status_kib(server.pid, "VmHWM") / 1024
            after = status_kib(server.pid, "VmRSS") / 1024
            print(f"| {label} | {n:,} | {len(body) / 1e6:.0f} MB | {wall:.1f} s | {peak:.0f} MiB | {after:.0f} MiB | {slowest[0] * 1000:.0f} ms |", flush=True)
        finally:
            server.kill()
            server.wait()
            shutil.rmtree(work, ignore_errors=True)
