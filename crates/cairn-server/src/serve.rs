//! Serving the router on a TCP listener: hyper's HTTP/1 and HTTP/2 with a header read timeout
//! (a client that opens connections and trickles their headers cannot pile them up), the
//! client's address for handlers, `TCP_NODELAY`, and a drain on shutdown.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tower::ServiceExt;

use crate::AppState;

/// How [`serve`] stops once its shutdown signal came.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drain {
    /// Go on accepting and serving this long while `/api/v1/ready` answers 503 and every
    /// response closes its connection, so load balancers take the replica out of rotation and
    /// keep-alive clients reconnect elsewhere before it stops accepting.
    pub delay: std::time::Duration,
    /// Then give the requests in flight this long to finish.
    pub grace: std::time::Duration,
}

/// Serve [`router`](crate::router)`(state)` on `listener` until `shutdown` resolves, then drain: answer
/// `/api/v1/ready` with 503 and close each connection after its response for `drain.delay`,
/// then stop accepting connections and let requests in flight finish for up to `drain.grace`
/// before returning (those still running then are cut, as a crash would, which the stores are
/// safe against). A connection whose request headers do not arrive within
/// [`Config::header_timeout`](crate::Config::header_timeout) is closed. Every connection gets
/// `TCP_NODELAY`: a response's headers and its body go out in separate writes, and with
/// Nagle's algorithm the body of a small file waited for the client's delayed ACK (40 ms per
/// download on loopback). Handlers see the client's address (failed-auth throttling).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    drain: Drain,
) -> std::io::Result<()> {
    serve_with(listener, state, axum::Router::new(), shutdown, drain).await
}

/// [`serve`] with `extra` routes beside the API ([`crate::router_with`]).
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    extra: axum::Router<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    drain: Drain,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(state.config.header_timeout);
    let draining = state.draining.clone();
    let app = crate::router_with(state, extra);
    let graceful = GracefulShutdown::new();
    let mut stop = pin!(async move {
        shutdown.await;
        draining.store(true, Ordering::SeqCst);
        tracing::info!(delay = ?drain.delay, "shutting down: not ready, closing connections");
        tokio::time::sleep(drain.delay).await;
    });
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // out of file descriptors, say: wait instead of spinning
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY: {e}");
        }
        let app = app.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let mut req = req.map(Body::new);
            req.extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(remote));
            app.clone().oneshot(req)
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(tcp), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection from {remote}: {e}");
            }
        });
    }
    drop(listener);
    tracing::info!(grace = ?drain.grace, "stopped accepting: finishing the requests in flight");
    if tokio::time::timeout(drain.grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutdown grace over: cutting the requests still in flight");
    }
    Ok(())
}
