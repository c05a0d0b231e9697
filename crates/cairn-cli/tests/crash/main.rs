//! Crash safety: kill `cairn serve` with SIGKILL at random moments while clients upload,
//! commit, patch, upsert, finish and move aliases, and `cairn gc --grace 0s` runs beside them
//! (itself killed now and then); restart it and check that nothing
//! acknowledged was lost and nothing half-done is visible (see `checker`).
//!
//! Beside it, `rolling`: replicas restarted one by one behind a load balancer lose no request.
//!
//! `CAIRN_CRASH_KILLS` sets the kills per run (default 100); the long version is
//! `CAIRN_CRASH_KILLS=1000 cargo nextest run -p cairn-cli --test crash --run-ignored all`.

mod balancer;
mod checker;
mod process;
mod rolling;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cairn_core::ArtifactName;
use cairn_workload::{Ack, InFlight, Mix, Op, Registry, Worker};
use rand::{Rng, SeedableRng};

use checker::{Checker, Ledger};
use process::Serve;

const TOKEN: &str = "cairn_crash_admin";
const PROJECT: &str = "crash/p";
const WORKERS: usize = 4;

fn kills() -> usize {
    std::env::var("CAIRN_CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(100)
}

/// What one worker did in one life of the registry.
struct Life {
    worker: Worker,
    acks: Vec<Ack>,
    /// Acks the registry may or may not have made when it died (alias moves).
    maybe: Vec<Ack>,
    /// The request each interrupted operation was waiting on.
    interrupted: Option<&'static str>,
}

async fn live(mut worker: Worker, stop: Arc<AtomicBool>) -> Life {
    let mut acks = Vec::new();
    let mut maybe = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let op = worker.pick();
        match worker.step(op).await {
            Ok(ack) => acks.push(ack),
            Err(e) => match e.unanswered() {
                Some(call) => {
                    maybe.extend(worker.attempted().cloned());
                    return Life {
                        worker,
                        acks,
                        maybe,
                        interrupted: Some(call),
                    };
                }
                None => panic!("{op:?} failed while the registry was up: {e}"),
            },
        }
    }
    Life {
        worker,
        acks,
        maybe,
        interrupted: None,
    }
}

/// Run `kills` kill/restart cycles against a registry started with `storage` flags (and
/// `serve_flags`), checking every invariant after each restart, while `cairn gc --grace 0s`
/// runs on the same stores back to back (and is killed now and then). `staging` is the local
/// staging directory, if any. `window` bounds how long the registry lives before each kill
/// (milliseconds). Every third kill is aimed instead: after half such a life it lands as soon
/// as one of `must_cut` (in turn) is waiting on its answer, so each of them is cut off now and
/// then whatever the mix of traffic.
async fn crash_loop(
    storage: Vec<String>,
    serve_flags: &[&str],
    staging: Option<std::path::PathBuf>,
    window: std::ops::Range<u64>,
    must_cut: &[&str],
) -> Ledger {
    let kills = kills();
    let port = process::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let artifacts: Vec<ArtifactName> = (0..3)
        .map(|i| format!("art-{i}").parse().unwrap())
        .collect();
    let mut mix = Mix {
        large_every: 25,
        ..Mix::default()
    };
    // blobs left unreferenced and uploaded again while collections free them
    mix.weights.extend([(Op::Orphan, 1), (Op::Revive, 2)]);
    let seed = rand::random();
    eprintln!("crash harness: {kills} kills, seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let in_flight = Arc::new(InFlight::default());
    let registry = || Registry::new(&url, TOKEN, PROJECT).with_in_flight(in_flight.clone());
    let mut workers: Vec<Worker> = (0..WORKERS)
        .map(|id| {
            let reg = registry();
            Worker::new(id, reg, artifacts.clone(), mix.clone(), seed)
        })
        .collect();
    let mut ledger = Ledger::default();
    let mut checker = Checker::new(artifacts.clone(), staging);
    let mut interrupted: BTreeMap<&'static str, usize> = BTreeMap::new();
    let (mut collections, mut collections_killed) = (0, 0);
    let serve_args: Vec<String> = storage
        .iter()
        .cloned()
        .chain(serve_flags.iter().map(|f| f.to_string()))
        .collect();
    let started = Instant::now();
    for kill in 0..=kills {
        let mut serve = Serve::start(port, TOKEN, &serve_args).await;
        checker
            .check(&Registry::new(&url, TOKEN, PROJECT), &ledger)
            .await
            .unwrap_or_else(|e| panic!("after kill {kill} (seed {seed}): {e}"));
        if kill == kills {
            serve.kill().await; // the end of the run: nothing after it
            break;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let lives: Vec<_> = workers
            .drain(..)
            .map(|mut w| {
                w.retarget(registry());
                tokio::spawn(live(w, stop.clone()))
            })
            .collect();
        let gc = tokio::spawn(process::collect_repeatedly(
            storage.clone(),
            stop.clone(),
            seed ^ kill as u64,
        ));
        let life = Duration::from_millis(rng.random_range(window.clone()));
        if kill % 3 == 1 && !must_cut.is_empty() {
            let call = must_cut[kill / 3 % must_cut.len()];
            // live a while first, so commits keep getting through
            tokio::time::sleep(life / 2).await;
            let aimed = in_flight.wait_for(call);
            // the window's end bounds the wait: a mix that rarely makes this call moves on
            let _ = tokio::time::timeout(Duration::from_millis(window.end), aimed).await;
            tokio::time::sleep(Duration::from_micros(rng.random_range(0..2000))).await;
        } else {
            tokio::time::sleep(life).await;
        }
        serve.kill().await;
        stop.store(true, Ordering::SeqCst);
        for life in lives {
            let life = life.await.expect("a worker panicked");
            ledger.record(life.acks, life.maybe);
            if let Some(call) = life.interrupted {
                *interrupted.entry(call).or_default() += 1;
            }
            workers.push(life.worker);
        }
        let (finished, killed) = gc.await.expect("the collector panicked");
        collections += finished;
        collections_killed += killed;
    }
    eprintln!(
        "crash harness: {kills} kills in {:.0} s; {} acknowledged versions, {} verified versions, \
         {} verified blobs; requests cut off by a kill: {interrupted:?}; `cairn gc --grace 0s` \
         beside them: {collections} finished, {collections_killed} killed",
        started.elapsed().as_secs_f64(),
        ledger.versions(),
        checker.versions(),
        checker.blobs(),
    );
    assert!(
        kills < 100 || (collections > 0 && collections_killed > 0),
        "collections beside the traffic: {collections} finished, {collections_killed} killed"
    );
    assert!(
        ledger.versions() >= kills / 4,
        "too few commits got through to test anything: {}",
        ledger.versions()
    );
    // with 100 kills, each of these is cut off several times on average
    for call in must_cut {
        assert!(
            kills < 100 || interrupted.contains_key(call),
            "no kill landed during a {call}: {interrupted:?}"
        );
    }
    ledger
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_local_disk_lose_nothing_acknowledged_across_sigkills() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    crash_loop(
        vec!["--data-dir".into(), data],
        &[],
        Some(dir.path().join("blobs/staging")),
        20..400,
        &["PUT blob", "POST versions", "POST upsert"],
    )
    .await;
    checker::sqlite_integrity(&dir.path().join("cairn.db")).await;
    let db = format!("sqlite://{}", dir.path().join("cairn.db").display());
    checker::stores_agree(&db, &dir.path().join("blobs").display().to_string()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_and_s3_lose_nothing_acknowledged_across_sigkills() {
    let (Some(db), Some(blobs)) = (
        cairn_testkit::services::postgres_database().await,
        cairn_testkit::services::s3_location(),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    crash_loop(
        vec![
            "--data-dir".into(),
            dir.path().to_str().unwrap().into(),
            "--database-url".into(),
            db.clone(),
            "--blob-store".into(),
            blobs.clone(),
        ],
        &["--staging-grace", "0s"],
        None,
        // S3 (moto) takes five requests per blob: live longer to get commits through
        200..2500,
        &["PUT blob", "POST versions"],
    )
    .await;
    checker::staging_is_clean(&blobs).await;
    checker::stores_agree(&db, &blobs).await;
}
