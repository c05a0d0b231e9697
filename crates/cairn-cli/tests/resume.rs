//! Large files through `cairn put` as chunks: interrupted (SIGKILL mid-upload) and run again,
//! only the chunks the registry lacks are sent; a new version with 1 MiB of a large file
//! overwritten sends about that 1 MiB, and fetching it into a directory holding the first
//! version fetches about as much; every version comes back whole and verified.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use cairn_testkit::{ADMIN_TOKEN, TestServer, noise};
use serde_json::Value;

const SIZE: usize = 160 << 20;

fn cairn(server: &TestServer, config: &Path, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_cairn"));
    cmd.arg("--json")
        .args(args)
        .env("CAIRN_CONFIG", config)
        .env("CAIRN_HOST", &server.url)
        .env("CAIRN_TOKEN", ADMIN_TOKEN)
        .env("CAIRN_ENTITY", "ent")
        .env("CAIRN_PROJECT", "proj")
        .stdin(Stdio::null());
    cmd
}

fn put(server: &TestServer, file: &Path, config: &Path) -> tokio::process::Command {
    let file = file.to_str().unwrap();
    cairn(
        server,
        config,
        &["put", file, "--name", "big", "--type", "dataset"],
    )
}

/// Bytes in the packs the registry stores.
fn packed(server: &TestServer) -> u64 {
    fn walk(dir: &Path) -> u64 {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => walk(&e.path()),
                Ok(m) if !e.file_name().to_string_lossy().contains('#') => m.len(),
                _ => 0,
            })
            .sum()
    }
    walk(&server.data_dir().join("blobs/packs"))
}

async fn json(cmd: &mut tokio::process::Command) -> Value {
    let out = cmd.output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn get_back(server: &TestServer, config: &Path, version: &str, root: &Path) -> Vec<u8> {
    let what = format!("big:{version}");
    json(&mut cairn(
        server,
        config,
        &["get", &what, "--root", root.to_str().unwrap()],
    ))
    .await;
    std::fs::read(root.join("big.bin")).unwrap()
}

#[tokio::test]
async fn a_killed_put_resumes_and_an_edit_sends_only_the_change() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    let v0 = noise(SIZE, 42);
    std::fs::write(&file, &v0).unwrap();
    let config = dir.path().join("config.json");

    let mut first = put(&server, &file, &config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // kill it once two packs (of 32 MiB) are stored and the client has noted one in its journal
    // (a receipt the client never read cannot be resumed from), before the last
    let journal = dir.path().join("uploads/ent/proj.packs");
    loop {
        let noted = std::fs::read_to_string(&journal).map_or(0, |t| t.lines().count());
        if packed(&server) >= 64 << 20 && noted >= 1 {
            break;
        }
        if let Some(status) = first.try_wait().unwrap() {
            panic!("cairn put ended ({status}) before it could be interrupted");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = packed(&server);
    assert!(held < SIZE as u64, "{held} bytes packed: the put finished");

    let v = json(&mut put(&server, &file, &config)).await;
    assert_eq!(v["version"], "v0");
    let resumed = v["resumed_bytes"].as_u64().unwrap();
    let sent = v["uploaded_bytes"].as_u64().unwrap();
    // the packs whose receipts came back before the kill (at least the first)
    assert!(resumed >= 30 << 20, "{v}");
    assert_eq!(resumed + sent, SIZE as u64, "{v}");
    assert_eq!(
        get_back(&server, &config, "v0", &dir.path().join("v0")).await,
        v0
    );

    // 1 MiB overwritten in the middle: about 1 MiB goes up, and the store grows by as much
    let mut v1 = v0.clone();
    v1[SIZE / 2..SIZE / 2 + (1 << 20)].copy_from_slice(&noise(1 << 20, 7));
    std::fs::write(&file, &v1).unwrap();
    let before = packed(&server);
    let v = json(&mut put(&server, &file, &config)).await;
    assert_eq!(v["version"], "v1");
    let sent = v["uploaded_bytes"].as_u64().unwrap();
    assert!(sent <= 3 << 20, "{sent} bytes sent for a 1 MiB edit: {v}");
    assert!(
        v["reused_bytes"].as_u64().unwrap() >= (SIZE - (3 << 20)) as u64,
        "{v}"
    );
    let grown = packed(&server) - before;
    assert!(grown <= 3 << 20, "the store grew by {grown} bytes");
    assert_eq!(
        get_back(&server, &config, "v1", &dir.path().join("v1")).await,
        v1
    );
}
