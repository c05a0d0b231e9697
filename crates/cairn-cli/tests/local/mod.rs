//! Local files (issue 23): nothing a version holds makes `cairn get` write outside its root or
//! through a link; clashes with what is there are named before anything is written; uploads do
//! not follow links to folders unless asked, and say what they left out.

use std::os::unix::fs::symlink;

use cairn_testkit::TestServer;
use serde_json::Value;

use super::{Cli, Ran, s, write};

/// The paths of `name`'s v0, from the registry.
async fn files(server: &TestServer, name: &str) -> Vec<String> {
    let url = format!("/api/v1/projects/ent/proj/artifacts/{name}/versions/v0/manifest");
    let m: Value = server
        .req(reqwest::Method::GET, &url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    m["contents"].as_object().unwrap().keys().cloned().collect()
}

/// `cairn --json put DIR --name NAME --type dataset EXTRA…`, which must succeed.
async fn put_dir(cli: &Cli<'_>, dir: &std::path::Path, name: &str, extra: &[&str]) -> Ran {
    let mut all = vec!["--json", "put", s(dir), "--name", name, "--type", "dataset"];
    all.extend_from_slice(extra);
    let ran = cli.run(&all, true).await;
    assert!(ran.ok, "{}", ran.stderr);
    ran
}

/// Every one of `lines` is in `text`.
fn says(text: &str, lines: &[&str]) {
    for line in lines {
        assert!(text.contains(line), "{line}: {text}");
    }
}

async fn put(cli: &Cli<'_>, args: &[&str]) -> Value {
    let mut all = vec!["put"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--type", "dataset"]);
    cli.json(&all).await
}

#[tokio::test]
async fn get_refuses_links_clashes_and_long_names_before_writing_anything() {
    let server = TestServer::start().await;
    let cli = Cli::new(&server);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/evil/file.txt", "payload");
    write(dir.path(), "src/ok.txt", "fine");
    write(dir.path(), "src/a/b.txt", "under a folder");
    write(dir.path(), "long.txt", "long");
    let long = "n".repeat(300);
    put(&cli, &[s(&dir.path().join("src")), "--name", "v"]).await;
    // a 300-byte name is valid on the registry; most file systems cannot hold it
    let long_arg = format!("{}:{long}", s(&dir.path().join("long.txt")));
    cli.json(&["draft", "v:latest", "--add", &long_arg]).await;

    // the root already holds a link to a folder outside it, and a file where `a/` goes
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    symlink(&outside, root.join("evil")).unwrap();
    write(&root, "a", "a file, not a folder");
    let ran = cli
        .run(&["get", "v:latest", "--root", s(&root)], true)
        .await;
    assert!(!ran.ok, "the download must be refused");
    says(
        &ran.stderr,
        &[
            "evil is a symbolic link",
            "refusing to write through it",
            "a is a file where the version has a folder",
            "a name of 300 bytes",
        ],
    );
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing outside the root"
    );
    assert!(!root.join("ok.txt").exists(), "nothing written at all");

    // with the clashes gone, v0 (before the long name) downloads; `verify` does not follow links
    std::fs::remove_file(root.join("evil")).unwrap();
    std::fs::remove_file(root.join("a")).unwrap();
    let got = cli.json(&["get", "v:v0", "--root", s(&root)]).await;
    assert_eq!(got["downloaded_files"], 3);
    let elsewhere = dir.path().join("copy");
    std::fs::rename(root.join("a"), &elsewhere).unwrap();
    symlink(&elsewhere, root.join("a")).unwrap();
    let bad = cli.run(&["--json", "verify", "v:v0", s(&root)], true).await;
    assert!(!bad.ok, "a file behind a link is not the version's file");
    let report: Value = serde_json::from_str(&bad.stdout).unwrap();
    assert_eq!(report["missing"], serde_json::json!(["a/b.txt"]));
}

#[tokio::test]
async fn put_skips_links_to_folders_and_special_files_and_says_so() {
    let server = TestServer::start().await;
    let cli = Cli::new(&server);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write(&data, "d/real.txt", "real");
    write(dir.path(), "outside.txt", "linked content");
    write(dir.path(), "big/x.txt", "a folder elsewhere");
    symlink("..", data.join("d/up")).unwrap();
    symlink(dir.path().join("big"), data.join("big")).unwrap();
    symlink(dir.path().join("outside.txt"), data.join("l.txt")).unwrap();
    symlink(dir.path().join("gone"), data.join("broken")).unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(data.join("pipe"))
        .status()
        .unwrap();
    assert!(fifo.success());

    let ran = put_dir(&cli, &data, "links", &[]).await;
    assert_eq!(files(&server, "links").await, ["d/real.txt", "l.txt"]);
    says(
        &ran.stderr,
        &[
            "skipped big: a link to a folder, not followed",
            "skipped d/up: a link to a folder, not followed",
            "skipped broken: a broken symbolic link",
            "skipped pipe: not a regular file",
        ],
    );

    // asked to follow: the folder elsewhere comes in, the cycle back to the root does not
    let ran = put_dir(&cli, &data, "followed", &["--follow-symlinks"]).await;
    assert_eq!(
        files(&server, "followed").await,
        ["big/x.txt", "d/real.txt", "l.txt"]
    );
    says(
        &ran.stderr,
        &["skipped d/up: a link to a folder already taken (a cycle)"],
    );
}

#[tokio::test]
async fn put_shows_the_registrys_warnings_about_paths_that_will_not_travel() {
    let server = TestServer::start().await;
    let cli = Cli::new(&server);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write(&data, "Notes.txt", "1");
    write(&data, "notes.txt", "2");
    write(&data, "trail.", "3");
    let ran = put_dir(&cli, &data, "w", &[]).await;
    let out: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(out["version"], "v0", "committed all the same");
    says(
        &ran.stderr,
        &[
            "warning: Notes.txt and notes.txt differ only in case (one file on macOS and Windows)",
            "warning: trail.: 'trail.' ends with a dot or a space, which Windows drops",
        ],
    );
    assert_eq!(out["warnings"].as_array().unwrap().len(), 2);
}
