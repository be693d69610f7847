//! The HTTP(S) accept loop: one task per connection (TLS handshake included, so a slow
//! client never blocks accepting), HTTP/1.1 via hyper, and graceful shutdown that stops
//! accepting and waits for in-flight requests.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A bound listener and its TLS settings, ready for [`Bound::serve_until_signal`].
pub struct Bound {
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Bound {
    /// Loads the TLS files (when given), binds `addr` and logs
    /// `listening on http(s)://ADDR` (the line tests and scripts wait for).
    ///
    /// # Errors
    /// The TLS files cannot be loaded or the address cannot be bound.
    pub async fn bind(addr: &str, tls: Option<&crate::config::TlsFiles>) -> anyhow::Result<Bound> {
        use anyhow::Context as _;
        let tls = match tls {
            Some(t) => Some(crate::tls::server_config(&t.cert, &t.key)?),
            None => None,
        };
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        log::info!("listening on {scheme}://{}", listener.local_addr()?);
        Ok(Bound { listener, tls })
    }

    /// Serves `app` until SIGINT or SIGTERM, then lets in-flight requests finish
    /// (up to [`crate::config::SHUTDOWN_GRACE`]).
    pub async fn serve_until_signal(self, app: Router) {
        serve(
            self.listener,
            app,
            self.tls,
            shutdown_signal(),
            crate::config::SHUTDOWN_GRACE,
        )
        .await;
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then waits up to `grace` for
/// open connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    let acceptor = tls.map(TlsAcceptor::from);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    log::warn!("cannot accept connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let svc = TowerToHyperService::new(app.clone());
        let builder = hyper::server::conn::http1::Builder::new();
        match &acceptor {
            None => {
                let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), svc));
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        log::debug!("connection from {peer}: {e}");
                    }
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let tls = match acceptor.accept(stream).await {
                        Ok(s) => s,
                        Err(e) => {
                            log::warn!("TLS handshake with {peer} failed: {e}");
                            return;
                        }
                    };
                    let conn = watcher.watch(builder.serve_connection(TokioIo::new(tls), svc));
                    if let Err(e) = conn.await {
                        log::debug!("connection from {peer}: {e}");
                    }
                });
            }
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            log::warn!("connections still open after {grace:?}; closing them");
        }
    }
}

/// Resolves on the first SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        log::error!("cannot install signal handlers; stop the server with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => log::info!("received SIGINT; shutting down"),
        _ = term.recv() => log::info!("received SIGTERM; shutting down"),
    }
}
