"""Errors are Python exceptions carrying the Rust SDK's messages."""

import pytest

import cairn
from conftest import write


def test_bad_names_and_paths_are_value_errors(project):
    with pytest.raises(ValueError, match="invalid artifact name 'bad name!'"):
        cairn.Artifact("bad name!", "dataset")
    a = cairn.Artifact("ok", "dataset")
    write("f.txt", "x")
    with pytest.raises(ValueError, match="invalid artifact path"):
        a.add_file("f.txt", name="../escape.txt")
    with pytest.raises(ValueError, match="invalid alias"):
        a.aliases = ["v3"]


def test_removing_nothing_and_missing_files_are_file_not_found(project):
    a = cairn.Artifact("ok", "dataset")
    with pytest.raises(FileNotFoundError, match="no such file or directory: nothing"):
        a.remove("nothing")
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        a.add_file("missing.txt")
    with pytest.raises(NotADirectoryError):
        write("plain.txt", "x")
        a.add_dir("plain.txt")


def test_adding_the_same_path_with_other_content_fails_unless_overwrite(project):
    write("one/f.txt", "1")
    write("two/f.txt", "2")
    a = cairn.Artifact("ok", "dataset")
    a.add_file("one/f.txt")
    a.add_file("one/f.txt")  # same content: no-op
    with pytest.raises(ValueError, match="cannot add the same path twice: 'f.txt'"):
        a.add_file("two/f.txt")
    a.add_file("two/f.txt", overwrite=True)
    assert a.file_count == 1


def test_the_registry_refusing_is_a_comm_error_with_the_status(project):
    with pytest.raises(cairn.CommError) as missing:
        cairn.Api().artifact("nothing:latest")
    assert missing.value.status == 404
    assert not cairn.Api().artifact_exists("nothing:latest")


def test_a_wrong_token_is_refused(project, monkeypatch):
    monkeypatch.setenv("CAIRN_TOKEN", "not-a-token")
    with pytest.raises(cairn.CommError) as refused:
        cairn.init()
    assert refused.value.status == 401


def test_no_token_is_a_usage_error(project, monkeypatch):
    monkeypatch.delenv("CAIRN_TOKEN")
    with pytest.raises(cairn.UsageError, match="no token"):
        cairn.Api()


def test_logged_and_fetched_artifacts_do_not_change(project):
    write("f.txt", "x")
    a = cairn.Artifact("frozen", "dataset")
    a.add_file("f.txt")
    a.save()
    with pytest.raises(cairn.ArtifactFinalizedError, match="use new_draft"):
        a.add_file("f.txt", name="g.txt")
    fetched = cairn.Api().artifact("frozen:v0")
    with pytest.raises(cairn.ArtifactFinalizedError):
        fetched.remove("f.txt")
    with pytest.raises(cairn.ArtifactFinalizedError):
        fetched.add_file("f.txt", name="h.txt")
    # its description and metadata may change (save() sets them): see test_workflows
    assert a.new_draft().file_count == 1  # a logged artifact can still start a draft


def test_a_finished_run_cannot_log(project):
    with cairn.init() as run:
        pass
    with pytest.raises(cairn.UsageError, match="has finished"):
        run.log_artifact(cairn.Artifact("late", "dataset"))


def test_use_artifact_checks_the_type(project):
    write("f.txt", "x")
    a = cairn.Artifact("typed", "dataset")
    a.add_file("f.txt")
    a.save()
    with pytest.raises(ValueError, match="has type 'dataset', not 'model'"):
        cairn.Api().artifact("typed:latest", type="model")


def test_links_special_files_and_clashes_are_named(project):
    """A folder's links to folders and its FIFOs are skipped with a warning each; a download
    never writes through a link in its root, and says which path and why."""
    import os

    write("data/d/real.txt", "real")
    write("outside.txt", "linked content")
    os.symlink("..", "data/d/up")
    os.symlink(os.path.abspath("outside.txt"), "data/l.txt")
    os.mkfifo("data/pipe")
    write("data/CON.txt", "windows has a device by that name")
    a = cairn.Artifact("links", "dataset")
    with pytest.warns(UserWarning) as caught:
        a.add_dir("data")
    assert sorted(str(w.message) for w in caught) == [
        "skipped d/up: a link to a folder, not followed",
        "skipped pipe: not a regular file (a FIFO, socket or device)",
    ]
    assert a.file_count == 3
    # the registry commits it, and warns about the name
    with cairn.init() as run:
        with pytest.warns(UserWarning, match="CON.txt: 'CON.txt' is reserved on Windows"):
            run.log_artifact(a)
    os.makedirs("root")
    os.makedirs("elsewhere")
    os.symlink(os.path.abspath("elsewhere"), "root/d")
    with pytest.raises(FileExistsError, match="d is a symbolic link .* refusing to write through it"):
        cairn.Api().artifact("links:latest").download("root")
    assert os.listdir("elsewhere") == []
    assert os.listdir("root") == ["d"]
