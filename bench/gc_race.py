"""The garbage-collection race of issue 21, reproduced with real processes: a release `cairn
serve` (SQLite + local disk), `cairn gc --grace 0s` run back to back as separate processes, and
CLIENTS threads that PUT blobs the collections are freeing and commit a one-file version of each
(uploading again on 409, waiting on 503). Afterwards every acknowledged version is downloaded
and compared. Prints one JSON line; exits 1 if any acknowledged version lost its bytes.

Usage: python3 bench/gc_race.py CAIRN_BINARY WORKDIR [--blobs 4000] [--clients 4] [--seconds 20]
       [--database-url postgres://… --blob-store s3://bucket/prefix]  (PostgreSQL + S3 instead)
"""

import argparse, hashlib, json, os, random, socket, subprocess, sys, threading, time
import urllib.request, urllib.error

TOKEN = "race"


def call(base, method, path, body=None, json_body=None):
    data, headers = body, {"Authorization": f"Bearer {TOKEN}"}
    if json_body is not None:
        data = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def put(base, content):
    d = "sha256:" + hashlib.sha256(content).hexdigest()
    while True:
        status, _ = call(base, "PUT", f"/api/v1/projects/race/p/blobs/{d}", body=content)
        if status in (200, 201):
            return d
        if status == 503:
            time.sleep(0.05)
            continue
        raise SystemExit(f"PUT {d}: {status}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cairn")
    ap.add_argument("work")
    ap.add_argument("--blobs", type=int, default=4000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--database-url", help="PostgreSQL instead of SQLite (with --blob-store)")
    ap.add_argument("--blob-store", help="s3://bucket/prefix instead of the data directory")
    a = ap.parse_args()
    data = os.path.join(a.work, "data")
    storage = ["--data-dir", data]
    if a.database_url:
        storage += ["--database-url", a.database_url, "--blob-store", a.blob_store]
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, CAIRN_ADMIN_TOKEN=TOKEN, RUST_LOG="error")
    serve = subprocess.Popen([a.cairn, "serve", "--addr", f"127.0.0.1:{port}", *storage,
                              "--web-dir", "/nonexistent"], env=env, stdout=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/api/v1/health", timeout=1); break
            except Exception:
                time.sleep(0.05)
        rng = random.Random(1)
        contents = [rng.randbytes(1024) for _ in range(a.blobs)]
        threads = [threading.Thread(target=lambda part: [put(base, c) for c in part],
                                    args=(contents[i::8],)) for i in range(8)]
        [t.start() for t in threads]; [t.join() for t in threads]
        time.sleep(0.1)
        stop = threading.Event()
        runs = [0]

        def collector():
            while not stop.is_set():
                subprocess.run([a.cairn, "gc", "--grace", "0s", *storage], env=env,
                               check=True, stdout=subprocess.DEVNULL)
                runs[0] += 1

        acked, lock = [], threading.Lock()

        def client(c):
            r = random.Random(100 + c)
            deadline = time.time() + a.seconds
            while time.time() < deadline:
                content = r.choice(contents)
                while True:
                    d = put(base, content)
                    body = {"type": "dataset", "manifest": {"version": 1, "contents": {
                        "f": {"digest": d, "size": len(content)}}}}
                    status, out = call(base, "POST", f"/api/v1/projects/race/p/artifacts/c{c}/versions",
                                       json_body=body)
                    if status in (200, 201):
                        with lock:
                            acked.append((f"c{c}", json.loads(out)["version"], content))
                        break
                    if status != 409:
                        raise SystemExit(f"commit: {status} {out[:200]}")

        gc = threading.Thread(target=collector); gc.start()
        clients = [threading.Thread(target=client, args=(c,)) for c in range(a.clients)]
        [t.start() for t in clients]; [t.join() for t in clients]
        stop.set(); gc.join()
        broken = 0
        for name, version, content in acked:
            status, body = call(base, "GET", f"/api/v1/projects/race/p/artifacts/{name}/versions/{version}/files/f")
            broken += status != 200 or body != content
        print(json.dumps({"acknowledged": len(acked), "broken": broken, "collections": runs[0]}))
        sys.exit(1 if broken else 0)
    finally:
        serve.terminate(); serve.wait()


main()
