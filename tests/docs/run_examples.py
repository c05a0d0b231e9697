"""Every example of the README and docs/ is executed: each ```sh and ```python block, in the
order of its file, against a real `cairn serve` (SQLite + a temporary directory), in one
working directory per file so a later block sees what an earlier one made. A block that is not
meant to run says so in its info string (```sh no-run): whole-machine commands, cloud
settings, HTML. An HTML comment `<!-- run-before: COMMAND -->` on the line before a block runs
COMMAND first (files an example assumes a reader has). In `export` lines, an assignment whose
value holds "…" (a placeholder for the reader's own token) keeps the value the harness set,
and the README's address `http://127.0.0.1:8080` stands for the registry the harness started. Python blocks run in the virtualenv that has what they import (`cairn`:
target/python from scripts/test-python; `wandb`: scripts/wandb-venv).

Usage: python3 tests/docs/run_examples.py [FILE.md …]   (default: README.md and docs/, the guide)
Exit 1 naming each failing block (file, line, its output)."""

import os
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from registry import start  # noqa: E402
TOKEN = "cairn_" + "d0c5" * 16
BLOCK = re.compile(r"(?:<!-- run-before: (.*?) -->\n)?```(\w+)([^\n]*)\n(.*?)```", re.S)


def blocks(md):
    text = md.read_text(encoding="utf-8")
    for m in BLOCK.finditer(text):
        before, lang, info, body = m.groups()
        line = text[: m.start(2)].count("\n") + 1
        runs = lang in ("sh", "python") and "no-run" not in info.split()
        yield line, lang, body, before, runs


def placeholders(body, url):
    """`export A=… B=x` keeps the harness's A: drop assignments to placeholders; the README's
    address is the harness's registry."""
    body = body.replace("http://127.0.0.1:8080", url)
    out = []
    for line in body.splitlines():
        if line.lstrip().startswith("export ") and "…" in line:
            code, _, comment = line.partition("#")
            words = shlex.split(code)[1:]
            kept = [w for w in words if "…" not in w]
            line = ("export " + " ".join(shlex.quote(w) for w in kept)) if kept else ":"
        out.append(line)
    return "\n".join(out) + "\n"


def python_for(body):
    if re.search(r"^\s*import wandb", body, re.M):
        py = subprocess.run([str(ROOT / "scripts" / "wandb-venv")], capture_output=True,
                            text=True, check=True).stdout.strip()
        return py
    if re.search(r"^\s*import cairn", body, re.M):
        return str(ROOT / "target" / "python" / "bin" / "python")
    return sys.executable


def serve(binary, data):
    return start(binary, ["--data-dir", str(data)],
                 dict(os.environ, CAIRN_ADMIN_TOKEN=TOKEN, RUST_LOG="error"))


def main():
    files = [pathlib.Path(a).resolve() for a in sys.argv[1:]] or (
        [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md")))
    binary = os.environ.get("CAIRN_BIN") or str(ROOT / "target" / "debug" / "cairn")
    failures, ran, skipped = [], 0, 0
    with tempfile.TemporaryDirectory(prefix="cairn-docs-") as tmp:
        tmp = pathlib.Path(tmp)
        proc, url = serve(binary, tmp / "registry")
        try:
            for md in files:
                work = tmp / (str(md.relative_to(ROOT)) if md.is_relative_to(ROOT) else md.name).replace("/", "_")
                work.mkdir()
                env = dict(
                    os.environ,
                    PATH=f"{pathlib.Path(binary).parent}:{os.environ['PATH']}",
                    CAIRN_HOST=url, CAIRN_TOKEN=TOKEN, CAIRN_CONFIG=str(work / ".cairn.json"),
                    # the registry's own data dir (`cairn backup` examples)
                    CAIRN_DATA_DIR=str(tmp / "registry"),
                    CAIRN_SILENT="1", CAIRN_STAT_CACHE=str(work / ".stat-cache"),
                    WANDB_BASE_URL=url, WANDB_API_KEY=TOKEN, WANDB_SILENT="true",
                    WANDB_DIR=str(work), WANDB_CACHE_DIR=str(work / ".wandb-cache"),
                    WANDB_CONFIG_DIR=str(work / ".wandb-config"), WANDB_CONSOLE="off",
                )
                shell_env = work / ".env"
                for line, lang, body, before, runs in blocks(md):
                    if not runs:
                        skipped += 1
                        continue
                    ran += 1
                    name = f"{md.relative_to(ROOT) if md.is_relative_to(ROOT) else md}:{line}"
                    # sh blocks share exported variables: each block saves its environment
                    prelude = f"set -euo pipefail\n[ -f {shell_env} ] && . {shell_env}\n"
                    if before:
                        prelude += before + "\n"
                    if lang == "sh":
                        script = prelude + placeholders(body, url) + f"export -p > {shell_env}\n"
                        cmd = ["bash", "-c", script]
                    else:
                        # the block's Python, with the shell's exports applied first
                        script = prelude + f'exec {shlex.quote(python_for(body))} - <<"__CAIRN_DOC__"\n{body}__CAIRN_DOC__\n'
                        cmd = ["bash", "-c", script]
                    r = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True,
                                       timeout=600)
                    print(f"{'ok' if r.returncode == 0 else 'FAILED'}: {name} ({lang})")
                    if r.returncode != 0:
                        failures.append(f"{name} ({lang}) exited {r.returncode}:\n"
                                        f"{r.stdout[-2000:]}{r.stderr[-3000:]}")
        finally:
            proc.terminate()
            proc.wait()
    for f in failures:
        print(f"FAILED {f}\n")
    print(f"examples: {ran} run, {skipped} not run (marked no-run, or not sh or python), "
          f"{len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
