"""A real `cairn serve` on a free loopback port, for the Python test suites and benchmarks
(tests/wandb, tests/docs, bench/wandb.py): started, its address read from what it prints, its
output drained so it never blocks on a full pipe."""

import re
import subprocess
import threading


def start(binary, args, env, stderr=subprocess.DEVNULL):
    """`binary serve --addr 127.0.0.1:0 ARGS…`; the process and its `http://host:port`."""
    proc = subprocess.Popen(
        [binary, "serve", "--addr", "127.0.0.1:0", *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=env,
    )
    url = None
    for line in proc.stdout:
        found = re.search(r"Cairn is running at (http://[^/\s]+)/", line)
        if found:
            url = found.group(1)
            break
    if url is None:
        proc.kill()
        raise RuntimeError(f"{binary} serve did not start (exit {proc.wait()})")
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, url
