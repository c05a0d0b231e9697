"""Every example of docs/workflow.md, in Python with `import cairn` where W&B has
`import wandb`, against a real registry."""

import threading
import urllib.request

import pytest

import cairn
from conftest import digests, sha, write


# 1. A new version from a single run

def test_single_run_inside_a_run_creates_v0_then_only_changed_content_makes_v1(project):
    write("image1.png", "pixels")
    with cairn.init() as run:
        artifact = cairn.Artifact("artifact_name", "artifact_type")
        artifact.add_file("image1.png")
        run.log_artifact(artifact)
    assert artifact.version == "v0"
    assert artifact.name == "artifact_name:v0"
    assert artifact.state == "COMMITTED"
    assert "latest" in artifact.aliases
    assert digests(artifact) == {"image1.png": sha("pixels")}

    with cairn.init() as run:  # logging the same content again makes no version
        again = cairn.Artifact("artifact_name", "artifact_type")
        again.add_file("image1.png")
        run.log_artifact(again)
    assert again.version == "v0"
    assert again.digest == artifact.digest

    write("image1.png", "new pixels")
    with cairn.init() as run:
        changed = cairn.Artifact("artifact_name", "artifact_type")
        changed.add_file("image1.png")
        run.log_artifact(changed, aliases=["best"])
    assert changed.version == "v1"
    fetched = cairn.Api().artifact(f"team/{project}/artifact_name:best")
    assert fetched.version == "v1"
    assert sorted(fetched.aliases) == ["best", "latest"]
    assert digests(fetched) == {"image1.png": sha("new pixels")}
    assert fetched.logged_by() == run.id


def test_single_run_outside_a_run_with_save(project):
    write("image1.png", "pixels")
    artifact = cairn.Artifact("artifact_name", "artifact_type", description="raw", metadata={"n": 1})
    artifact.add_file("image1.png")
    artifact.save()
    assert artifact.version == "v0"
    fetched = cairn.Api().artifact("artifact_name:latest")
    assert fetched.version == "v0"
    assert fetched.description == "raw"
    assert fetched.metadata == {"n": 1}
    assert fetched.logged_by() is None
    assert digests(fetched) == {"image1.png": sha("pixels")}
    # a link needs no token: fetched with nothing but the URL
    url = fetched.link("image1.png")
    with urllib.request.urlopen(url) as res:
        assert res.read() == b"pixels"
    with pytest.raises(cairn.CommError, match="no file 'nope.png' in version v0"):
        fetched.link("nope.png")


def test_save_inside_a_run_is_logged_by_it(project):
    write("image1.png", "pixels")
    with cairn.init(job_type="preprocess") as run:
        assert cairn.run is run
        artifact = cairn.Artifact("artifact_name", "artifact_type")
        artifact.add_file("image1.png")
        artifact.save()
    assert cairn.run is None
    assert cairn.Api().artifact("artifact_name:v0").logged_by() == run.id


# 2. A new version from distributed runs

def test_three_distributed_runs_make_one_version_with_every_file(project):
    for i in (1, 2, 3):
        write(f"image{i}.png", f"pixels {i}")

    def contribute(path):
        with cairn.init() as run:
            a = cairn.Artifact("artifact_name", "t")
            a.add_file(path)
            run.upsert_artifact(a, distributed_id="my_dist_artifact")
        assert a.version is None and a.state == "PENDING"

    # runs 1 and 2 in parallel: the SDK releases the GIL while it works
    workers = [threading.Thread(target=contribute, args=(f"image{i}.png",)) for i in (1, 2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not cairn.Api().artifact_exists("artifact_name:latest")

    with cairn.init() as run:  # run 3, after runs 1 and 2 are done
        a = cairn.Artifact("artifact_name", "t")
        a.add_file("image3.png")
        run.finish_artifact(a, distributed_id="my_dist_artifact")
    assert a.version == "v0"
    assert digests(cairn.Api().artifact("artifact_name:latest")) == {
        f"image{i}.png": sha(f"pixels {i}") for i in (1, 2, 3)
    }


def test_distributed_id_defaults_to_the_group(project):
    write("a.txt", "a")
    with cairn.init(group="nightly") as run:
        part = cairn.Artifact("shards", "t")
        part.add_file("a.txt")
        run.upsert_artifact(part)
    with cairn.init(group="nightly") as run:
        done = run.finish_artifact(cairn.Artifact("shards", "t"))
    assert done.version == "v0"
    assert list(done.manifest) == ["a.txt"]


# 3. A new version from an existing version (incremental)

def base_version():
    write("data/keep.txt", "keep")
    write("data/modified_file.txt", "old")
    write("data/dir_to_remove/a.txt", "a")
    write("data/dir_to_remove/b.txt", "b")
    base = cairn.Artifact("my_artifact", "dataset")
    base.add_dir("data")
    base.save()
    write("file_to_add.txt", "added")
    write("modified_file.txt", "new")
    return base


def expected_after_edit():
    return {
        "file_to_add.txt": sha("added"),
        "keep.txt": sha("keep"),
        "modified_file.txt": sha("new"),
    }


def test_incremental_inside_a_run(project):
    base = base_version()
    with cairn.init(job_type="modify dataset") as run:
        saved = run.use_artifact("my_artifact:latest")
        draft = saved.new_draft()
        draft.add_file("file_to_add.txt")
        draft.remove("dir_to_remove/")
        draft.remove("modified_file.txt")
        draft.add_file("modified_file.txt")
        run.log_artifact(draft)
    assert draft.version == "v1"
    v1 = cairn.Api().artifact("my_artifact:latest")
    assert digests(v1) == expected_after_edit()
    assert v1.get_entry("keep.txt") == base.get_entry("keep.txt")
    assert saved.used_by() == [run.id]
    assert v1.logged_by() == run.id


def test_incremental_outside_a_run(project):
    base_version()
    saved = cairn.Api().artifact(f"team/{project}/my_artifact:latest")
    draft = saved.new_draft()
    draft.add_file("file_to_add.txt")
    draft.remove("dir_to_remove/")
    draft.remove("modified_file.txt")
    draft.add_file("modified_file.txt")
    draft.save()
    assert draft.version == "v1"
    assert digests(cairn.Api().artifact("my_artifact:v1")) == expected_after_edit()
    assert saved.version == "v0"  # the base is untouched
    assert len(saved.manifest) == 4


def test_a_draft_with_nothing_changed_is_the_same_version(project):
    base_version()
    draft = cairn.Api().artifact("my_artifact:latest").new_draft()
    draft.save()
    assert draft.version == "v0"


# dedup of unchanged content

def test_identical_content_is_stored_once(project, registry):
    blobs = registry["data"]
    payload = b"the same bytes" * 1000
    write("x/one.bin", payload)
    write("y/two.bin", payload)
    first = cairn.Artifact("first", "t")
    first.add_file("x/one.bin")
    first.save()
    second = cairn.Artifact("second", "t")
    second.add_file("y/two.bin")
    second.add_file("x/one.bin", name="copy.bin")
    second.save()
    assert first.get_entry("one.bin").digest == second.get_entry("two.bin").digest
    # sent once, as chunks in one pack of this project (docs/chunking.md)
    packs = [p for p in (blobs / "blobs" / "packs" / "team" / project).rglob("*") if p.is_file()]
    assert len(packs) == 1, packs
    assert len(payload) < packs[0].stat().st_size < 2 * len(payload)


# 4. Using versions

def test_use_download_and_verify(project, tmp_path):
    write("data/a.txt", "alpha")
    write("data/sub/b.txt", "beta")
    with cairn.init() as run:
        a = cairn.Artifact("images", "dataset")
        a.add_dir("data")
        run.log_artifact(a, aliases=["best"])
    with cairn.init() as run:
        used = run.use_artifact("images:best", type="dataset")
        root = used.download()
    assert root == "artifacts/images:v0"
    assert open(f"{root}/sub/b.txt").read() == "beta"
    used.verify()
    assert used.used_by() == [run.id]

    elsewhere = cairn.Api().artifact(f"team/{project}/images:v0")
    target = tmp_path / "copy"
    assert elsewhere.download(root=target) == str(target)
    elsewhere.verify(root=target)
    (target / "a.txt").write_text("tampered")
    (target / "stray.txt").write_text("?")
    try:
        elsewhere.verify(root=target)
        raise AssertionError("verify passed on a tampered copy")
    except ValueError as e:
        assert "different content: a.txt" in str(e)
        assert "not in the manifest: stray.txt" in str(e)
    elsewhere.download(root=target)  # repairs a.txt
    (target / "stray.txt").unlink()
    elsewhere.verify(root=target)


def test_moving_aliases_on_a_fetched_version(project):
    write("a.txt", "a")
    for content in ("a", "b"):
        write("a.txt", content)
        x = cairn.Artifact("model", "model")
        x.add_file("a.txt")
        x.save()
    v0 = cairn.Api().artifact("model:v0")
    v0.aliases = v0.aliases + ["production"]
    v0.save()
    assert cairn.Api().artifact("model:production").version == "v0"


def test_editing_the_description_and_metadata_of_a_fetched_version(project):
    write("a.txt", "a")
    x = cairn.Artifact("notes", "dataset", description="first", metadata={"k": 1})
    x.add_file("a.txt")
    x.save()
    v0 = cairn.Api().artifact("notes:v0")
    v0.description = "**better**"
    v0.metadata = {"accuracy": 0.5, "nested": {"a": [1, 2]}}
    assert v0.description == "**better**"  # what save() will set
    v0.save()
    again = cairn.Api().artifact("notes:latest")
    assert again.version == "v0"  # the contents did not change: no new version
    assert again.description == "**better**"
    assert again.metadata == {"accuracy": 0.5, "nested": {"a": [1, 2]}}
    assert again.digest == v0.digest
    # a logged artifact still refuses: its version is the registry's
    with pytest.raises(cairn.ArtifactFinalizedError):
        x.description = "no"
