//! A small TCP load balancer for tests, as strict as a Kubernetes Service is: it probes each
//! replica's `/api/v1/ready` every 100 ms and sends each new connection to the next replica
//! that was ready at the last probe (round robin). It does not retry: a connection a replica
//! refuses is closed on the client, so a replica that stops accepting before the balancer
//! took it out fails requests. It does not touch HTTP either: a connection stays with its
//! replica until one side closes it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The balancer: listening on `port`, stopped when dropped.
pub struct Balancer {
    pub port: u16,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Balancer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Balancer {
    /// Balance over the replicas on loopback `ports`.
    pub async fn start(ports: &[u16]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let ready: Arc<Vec<(u16, AtomicBool)>> =
            Arc::new(ports.iter().map(|p| (*p, AtomicBool::new(false))).collect());
        let mut tasks = vec![tokio::spawn(probe(ready.clone()))];
        tasks.push(tokio::spawn(accept(listener, ready)));
        Self { port, tasks }
    }
}

/// Mark each replica ready or not by its `/api/v1/ready`, every 100 ms.
async fn probe(ready: Arc<Vec<(u16, AtomicBool)>>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    loop {
        for (port, up) in ready.iter() {
            let ok = http
                .get(format!("http://127.0.0.1:{port}/api/v1/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            up.store(ok, Ordering::SeqCst);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn accept(listener: TcpListener, ready: Arc<Vec<(u16, AtomicBool)>>) {
    let next = Arc::new(AtomicUsize::new(0));
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let _ = client.set_nodelay(true);
        let (ready, next) = (ready.clone(), next.clone());
        tokio::spawn(async move {
            if let Some(mut upstream) = connect(&ready, &next).await {
                let mut client = client;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            }
        });
    }
}

/// A connection to the next ready replica (waiting up to 10 s while none is ready); `None`
/// when none became ready or the one picked refused.
async fn connect(ready: &[(u16, AtomicBool)], next: &AtomicUsize) -> Option<TcpStream> {
    for _ in 0..200 {
        for _ in 0..ready.len() {
            let (port, up) = &ready[next.fetch_add(1, Ordering::SeqCst) % ready.len()];
            if up.load(Ordering::SeqCst) {
                let stream = TcpStream::connect(("127.0.0.1", *port)).await.ok()?;
                let _ = stream.set_nodelay(true);
                return Some(stream);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}
