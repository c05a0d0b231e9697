"""Benchmark (issue 19): the real `wandb` SDK against Cairn, with Cairn's own CLI on the same
data and the same registry as the baseline. Steps: a first upload (2,000 files of 16 KiB and
one of 256 MiB), the same content again (dedup), a one-file change, a download to an empty
folder. Prints a Markdown table of wall times (median of --repeat runs, each step in a fresh
project). Usage: python3 bench/wandb.py CAIRN_BIN WANDB_PYTHON [--repeat N]"""

import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from registry import start  # noqa: E402  (tests/registry.py)

TOKEN = "cairn_" + "5" * 64

WANDB_STEP = r'''
import sys, time, wandb
step, project, src, out = sys.argv[1:5]
t0 = time.perf_counter()
if step == "download":
    a = wandb.Api().artifact(f"team/{project}/data:latest")
    a.download(root=out)
else:
    with wandb.init(project=project, entity="team") as run:
        t0 = time.perf_counter()
        if step == "edit":
            draft = run.use_artifact("data:latest").new_draft()
            draft.remove("small/f00000.bin")
            draft.add_file(src + "/small/f00000.bin", name="small/f00000.bin")
            a = draft
        else:
            a = wandb.Artifact("data", type="dataset")
            a.add_dir(src)
        run.log_artifact(a)
        a.wait()
print(time.perf_counter() - t0)
'''


def serve(binary, data):
    return start(binary, ["--data-dir", str(data)],
                 dict(os.environ, CAIRN_ADMIN_TOKEN=TOKEN, RUST_LOG="error"))


def cpu(pid):
    """CPU seconds (user + system) the process used so far."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_data(root):
    small = root / "small"
    small.mkdir(parents=True)
    for i in range(2000):
        (small / f"f{i:05}.bin").write_bytes(os.urandom(16 * 1024))
    with open(root / "large.bin", "wb") as f:
        for _ in range(256):
            f.write(os.urandom(1 << 20))


def main():
    binary, wandb_python = sys.argv[1], sys.argv[2]
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
    work = pathlib.Path(tempfile.mkdtemp(prefix="bench-wandb-"))
    src = work / "src"
    make_data(src)
    step_py = work / "step.py"
    step_py.write_text(WANDB_STEP)
    proc, url = serve(binary, work / "registry")
    env = dict(os.environ, WANDB_BASE_URL=url, WANDB_API_KEY=TOKEN, WANDB_SILENT="true",
               WANDB_DIR=str(work), WANDB_CACHE_DIR=str(work / "wcache"),
               CAIRN_HOST=url, CAIRN_TOKEN=TOKEN, CAIRN_SILENT="1",
               CAIRN_CONFIG=str(work / "none.json"))
    times = {}
    try:
        for _ in range(repeat):
            project = "p" + uuid.uuid4().hex[:10]
            changed = work / "changed"
            shutil.rmtree(changed, ignore_errors=True)
            shutil.copytree(src, changed)
            (changed / "small" / "f00000.bin").write_bytes(os.urandom(16 * 1024))
            # wandb: a fresh cache each run, or its downloads are cache hits
            shutil.rmtree(work / "wcache", ignore_errors=True)
            for step, data in (("first", src), ("again", src), ("edit", changed), ("download", src)):
                if step == "download":
                    # wandb keeps what it uploaded in its cache: download with an empty one
                    shutil.rmtree(work / "wcache", ignore_errors=True)
                out = work / f"out-w-{project}-{step}"
                c0 = cpu(proc.pid)
                r = subprocess.run([wandb_python, str(step_py), step, project, str(data), str(out)],
                                   env=env, capture_output=True, text=True, check=True)
                times.setdefault(("wandb", step), []).append(float(r.stdout.split()[-1]))
                times.setdefault(("wandb-cpu", step), []).append(cpu(proc.pid) - c0)
            # another project (it holds none of wandb's blobs), a fresh stat cache
            name = f"team/{project}-native/native"
            env["CAIRN_STAT_CACHE"] = str(work / f"stat-{project}")
            for step, cmd in (
                ("first", ["put", "--name", name, "--type", "dataset", str(src)]),
                ("again", ["put", "--name", name, "--type", "dataset", str(src)]),
                ("edit", ["put", "--name", name, "--type", "dataset", str(changed)]),
                ("download", ["get", name, "--root", str(work / f"out-c-{project}")]),
            ):
                c0 = cpu(proc.pid)
                t0 = time.perf_counter()
                subprocess.run([binary, *cmd], env=env, capture_output=True, check=True)
                times.setdefault(("cairn", step), []).append(time.perf_counter() - t0)
                times.setdefault(("cairn-cpu", step), []).append(cpu(proc.pid) - c0)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    print("| step (2,000 × 16 KiB + 256 MiB) | `wandb` 0.31 → Cairn: wall | registry CPU "
          "| `cairn` CLI → Cairn: wall | registry CPU |")
    print("|---|---|---|---|---|")
    for step in ("first", "again", "edit", "download"):
        m = {k: statistics.median(times[(k, step)]) for k in ("wandb", "wandb-cpu", "cairn", "cairn-cpu")}
        print(f"| {step} | {m['wandb']:.2f} s | {m['wandb-cpu']:.2f} s "
              f"| {m['cairn']:.2f} s | {m['cairn-cpu']:.2f} s |")


if __name__ == "__main__":
    main()
