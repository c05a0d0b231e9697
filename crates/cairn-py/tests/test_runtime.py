"""The package's promises beyond the API: the GIL is released while Rust works, and the type
stubs list exactly what the extension module defines."""

import ast
import faulthandler
import hashlib
import os
import pathlib
import threading

import cairn
import cairn._cairn
from conftest import write


def hash_while_another_thread_writes(call, fifo):
    """Run `call` (which reads the named pipe `fifo` to its end) while a Python thread writes
    it: this finishes only if `call` releases the GIL. If it does not, the two deadlock and
    faulthandler (a C thread, no GIL needed) ends the process after 120 s instead of hanging."""
    os.mkfifo(fifo)
    payload = b"\x01" * (8 << 20)

    def writer():
        with open(fifo, "wb") as f:  # blocks until the Rust side opens the pipe to read
            f.write(payload)  # needs the GIL between the two syscalls

    thread = threading.Thread(target=writer)
    thread.start()
    faulthandler.dump_traceback_later(120, exit=True)
    try:
        call()
    finally:
        faulthandler.cancel_dump_traceback_later()
        thread.join()
    return "sha256:" + hashlib.sha256(payload).hexdigest()


def test_hashing_releases_the_gil(project, tmp_path):
    a = cairn.Artifact("piped", "dataset")
    fifo = tmp_path / "pipe"
    digest = hash_while_another_thread_writes(lambda: a.add_file(fifo), fifo)
    assert a.get_entry("pipe").digest == digest


def test_async_calls_release_the_gil(project, tmp_path):
    a = cairn.Artifact("piped", "dataset")
    fifo = tmp_path / "pipe"
    digest = hash_while_another_thread_writes(
        lambda: a.add_reference(f"file://{fifo}", name="ref"), fifo
    )
    assert a.get_entry("ref").ref == f"file://{fifo}"
    assert a.get_entry("ref").digest == digest


def test_stubs_match_the_extension_module():
    stub = pathlib.Path(cairn.__file__).with_name("_cairn.pyi")
    tree = ast.parse(stub.read_text())
    declared = {
        node.name
        for node in tree.body
        if isinstance(node, (ast.ClassDef, ast.FunctionDef))
    }
    exported = {n for n in dir(cairn._cairn) if not n.startswith("_")}
    assert declared == exported
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            cls = getattr(cairn._cairn, node.name)
            stubbed = {
                m.name
                for m in node.body
                if isinstance(m, ast.FunctionDef) and not m.name.startswith("_")
            }
            real = {
                n for n in vars(cls) if not n.startswith("_")
            }
            if issubclass(cls, BaseException):
                continue
            assert stubbed == real, node.name
