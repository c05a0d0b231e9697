//! Every operation of the workload against a real registry, with nothing failing.

use std::collections::BTreeSet;

use cairn_core::ArtifactName;
use cairn_testkit::{ADMIN_TOKEN, TestServer};
use cairn_workload::{Ack, Mix, Op, Registry, Worker};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_succeeds_concurrently_and_acks_what_the_registry_holds() {
    let server = TestServer::start().await;
    let registry = Registry::new(&server.url, ADMIN_TOKEN, "load/test");
    let artifacts: Vec<ArtifactName> = vec!["a".parse().unwrap(), "b".parse().unwrap()];
    let tasks: Vec<_> = (0..4)
        .map(|id| {
            let mut w = Worker::new(id, registry.clone(), artifacts.clone(), Mix::default(), 7);
            tokio::spawn(async move {
                let mut acks = Vec::new();
                for round in 0..30 {
                    let op = Op::ALL[round % Op::ALL.len()];
                    acks.push((
                        op,
                        w.step(op).await.unwrap_or_else(|e| panic!("{op:?}: {e}")),
                    ));
                }
                acks
            })
        })
        .collect();
    let mut versions = BTreeSet::new();
    let mut acked = 0;
    for t in tasks {
        for (_, ack) in t.await.unwrap() {
            if let Ack::Version {
                artifact,
                index,
                digest,
                ..
            } = ack
            {
                let v = registry
                    .version(&artifact, &format!("v{index}"))
                    .await
                    .unwrap();
                assert_eq!(v.digest, digest);
                versions.insert((artifact, index));
                acked += 1;
            }
        }
    }
    for a in &artifacts {
        let listed = registry.versions(a).await.unwrap();
        let indices: Vec<u64> = listed.iter().map(|v| v.index).collect();
        assert_eq!(indices, (0..listed.len() as u64).collect::<Vec<_>>());
    }
    // 4 workers × (commit, patch, distributed: 5 times each), more where an operation needing
    // an earlier version committed one first; never two acks for one version
    assert!(acked >= 60, "{acked} versions");
    assert_eq!(versions.len(), acked);
}
