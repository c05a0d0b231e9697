//! The workflows of docs/workflow.md through the `cairn` binary, against a real registry.

use std::path::Path;

use cairn_testkit::{ADMIN_TOKEN, TestServer};

mod deploy;
mod local;
mod quota;
mod shutdown;
use serde_json::Value;

struct Cli<'a> {
    server: &'a TestServer,
    config: tempfile::TempDir,
}

struct Ran {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn json(&self) -> Value {
        assert!(self.ok, "command failed: {}", self.stderr);
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

impl<'a> Cli<'a> {
    fn new(server: &'a TestServer) -> Self {
        Self {
            server,
            config: tempfile::tempdir().unwrap(),
        }
    }

    async fn run(&self, args: &[&str], with_env: bool) -> Ran {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_cairn"));
        cmd.args(args)
            .env("CAIRN_CONFIG", self.config.path().join("config.json"))
            .env_remove("CAIRN_HOST")
            .env_remove("CAIRN_TOKEN");
        if with_env {
            cmd.env("CAIRN_HOST", &self.server.url)
                .env("CAIRN_TOKEN", ADMIN_TOKEN)
                .env("CAIRN_ENTITY", "ent")
                .env("CAIRN_PROJECT", "proj");
        }
        let out = cmd.output().await.unwrap();
        Ran {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        }
    }

    async fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.run(&all, true).await.json()
    }
}

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test]
async fn put_then_draft_sends_only_changes() {
    let server = TestServer::start().await;
    let cli = Cli::new(&server);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for i in 0..10 {
        write(&data, &format!("keep/{i}.txt"), &"k".repeat(100 + i));
    }
    write(&data, "dir_to_remove/a", "a");
    write(&data, "modified_file.txt", "old");
    let v0 = cli
        .json(&[
            "put",
            s(&data),
            "--name",
            "ent/proj/ds",
            "--type",
            "dataset",
            "--alias",
            "raw",
        ])
        .await;
    assert_eq!(
        (v0["version"].clone(), v0["created"].clone()),
        ("v0".into(), true.into())
    );
    assert_eq!(
        (v0["uploaded_files"].clone(), v0["reused_files"].clone()),
        (12.into(), 0.into())
    );
    assert_eq!(v0["aliases"], serde_json::json!(["latest", "raw"]));
    assert_eq!(v0["digest"].as_str().unwrap().len(), 64);
    let again = cli
        .json(&["put", s(&data), "--name", "ds", "--type", "dataset"])
        .await;
    assert_eq!(
        (
            again["created"].clone(),
            again["uploaded_files"].clone(),
            again["reused_files"].clone()
        ),
        (false.into(), 0.into(), 12.into())
    );

    write(dir.path(), "new.txt", "new file");
    write(dir.path(), "fixed.txt", "fixed!");
    let new_path = format!("{}:extra/new.txt", s(&dir.path().join("new.txt")));
    let fixed_path = format!("{}:modified_file.txt", s(&dir.path().join("fixed.txt")));
    let v1 = cli
        .json(&[
            "draft",
            "ds:latest",
            "--add",
            &new_path,
            "--remove",
            "dir_to_remove/",
            "--replace",
            &fixed_path,
        ])
        .await;
    assert_eq!(
        (v1["version"].clone(), v1["created"].clone()),
        ("v1".into(), true.into())
    );
    assert_eq!(
        (v1["uploaded_files"].clone(), v1["uploaded_bytes"].clone()),
        (2.into(), (8 + 6).into())
    );
    let m = server
        .get_json(
            "/api/v1/projects/ent/proj/artifacts/ds/versions/v1/manifest",
            reqwest::StatusCode::OK,
        )
        .await;
    let paths: Vec<&String> = m["contents"].as_object().unwrap().keys().collect();
    assert_eq!(paths.len(), 12);
    assert!(m["contents"].get("dir_to_remove/a").is_none());
    assert_eq!(m["contents"]["modified_file.txt"]["size"], 6);
    assert_eq!(m["contents"]["extra/new.txt"]["size"], 8);

    let d = cli.json(&["diff", "ds:v0", "ds:v1"]).await;
    assert_eq!(d["added"], serde_json::json!(["extra/new.txt"]));
    assert_eq!(d["modified"], serde_json::json!(["modified_file.txt"]));
    assert_eq!(d["removed"], serde_json::json!(["dir_to_remove/a"]));
    assert_eq!(d["unchanged"], 10);

    // ls and aliases
    let list = cli.json(&["ls", "ent/proj"]).await;
    assert_eq!(list[0]["name"], "ds");
    let versions = cli.json(&["ls", "ent/proj/ds"]).await;
    assert_eq!(versions.as_array().unwrap().len(), 2);
    let moved = cli.json(&["alias", "set", "ds:v1", "best"]).await;
    assert_eq!(moved["aliases"], serde_json::json!(["best", "latest"]));
    cli.json(&["alias", "rm", "ds", "best"]).await;
    let gone = cli.run(&["get", "ds:best"], true).await;
    assert!(
        !gone.ok && gone.stderr.contains("version best"),
        "{}",
        gone.stderr
    );
}

#[tokio::test]
async fn putting_a_changed_folder_again_sends_only_the_change() {
    let server = TestServer::start().await;
    let cli = Cli::new(&server);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for i in 0..20 {
        write(&data, &format!("f{i:02}.txt"), &format!("file {i}"));
    }
    let put = [
        "put",
        s(&data),
        "--name",
        "ent/proj/ds",
        "--type",
        "dataset",
    ];
    let v0 = cli.json(&put).await;
    assert_eq!(v0["uploaded_files"], 20);
    // modify one file, add one, delete one: a patch against v0 with one missing-check of two
    write(&data, "f00.txt", "changed");
    write(&data, "new.txt", "new");
    std::fs::remove_file(data.join("f01.txt")).unwrap();
    let v1 = cli.json(&put).await;
    assert_eq!(
        (
            v1["version"].as_str(),
            v1["uploaded_files"].as_u64(),
            v1["reused_files"].as_u64()
        ),
        (Some("v1"), Some(2), Some(18))
    );
    let version = server
        .get_json(
            "/api/v1/projects/ent/proj/artifacts/ds/versions/v1",
            reqwest::StatusCode::OK,
        )
        .await;
    assert_eq!(version["base"], "v0");
    assert_eq!(version["file_count"], 20);
    // what the registry holds is exactly the folder
    let check = cli.json(&["verify", "ent/proj/ds:v1", s(&data)]).await;
    assert_eq!(
        check,
        serde_json::json!({"extra": [], "mismatched": [], "missing": []})
    );
}

#[tokio::test]
async fn distributed_upsert_and_finish() {
    let server = TestServer::start().await;
    let cli = Cli::new(&server);
    let dir = tempfile::tempdir().unwrap();
    for i in 1..=3 {
        write(dir.path(), &format!("image{i}.png"), &format!("image {i}"));
    }
    let img = |i: u32| {
        dir.path()
            .join(format!("image{i}.png"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let id = [
        "--name",
        "imgs",
        "--type",
        "dataset",
        "--distributed-id",
        "my_dist_artifact",
    ];
    let u1 = cli.json(&[&["upsert", &img(1)][..], &id].concat()).await;
    assert_eq!(u1["file_count"], 1);
    let u2 = cli.json(&[&["upsert", &img(2)][..], &id].concat()).await;
    assert_eq!(u2["file_count"], 2);
    let done = cli.json(&[&["finish", &img(3)][..], &id].concat()).await;
    assert_eq!(
        (done["version"].clone(), done["created"].clone()),
        ("v0".into(), true.into())
    );
    let m = server
        .get_json(
            "/api/v1/projects/ent/proj/artifacts/imgs/versions/latest/manifest",
            reqwest::StatusCode::OK,
        )
        .await;
    assert_eq!(m["contents"].as_object().unwrap().len(), 3);
}

#[tokio::test]
async fn get_and_verify() {
    let server = TestServer::start().await;
    let cli = Cli::new(&server);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/a.txt", "alpha");
    write(dir.path(), "src/sub/b.txt", "beta");
    cli.json(&[
        "put",
        s(&dir.path().join("src")),
        "--name",
        "files",
        "--type",
        "dataset",
    ])
    .await;
    let out = dir.path().join("out");
    let got = cli.json(&["get", "files:latest", "--root", s(&out)]).await;
    assert_eq!(
        (got["downloaded_files"].clone(), got["version"].clone()),
        (2.into(), "v0".into())
    );
    assert_eq!(
        std::fs::read_to_string(out.join("sub/b.txt")).unwrap(),
        "beta"
    );
    let ok = cli.run(&["verify", "files:v0", s(&out)], true).await;
    assert!(ok.ok, "{}", ok.stderr);
    std::fs::write(out.join("a.txt"), "alphx").unwrap();
    std::fs::remove_file(out.join("sub/b.txt")).unwrap();
    write(&out, "stray", "?");
    let bad = cli
        .run(&["--json", "verify", "files:v0", s(&out)], true)
        .await;
    assert!(!bad.ok, "verify must fail on a changed copy");
    let report: Value = serde_json::from_str(&bad.stdout).unwrap();
    assert_eq!(report["mismatched"], serde_json::json!(["a.txt"]));
    assert_eq!(report["missing"], serde_json::json!(["sub/b.txt"]));
    assert_eq!(report["extra"], serde_json::json!(["stray"]));
    assert!(
        bad.stderr.contains("1 missing, 1 mismatched, 1 extra"),
        "{}",
        bad.stderr
    );
}

#[tokio::test]
async fn a_link_fetches_one_file_without_a_token() {
    let server = TestServer::start().await;
    let cli = Cli::new(&server);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/sub/b.txt", "beta");
    cli.json(&[
        "put",
        s(&dir.path().join("src")),
        "--name",
        "files",
        "--type",
        "dataset",
    ])
    .await;
    let link = cli.json(&["link", "files:v0", "sub/b.txt"]).await;
    let url = link["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/api/v1/links/", server.url)),
        "{link}"
    );
    let res = reqwest::get(url).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "beta");
    let text = cli.run(&["link", "files:v0", "sub/b.txt"], true).await;
    assert!(text.stdout.contains("no token needed"), "{}", text.stdout);
    let missing = cli.run(&["link", "files:v0", "nope"], true).await;
    assert!(!missing.ok);
    assert!(
        missing.stderr.contains("no file 'nope' in version v0"),
        "{}",
        missing.stderr
    );
}

#[tokio::test]
async fn errors_name_what_was_wrong() {
    let server = TestServer::start().await;
    let cli = Cli::new(&server);
    let r = cli
        .run(
            &["put", "/no/such/file", "--name", "x", "--type", "dataset"],
            true,
        )
        .await;
    assert!(!r.ok && r.stderr.contains("/no/such/file"), "{}", r.stderr);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "f", "x");
    let r = cli
        .run(
            &[
                "put",
                s(&dir.path().join("f")),
                "--name",
                "bad name",
                "--type",
                "dataset",
            ],
            true,
        )
        .await;
    assert!(!r.ok && r.stderr.contains("'bad name'"), "{}", r.stderr);
    let r = cli
        .run(
            &[
                "put",
                s(&dir.path().join("f")),
                "--name",
                "x",
                "--type",
                "cairn-x",
            ],
            true,
        )
        .await;
    assert!(
        !r.ok && r.stderr.contains("type cairn-x is reserved"),
        "{}",
        r.stderr
    );
    let r = cli.run(&["ls"], false).await;
    assert!(!r.ok && r.stderr.contains("cairn login"), "{}", r.stderr);
}

#[tokio::test]
async fn login_saves_the_connection() {
    let server = TestServer::start().await;
    let cli = Cli::new(&server);
    let r = cli
        .run(
            &[
                "login",
                "--host",
                &server.url,
                "--token",
                ADMIN_TOKEN,
                "--entity",
                "ent",
                "--project",
                "proj",
            ],
            false,
        )
        .await;
    assert!(r.ok, "{}", r.stderr);
    let r = cli.run(&["--json", "ls"], false).await;
    assert_eq!(r.json(), serde_json::json!([]));
    let r = cli
        .run(&["login", "--host", &server.url, "--token", "wrong"], false)
        .await;
    assert!(!r.ok && r.stderr.contains("unknown token"), "{}", r.stderr);
}

#[tokio::test]
async fn gc_frees_unreferenced_blobs_while_the_registry_runs() {
    let s = TestServer::start().await;
    let cli = Cli::new(&s);
    s.commit_files("ent/proj", "data", &[("a", "kept")]).await;
    s.put_blob("ent/proj", b"orphan").await;
    // a file sent as chunks: its version keeps its pack
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("c.txt"), "chunked and kept").unwrap();
    cli.json(&[
        "put",
        src.path().to_str().unwrap(),
        "--name",
        "chunked",
        "--type",
        "dataset",
    ])
    .await;
    // and a pack nothing names (an upload that never assembled)
    let mut pack = cairn_core::pack::PackBuilder::new();
    pack.push(b"never assembled");
    let res = s
        .req(reqwest::Method::POST, "/api/v1/projects/ent/proj/packs")
        .body(pack.finish())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::CREATED);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let dir = s.data_dir();
    let dir = dir.to_str().unwrap();
    let ran = cli
        .run(&["--json", "gc", "--data-dir", dir, "--grace", "1h"], false)
        .await;
    assert_eq!(
        ran.json(),
        serde_json::json!({"blobs": 0, "bytes": 0, "resumed": 0, "packs": 0, "pack_bytes": 0, "repacked": 0, "reclaimable": 0,
            // "kept" and "orphan" went up with plain PUTs: stored whole, now packed
            "packed_whole": 2, "packed_whole_bytes": 10, "whole_freed": 0, "whole_freed_bytes": 0, "dry_run": false})
    );
    let prom = s.data_dir().join("gc.prom");
    let ran = cli
        .run(
            &[
                "--json",
                "gc",
                "--data-dir",
                dir,
                "--grace",
                "0s",
                "--metrics-file",
                prom.to_str().unwrap(),
            ],
            false,
        )
        .await;
    let stray = cairn_core::pack::PackHeader::encoded_len(1) + 15;
    assert_eq!(
        ran.json(),
        serde_json::json!({"blobs": 1, "bytes": 6, "resumed": 0, "packs": 1, "pack_bytes": stray, "repacked": 0, "reclaimable": 0,
            // "kept" is read from its chunks now: its whole object goes
            "packed_whole": 0, "packed_whole_bytes": 0, "whole_freed": 1, "whole_freed_bytes": 4, "dry_run": false})
    );
    // the report for node_exporter's textfile collector: what was freed, and when
    let text = std::fs::read_to_string(&prom).unwrap();
    for line in [
        r#"cairn_gc_freed_blobs{dry_run="false"} 1"#.to_owned(),
        format!(
            r#"cairn_gc_freed_bytes{{dry_run="false"}} {}"#,
            6 + stray + 4
        ),
        r#"cairn_gc_freed_packs{dry_run="false"} 1"#.to_owned(),
    ] {
        assert!(text.lines().any(|l| l == line), "{line}\n{text}");
    }
    let stamp: f64 = text
        .lines()
        .find_map(|l| {
            l.strip_prefix(r#"cairn_gc_last_success_timestamp_seconds{dry_run="false"} "#)
        })
        .unwrap_or_else(|| panic!("no timestamp in\n{text}"))
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - stamp).abs() < 600.0, "{stamp} vs {now}");
    assert!(!s.data_dir().join("gc.prom.tmp").exists());
    let ran = cli
        .run(&["gc", "--data-dir", dir, "--grace", "soon"], false)
        .await;
    assert!(
        !ran.ok && ran.stderr.contains("'soon' is not a duration"),
        "{}",
        ran.stderr
    );
    // the registry goes on serving what is live
    let v = cli
        .json(&[
            "get",
            "ent/proj/data:latest",
            "--root",
            &format!("{dir}/out"),
        ])
        .await;
    assert_eq!(v["version"], "v0", "{v}");
    let v = cli
        .json(&[
            "get",
            "ent/proj/chunked:latest",
            "--root",
            &format!("{dir}/out2"),
        ])
        .await;
    assert_eq!(v["version"], "v0", "{v}");
    let got = std::fs::read_to_string(format!("{dir}/out2/c.txt")).unwrap();
    assert_eq!(got, "chunked and kept");
}

#[tokio::test]
async fn a_large_file_is_hashed_while_its_packs_arrive() {
    let server = TestServer::start().await;
    let cli = Cli::new(&server);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let data = cairn_testkit::noise(40 << 20, 71);
    std::fs::write(src.join("big.bin"), &data).unwrap();
    let out = cli
        .json(&["put", s(&src), "--name", "big", "--type", "model"])
        .await;
    assert_eq!(out["uploaded_bytes"], 40 << 20);
    // the registry hashed the packs as they came (checkpoints at 16 and 32 MiB), so verifying
    // the assembled file read back only what follows the last checkpoint, not 40 MiB
    let metrics = server
        .get_public("/metrics", &[])
        .await
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name}: {metrics}"))
    };
    assert_eq!(value("cairn_stream_hashed_bytes_total "), 40 << 20);
    assert_eq!(value("cairn_verify_read_bytes_total "), 8 << 20);
    // and the bytes come back whole
    let back = dir.path().join("back");
    cli.json(&["get", "big:v0", "--root", s(&back)]).await;
    assert!(std::fs::read(back.join("big.bin")).unwrap() == data);
}
