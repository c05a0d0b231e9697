//! Operating `cairn serve` (issue 22): on SIGTERM it stops accepting, reports not ready, lets
//! the requests in flight finish within `--shutdown-grace`, then exits (past the grace it exits
//! anyway); `--log-format json` writes one object a line with the request id.

use std::process::Stdio;
use std::time::{Duration, Instant};

use cairn_core::Digest;
use futures::SinkExt;
use tokio::process::{Child, Command};

const TOKEN: &str = "cairn_shutdown_admin";

struct Serve {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

async fn serve(grace: &str) -> Serve {
    serve_with(grace, &[], Stdio::inherit()).await
}

async fn serve_with(grace: &str, extra: &[&str], stderr: Stdio) -> Serve {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--shutdown-grace",
            grace,
        ])
        .args(extra)
        .arg("--data-dir")
        .arg(dir.path())
        .env("CAIRN_ADMIN_TOKEN", TOKEN)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{url}/api/v1/health")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Serve {
        child,
        url,
        _dir: dir,
    }
}

fn sigterm(child: &Child) {
    let pid = child.id().expect("running").to_string();
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// A PUT of `data` whose body is held back after its first half until `rest` is sent.
async fn slow_put(
    url: &str,
    data: Vec<u8>,
) -> (
    futures::channel::mpsc::Sender<std::io::Result<Vec<u8>>>,
    tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>,
    Vec<u8>,
) {
    let digest = Digest::of(&data);
    let (mut tx, rx) = futures::channel::mpsc::channel(4);
    let half = data.len() / 2;
    tx.send(Ok(data[..half].to_vec())).await.unwrap();
    let put = reqwest::Client::new()
        .put(format!("{url}/api/v1/projects/ent/proj/blobs/{digest}"))
        .bearer_auth(TOKEN)
        .header(reqwest::header::CONTENT_LENGTH, data.len())
        .body(reqwest::Body::wrap_stream(rx))
        .send();
    let task = tokio::spawn(put);
    (tx, task, data[half..].to_vec())
}

#[tokio::test]
async fn sigterm_drains_the_requests_in_flight_then_exits() {
    let mut s = serve("20s").await;
    let ready = reqwest::get(format!("{}/api/v1/ready", s.url))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let (mut tx, put, rest) = slow_put(&s.url, vec![7u8; 1 << 20]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    sigterm(&s.child);
    // soon not accepting any more; the process waits for the upload
    let mut refused = false;
    for _ in 0..100 {
        if reqwest::get(format!("{}/api/v1/health", s.url))
            .await
            .is_err()
        {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "still accepting connections after SIGTERM");
    assert!(
        s.child.try_wait().unwrap().is_none(),
        "exited with an upload in flight"
    );
    tx.send(Ok(rest)).await.unwrap();
    drop(tx);
    let res = put.await.unwrap().unwrap();
    assert_eq!(res.status(), 201, "the upload in flight finishes");
    let status = tokio::time::timeout(Duration::from_secs(10), s.child.wait())
        .await
        .expect("exits once drained")
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn during_the_shutdown_delay_it_serves_but_is_not_ready_and_closes_connections() {
    let mut s = serve_with("5s", &["--shutdown-delay", "2s"], Stdio::inherit()).await;
    let http = reqwest::Client::new();
    let before = http
        .get(format!("{}/api/v1/health", s.url))
        .send()
        .await
        .unwrap();
    assert!(before.headers().get("connection").is_none());
    let asked = Instant::now();
    sigterm(&s.child);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ready = http
        .get(format!("{}/api/v1/ready", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503, "a draining replica is not ready");
    // still serving, but every connection ends with its response
    let health = http
        .get(format!("{}/api/v1/health", s.url))
        .send()
        .await
        .expect("still accepting during the delay");
    assert_eq!(health.status(), 200);
    assert_eq!(health.headers()["connection"], "close");
    let status = tokio::time::timeout(Duration::from_secs(10), s.child.wait())
        .await
        .expect("exits after the delay")
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        asked.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        asked.elapsed()
    );
}

#[tokio::test]
async fn past_the_grace_the_process_exits_anyway() {
    let mut s = serve("1s").await;
    let (tx, put, _) = slow_put(&s.url, vec![9u8; 1 << 20]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let asked = Instant::now();
    sigterm(&s.child);
    let status = tokio::time::timeout(Duration::from_secs(10), s.child.wait())
        .await
        .expect("exits after the grace")
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        asked.elapsed() >= Duration::from_millis(900),
        "{:?}",
        asked.elapsed()
    );
    drop(tx);
    // the cut upload fails; nothing of it is held (a fresh process would answer it missing)
    assert!(
        put.await
            .unwrap()
            .map(|r| r.status() != 201)
            .unwrap_or(true)
    );
}

#[tokio::test]
async fn json_logs_carry_the_request_id_on_every_line() {
    let s = serve_with("1s", &["--log-format", "json"], Stdio::piped()).await;
    let res = reqwest::Client::new()
        .get(format!("{}/api/v1/whoami", s.url))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    sigterm(&s.child);
    let out = s.child.wait_with_output().await.unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let ours: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["span"]["request_id"] == "trace-me-42")
        .collect();
    assert!(!ours.is_empty(), "{lines:?}");
    assert!(
        ours.iter().any(|l| l["fields"]["status"] == 401),
        "{ours:?}"
    );
    assert_eq!(ours[0]["span"]["uri"], "/api/v1/whoami");
}
