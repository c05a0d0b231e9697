//! Proof under load (issue 22): two replicas on one PostgreSQL and one S3 bucket behind a
//! load balancer, random traffic through it, each replica restarted in turn with SIGTERM:
//! no request fails, and every acknowledged version is intact afterwards.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cairn_core::ArtifactName;
use cairn_workload::{Ack, Mix, Registry, Worker};

use crate::balancer::Balancer;
use crate::checker::{Checker, Ledger};
use crate::process::{Serve, free_port};

const TOKEN: &str = "cairn_rolling_admin";
const PROJECT: &str = "rolling/p";

/// What one worker did until told to stop: its acknowledgements and every failed operation.
async fn work(mut worker: Worker, stop: Arc<AtomicBool>) -> (Vec<Ack>, Vec<String>) {
    let (mut acks, mut failed) = (Vec::new(), Vec::new());
    while !stop.load(Ordering::SeqCst) {
        let op = worker.pick();
        match worker.step(op).await {
            Ok(ack) => acks.push(ack),
            Err(e) => failed.push(format!("{op:?}: {e}")),
        }
    }
    (acks, failed)
}

/// Wait until the replica on `port` answers `/api/v1/ready` and the balancer has probed it.
async fn ready(port: u16) {
    let http = reqwest::Client::new();
    for _ in 0..600 {
        if http
            .get(format!("http://127.0.0.1:{port}/api/v1/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            tokio::time::sleep(Duration::from_millis(300)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the replica on {port} never became ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restart_behind_a_load_balancer_fails_no_request() {
    let (Some(db), Some(blobs)) = (
        cairn_testkit::services::postgres_database().await,
        cairn_testkit::services::s3_location(),
    ) else {
        return;
    };
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let ports = [free_port(), free_port()];
    let args = |i: usize| -> Vec<String> {
        [
            "--data-dir",
            dirs[i].path().to_str().unwrap(),
            "--database-url",
            &db,
            "--blob-store",
            &blobs,
            // the balancer (probing every 100 ms, not retrying a refused connection) has taken
            // a draining replica out well before it stops accepting; with 0s requests fail
            "--shutdown-delay",
            "2s",
            "--shutdown-grace",
            "30s",
        ]
        .map(String::from)
        .to_vec()
    };
    let mut replicas = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        replicas.push(Serve::start(*port, TOKEN, &args(i)).await);
    }
    let balancer = Balancer::start(&ports).await;
    for port in ports {
        ready(port).await;
    }
    let url = format!("http://127.0.0.1:{}", balancer.port);
    let artifacts: Vec<ArtifactName> = (0..3)
        .map(|i| format!("art-{i}").parse().unwrap())
        .collect();
    let mix = Mix {
        large_every: 25,
        ..Mix::default()
    };
    let seed = rand::random();
    eprintln!("rolling restart: seed {seed}");
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|id| {
            let registry = Registry::new(&url, TOKEN, PROJECT);
            let worker = Worker::new(id, registry, artifacts.clone(), mix.clone(), seed);
            tokio::spawn(work(worker, stop.clone()))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (i, replica) in replicas.iter_mut().enumerate() {
        replica.terminate(Duration::from_secs(40)).await;
        *replica = Serve::start(ports[i], TOKEN, &args(i)).await;
        ready(ports[i]).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let mut ledger = Ledger::default();
    let (mut ops, mut failed) = (0, Vec::new());
    for worker in workers {
        let (acks, fails) = worker.await.expect("a worker panicked");
        ops += acks.len();
        ledger.record(acks, Vec::new());
        failed.extend(fails);
    }
    eprintln!(
        "rolling restart: {ops} operations acknowledged, {} versions, {} failed",
        ledger.versions(),
        failed.len()
    );
    assert!(failed.is_empty(), "failed during the restarts: {failed:#?}");
    assert!(
        ledger.versions() > 10,
        "too little traffic to prove anything"
    );
    let mut checker = Checker::new(artifacts, None);
    checker
        .check(&Registry::new(&url, TOKEN, PROJECT), &ledger)
        .await
        .unwrap_or_else(|e| panic!("after the restarts (seed {seed}): {e}"));
    for mut replica in replicas {
        replica.kill().await;
    }
}
