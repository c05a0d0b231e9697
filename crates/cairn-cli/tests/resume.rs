//! Interrupting `cairn put` of a large file (SIGKILL mid-upload) and running it again: only the
//! parts the registry lacks are sent, and the blob is whole and verified.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use cairn_core::wire::DEFAULT_PART_SIZE;
use cairn_testkit::{ADMIN_TOKEN, TestServer};
use serde_json::Value;

const SIZE: u64 = 512 << 20;

fn put(server: &TestServer, file: &Path, config: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_cairn"));
    cmd.args([
        "--json",
        "put",
        file.to_str().unwrap(),
        "--name",
        "big",
        "--type",
        "dataset",
    ])
    .env("CAIRN_CONFIG", config)
    .env("CAIRN_HOST", &server.url)
    .env("CAIRN_TOKEN", ADMIN_TOKEN)
    .env("CAIRN_ENTITY", "ent")
    .env("CAIRN_PROJECT", "proj")
    .stdin(Stdio::null());
    cmd
}

/// Parts the registry holds, across its upload sessions.
fn parts_held(server: &TestServer) -> usize {
    let Ok(sessions) = std::fs::read_dir(server.data_dir().join("blobs/uploads")) else {
        return 0;
    };
    sessions
        .flatten()
        .filter_map(|s| std::fs::read_dir(s.path()).ok())
        .flat_map(|files| files.flatten())
        .filter(|f| {
            let name = f.file_name().into_string().unwrap_or_default();
            name.starts_with("part-") && !name.contains('#')
        })
        .count()
}

#[tokio::test]
async fn a_killed_put_resumes_without_resending_the_parts_received() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    {
        // mostly a hole, with data at both ends and in the middle
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::File::create(&file).unwrap();
        f.set_len(SIZE).unwrap();
        for at in [0, SIZE / 2 + 12345, SIZE - 4096] {
            f.seek(SeekFrom::Start(at)).unwrap();
            f.write_all(&[0x5a; 4096]).unwrap();
        }
    }
    let config = dir.path().join("config.json");

    let mut first = put(&server, &file, &config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    loop {
        if parts_held(&server) >= 4 {
            break;
        }
        if let Some(status) = first.try_wait().unwrap() {
            panic!("cairn put ended ({status}) before it could be interrupted");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    // requests the kill cut off end on the server; let them settle
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = parts_held(&server) as u64;
    let total = SIZE.div_ceil(DEFAULT_PART_SIZE);
    assert!(held >= 4 && held < total, "{held} of {total} parts held");

    let out = put(&server, &file, &config).output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], "v0");
    assert_eq!(v["resumed_bytes"], held * DEFAULT_PART_SIZE, "{v}");
    assert_eq!(v["uploaded_bytes"], SIZE - held * DEFAULT_PART_SIZE, "{v}");
    assert_eq!(parts_held(&server), 0, "the session is gone once completed");

    // the registry serves exactly the file
    let digest = cairn_core::Digest::of(&std::fs::read(&file).unwrap());
    assert_eq!(server.state.blobs.size(&digest).await.unwrap(), Some(SIZE));
    let got = dir.path().join("got");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args([
            "--json",
            "get",
            "big:latest",
            "--root",
            got.to_str().unwrap(),
        ])
        .env("CAIRN_CONFIG", &config)
        .env("CAIRN_HOST", &server.url)
        .env("CAIRN_TOKEN", ADMIN_TOKEN)
        .env("CAIRN_ENTITY", "ent")
        .env("CAIRN_PROJECT", "proj")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        cairn_core::Digest::of(&std::fs::read(got.join("big.bin")).unwrap()),
        digest
    );
}
