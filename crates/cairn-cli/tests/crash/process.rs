//! `cairn serve` as a child process that can be killed.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running registry.
pub struct Serve {
    child: Child,
}

impl Serve {
    /// Start `cairn serve` on `port` with `storage` flags and wait until it answers.
    pub async fn start(port: u16, token: &str, storage: &[String]) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .arg("serve")
            .args([
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--web-dir",
                "/nonexistent",
            ])
            .args(storage)
            .env("CAIRN_ADMIN_TOKEN", token)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn cairn serve");
        let mut serve = Self { child };
        let health = format!("http://127.0.0.1:{port}/api/v1/health");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = serve.child.try_wait().unwrap() {
                panic!("cairn serve exited at start: {status}");
            }
            if http
                .get(&health)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return serve;
            }
            assert!(
                Instant::now() < deadline,
                "cairn serve did not answer within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// SIGTERM, and wait for the process to drain and exit; panics unless it exits cleanly
    /// within `limit`.
    pub async fn terminate(&mut self, limit: Duration) {
        let pid = self.child.id().expect("running").to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(sent.success());
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("cairn serve did not exit within {limit:?} of SIGTERM"))
            .expect("reap");
        assert!(
            status.success(),
            "cairn serve exited with {status} on SIGTERM"
        );
    }

    /// SIGKILL, and wait for the process to be gone.
    pub async fn kill(&mut self) {
        self.child.start_kill().expect("SIGKILL");
        self.child.wait().await.expect("reap");
    }
}

/// `cairn gc --grace 0s` against the registry's stores, run back to back while `stop` is
/// unset; each run is SIGKILLed after a random moment or left to finish. Answers (finished,
/// killed) runs. Each packs at most 1 MiB of blobs stored whole (at least one blob): with the
/// default 16 GiB, a collection killed within 600 ms would read every whole blob and record
/// nothing, again and again, starving the registry of the CPU it shares.
pub async fn collect_repeatedly(
    storage: Vec<String>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    seed: u64,
) -> (usize, usize) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (mut finished, mut killed) = (0, 0);
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args(["gc", "--grace", "0s", "--pack-whole", "1MiB"])
            .args(&storage)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn cairn gc");
        let limit = Duration::from_millis(rng.random_range(20..600));
        match tokio::time::timeout(limit, child.wait()).await {
            Ok(status) => {
                assert!(status.expect("wait").success(), "cairn gc failed");
                finished += 1;
            }
            Err(_) => {
                child.start_kill().expect("SIGKILL");
                child.wait().await.expect("reap");
                killed += 1;
            }
        }
    }
    (finished, killed)
}
