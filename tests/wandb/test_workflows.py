"""Every workflow of W&B's "Create an artifact version" page (shared/spec/workflow.md), written
with the real `wandb` SDK, against `cairn serve`; what it did is checked through Cairn's own API."""

import base64
import hashlib
import os
import pathlib

import wandb

from conftest import sha, write


def test_inside_a_run_then_dedup_then_a_change(project, native):
    write("ds/a.txt", "alpha\n")
    write("ds/sub/b.csv", "x,y\n1,2\n")
    with wandb.init(job_type="prep") as run:
        art = wandb.Artifact("data", type="dataset", description="first cut", metadata={"rows": 1})
        art.add_dir("ds")
        run.log_artifact(art, aliases=["best"])
        art.wait()
        assert art.version == "v0"
        run_id = run.id
    m = native.manifest("data")
    assert {p: e["digest"] for p, e in m.items()} == {
        "a.txt": sha("alpha\n"),
        "sub/b.csv": sha("x,y\n1,2\n"),
    }
    v = native.version("data")
    assert v["version"] == "v0" and set(v["aliases"]) == {"best", "latest"}
    assert v["description"] == "first cut" and v["metadata"] == {"rows": 1}
    assert v["type"] == "dataset" and v["logged_by"]
    run = native.get(f"/runs/{v['logged_by']}")
    assert run["name"] == run_id and run["job_type"] == "prep"

    # the same content again: no new version (checksum dedup)
    with wandb.init() as run:
        art = wandb.Artifact("data", type="dataset")
        art.add_dir("ds")
        run.log_artifact(art)
        art.wait()
        assert art.version == "v0"
    assert native.versions("data") == ["v0"]

    # changed content: v1
    write("ds/a.txt", "alpha, fixed\n")
    with wandb.init() as run:
        art = wandb.Artifact("data", type="dataset")
        art.add_dir("ds")
        run.log_artifact(art)
        art.wait()
        assert art.version == "v1"
    assert native.manifest("data", "v1")["a.txt"]["digest"] == sha("alpha, fixed\n")
    assert sorted(native.versions("data")) == ["v0", "v1"]


def test_outside_a_run(project, native):
    write("model.bin", os.urandom(300_000))
    art = wandb.Artifact("weights", type="model")
    art.add_file("model.bin")
    art.save()
    art.wait()
    assert art.version == "v0"
    data = pathlib.Path("model.bin").read_bytes()
    assert native.manifest("weights")["model.bin"] == {"digest": sha(data), "size": len(data)}
    # the SDK logs it from a run of its own, of job type "auto"
    logged_by = native.version("weights")["logged_by"]
    assert native.get(f"/runs/{logged_by}")["job_type"] == "auto"


def test_distributed_runs(project, native):
    for i in (1, 2, 3):
        write(f"image{i}.png", f"image {i}")
    for i in (1, 2):
        with wandb.init(group="g") as run:
            a = wandb.Artifact("shards", type="dataset")
            a.add_file(f"image{i}.png")
            run.upsert_artifact(a, distributed_id="my_dist_artifact")
    assert native.get("/artifacts/shards/distributed/my_dist_artifact")["file_count"] == 2
    with wandb.init(group="g") as run:
        a = wandb.Artifact("shards", type="dataset")
        a.add_file("image3.png")
        run.finish_artifact(a, distributed_id="my_dist_artifact")
        a.wait()
        assert a.version == "v0"
    m = native.manifest("shards")
    assert {p: e["digest"] for p, e in m.items()} == {
        f"image{i}.png": sha(f"image {i}") for i in (1, 2, 3)
    }


def seed(native):
    write("base/keep.txt", "keep")
    write("base/modified_file.txt", "old")
    write("base/dir_to_remove/x.txt", "x")
    write("base/dir_to_remove/y.txt", "y")
    with wandb.init() as run:
        a = wandb.Artifact("my_artifact", type="dataset")
        a.add_dir("base")
        run.log_artifact(a)
        a.wait()


def edit(draft):
    write("file_to_add.txt", "new")
    write("modified_file.txt", "new version")
    draft.add_file("file_to_add.txt")
    draft.remove("dir_to_remove/")
    draft.remove("modified_file.txt")
    draft.add_file("modified_file.txt")


EDITED = {
    "keep.txt": sha("keep"),
    "file_to_add.txt": sha("new"),
    "modified_file.txt": sha("new version"),
}


def test_draft_inside_a_run(project, native):
    seed(native)
    with wandb.init(job_type="modify dataset") as run:
        saved = run.use_artifact("my_artifact:latest")
        draft = saved.new_draft()
        edit(draft)
        run.log_artifact(draft)
        draft.wait()
        assert draft.version == "v1"
        user = run.id
    assert {p: e["digest"] for p, e in native.manifest("my_artifact").items()} == EDITED
    v1 = native.version("my_artifact", "v1")
    assert v1["base"] == "v0"
    lineage = native.get("/artifacts/my_artifact/versions/v0/lineage")
    runs = [native.get(f"/runs/{r}")["name"] for r in lineage["used_by"]]
    assert user in runs


def test_draft_outside_a_run(project, native, registry):
    seed(native)
    saved = wandb.Api().artifact(f"team/{project}/my_artifact:latest")
    draft = saved.new_draft()
    edit(draft)
    draft.save()
    draft.wait()
    assert draft.version == "v1"
    assert {p: e["digest"] for p, e in native.manifest("my_artifact").items()} == EDITED


def test_aliases_download_and_verify(project, native, tmp_path):
    files = {"a/one.txt": "1", "two.bin": os.urandom(70_000)}
    for p, c in files.items():
        write(f"src/{p}", c)
    with wandb.init() as run:
        a = wandb.Artifact("dl", type="dataset")
        a.add_dir("src")
        run.log_artifact(a, aliases=["prod"])
    api = wandb.Api()
    for ref in ("prod", "latest", "v0"):
        got = api.artifact(f"team/{project}/dl:{ref}")
        assert got.version == "v0" and "prod" in got.aliases
        root = got.download(root=str(tmp_path / ref))
        for p, c in files.items():
            data = c.encode() if isinstance(c, str) else c
            assert pathlib.Path(root, p).read_bytes() == data
        got.verify(root=root)
    with wandb.init() as run:
        used = run.use_artifact("dl:prod")
        root = used.download(root=str(tmp_path / "in-run"))
        assert pathlib.Path(root, "a/one.txt").read_text() == "1"


def test_references(project, native, tmp_path):
    outside = write(tmp_path / "outside" / "ref.txt", "referenced bytes")
    with wandb.init() as run:
        a = wandb.Artifact("refs", type="dataset")
        a.add_reference(f"file://{outside}")
        run.log_artifact(a)
    entry = native.manifest("refs")["ref.txt"]
    assert entry["ref"] == f"file://{outside}"
    got = wandb.Api().artifact(f"team/{project}/refs:latest")
    assert got.manifest.entries["ref.txt"].ref == f"file://{outside}"
    root = got.download(root=str(tmp_path / "got"))
    assert pathlib.Path(root, "ref.txt").read_text() == "referenced bytes"


def test_a_native_version_is_used_by_wandb(project, native, registry, tmp_path):
    """A version pushed through Cairn's own API (as `cairn put` or the web app do)."""
    files = {"x/readme.md": b"# hi\n", "w.bin": os.urandom(50_000)}
    s = native.s
    base = native.base
    for data in files.values():
        r = s.put(f"{base}/blobs/{sha(data)}", data=data)
        assert r.status_code in (200, 201), r.text
    manifest = {p: {"digest": sha(d), "size": len(d)} for p, d in files.items()}
    r = s.post(
        f"{base}/artifacts/native/versions",
        json={"type": "model", "manifest": {"version": 1, "contents": manifest}},
    )
    assert r.status_code == 201, r.text
    got = wandb.Api().artifact(f"team/{project}/native:v0")
    assert got.type == "model"
    for p, d in files.items():
        want = base64.b64encode(hashlib.md5(d).digest()).decode()
        assert got.manifest.entries[p].digest == want
    root = got.download(root=str(tmp_path / "native"))
    for p, d in files.items():
        assert pathlib.Path(root, p).read_bytes() == d
    # and a W&B draft of it commits through the MD5 index
    draft = got.new_draft()
    write("extra.txt", "more")
    draft.add_file("extra.txt")
    draft.save()
    draft.wait()
    assert set(native.manifest("native")) == {"x/readme.md", "w.bin", "extra.txt"}


def test_aliases_description_metadata_lineage_and_delete(project, native):
    write("f.txt", "one")
    with wandb.init(job_type="make") as run:
        a = wandb.Artifact("cur", type="dataset")
        a.add_file("f.txt")
        run.log_artifact(a)
        maker = run.id
    write("f.txt", "two")
    with wandb.init() as run:
        a = wandb.Artifact("cur", type="dataset")
        a.add_file("f.txt")
        run.log_artifact(a, aliases=["best"])
    with wandb.init(job_type="eval") as run:
        run.use_artifact("cur:v0")
        user = run.id
    v0 = wandb.Api().artifact(f"team/{project}/cur:v0")
    # move "best" to v0, add "prod", edit description and metadata
    v0.aliases.extend(["best", "prod"])
    v0.description = "the good one"
    v0.metadata = {"score": 0.9}
    v0.save()
    v = native.version("cur", "v0")
    assert set(v["aliases"]) == {"best", "prod"}
    assert v["description"] == "the good one" and v["metadata"] == {"score": 0.9}
    assert "best" not in native.version("cur", "v1")["aliases"]
    # lineage as wandb reads it
    v0 = wandb.Api().artifact(f"team/{project}/cur:v0")
    assert v0.logged_by().name == maker
    assert [r.name for r in v0.used_by()] == [user]
    # remove an alias; delete a version (the registry's rule: its aliases go too only if asked)
    v0.aliases.remove("prod")
    v0.save()
    assert set(native.version("cur", "v0")["aliases"]) == {"best"}
    wandb.Api().artifact(f"team/{project}/cur:v0").delete(delete_aliases=True)
    assert native.versions("cur") == ["v1"]


def test_an_incremental_artifact_adds_to_the_latest_version(project, native):
    write("a.txt", "a")
    with wandb.init() as run:
        a = wandb.Artifact("inc", type="dataset")
        a.add_file("a.txt")
        run.log_artifact(a)
    write("b.txt", "b")
    with wandb.init() as run:
        a = wandb.Artifact("inc", type="dataset", incremental=True)
        a.add_file("b.txt")
        run.log_artifact(a)
        a.wait()
        assert a.version == "v1"
    assert set(native.manifest("inc")) == {"a.txt", "b.txt"}


def test_browsing_with_the_public_api(project, native, tmp_path):
    write("d/a.txt", "a")
    write("d/b/c.txt", "c")
    with wandb.init() as run:
        a = wandb.Artifact("browse", type="dataset")
        a.add_dir("d")
        run.log_artifact(a)
        logger = run.id
    write("d/a.txt", "a2")
    with wandb.init() as run:
        a = wandb.Artifact("browse", type="dataset")
        a.add_dir("d")
        run.log_artifact(a)
    with wandb.init() as run:
        run.use_artifact("browse:v0")
        reader = run.id
    with wandb.init() as run:
        m = wandb.Artifact("net", type="model")
        m.add_file("d/a.txt")
        run.log_artifact(m)
    api = wandb.Api()
    path = f"team/{project}"
    assert api.artifact_exists(f"{path}/browse:v1")
    assert not api.artifact_exists(f"{path}/browse:v7")
    assert [v.version for v in api.artifacts("dataset", f"{path}/browse")] == ["v1", "v0"]
    assert sorted(c.name for c in api.artifact_collections(path, "dataset")) == ["browse"]
    assert sorted(t.name for t in api.artifact_types(path)) == ["dataset", "model"]
    assert api.artifact_type("model", path).name == "model"
    assert api.artifact_collection("dataset", f"{path}/browse").name == "browse"
    v0 = api.artifact(f"{path}/browse:v0")
    files = {f.name: f.size for f in v0.files()}
    assert files == {"a.txt": 1, "b/c.txt": 1}
    got = v0.get_entry("b/c.txt").download(root=str(tmp_path / "entry"))
    assert pathlib.Path(got).read_text() == "c"
    assert [x.version for x in api.run(f"{path}/{logger}").logged_artifacts()] == ["v0"]
    assert [x.name for x in api.run(f"{path}/{reader}").used_artifacts()] == ["browse:v0"]


def test_a_resumed_run_is_the_same_cairn_run(project, native):
    write("w.bin", "epoch 1")
    with wandb.init(id="preempted1", resume="allow") as run:
        assert not run.resumed
        a = wandb.Artifact("ckpt", type="model")
        a.add_file("w.bin")
        run.log_artifact(a)
    wandb.teardown()
    write("w.bin", "epoch 2")
    with wandb.init(id="preempted1", resume="must") as run:
        assert run.resumed
        a = wandb.Artifact("ckpt", type="model")
        a.add_file("w.bin")
        run.log_artifact(a)
    v0, v1 = native.version("ckpt", "v0"), native.version("ckpt", "v1")
    assert v0["logged_by"] == v1["logged_by"]
    assert native.get(f"/runs/{v0['logged_by']}")["name"] == "preempted1"
    # resume="must" for a run that never started is refused, naming the problem
    wandb.teardown()
    try:
        wandb.init(id="never-started", resume="must")
        raise AssertionError("resume='must' of an unknown run went through")
    except wandb.errors.UsageError as e:
        assert "does not exist" in str(e)


def test_models_and_tables(project, native):
    write("model/w.pt", os.urandom(2000))
    with wandb.init() as run:
        run.log({"loss": 0.5})  # run history: accepted and discarded
        run.log_model(path="model", name="net", aliases=["prod"])
        table = wandb.Table(columns=["a", "b"], data=[[1, 2], [3, 4]])
        art = wandb.Artifact("tab", type="eval")
        art.add(table, "results")
        run.log_artifact(art)
    assert "prod" in native.version("net")["aliases"]
    with wandb.init() as run:
        path = run.use_model("net:prod")
        assert pathlib.Path(path).read_bytes() == pathlib.Path("model/w.pt").read_bytes()
        assert run.use_artifact("tab:latest").get("results").data == [[1, 2], [3, 4]]


def test_the_cli_drafts_what_wandb_logged_and_wandb_reads_it_back(project, registry, native, tmp_path):
    """Both ways through Cairn's own CLI: a wandb version drafted with `cairn draft`."""
    import subprocess

    write("d/a.txt", "from wandb")
    write("d/b.txt", "to be removed")
    with wandb.init() as run:
        a = wandb.Artifact("both", type="dataset")
        a.add_dir("d")
        run.log_artifact(a)
    write("c.txt", "from the CLI")
    env = dict(os.environ, CAIRN_HOST=registry["url"], CAIRN_TOKEN=registry["token"],
               CAIRN_CONFIG=str(tmp_path / "cli.json"), CAIRN_SILENT="1")
    ls = subprocess.run([os.environ["CAIRN_BIN"], "--json", "ls", f"team/{project}/both"],
                        env=env, capture_output=True, text=True)
    assert ls.returncode == 0 and '"v0"' in ls.stdout, ls.stderr
    draft = subprocess.run(
        [os.environ["CAIRN_BIN"], "--json", "draft", f"team/{project}/both:latest",
         "--add", "c.txt", "--remove", "b.txt", "--alias", "cli"],
        env=env, capture_output=True, text=True)
    assert draft.returncode == 0, draft.stderr
    got = wandb.Api().artifact(f"team/{project}/both:cli")
    assert got.version == "v1"
    root = pathlib.Path(got.download(root=str(tmp_path / "back")))
    assert sorted(p.name for p in root.iterdir()) == ["a.txt", "c.txt"]
    assert (root / "c.txt").read_text() == "from the CLI"
