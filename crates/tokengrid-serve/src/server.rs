//! The HTTP server with limits: at most `max_connections` connections at once (the next waits
//! in the kernel's backlog until one closes), and a connection that takes longer than
//! `header_read_timeout` to send a request head, or sits idle that long between requests, is
//! closed (slow-loris clients and forgotten keep-alive connections). Shutdown stops accepting
//! and lets the requests in flight finish.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How many connections and how slow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Longest wait for a request head, from the connection's opening or the end of the last
    /// answer on it (so also the idle keep-alive timeout).
    pub header_read_timeout: Duration,
}

impl Default for Limits {
    /// 10,000 connections, 10 s for a request head (nginx's `client_header_timeout` is 60 s and
    /// its `keepalive_timeout` 75 s; a dispatcher's clients are programs, not people typing).
    fn default() -> Self {
        Limits {
            max_connections: 10_000,
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` resolves, then waits for the
/// connections' requests in flight to finish.
///
/// Connections are accepted here and served by the process's [workers](workers): one thread per
/// core, each running its own single-threaded runtime, and each connection stays on the worker
/// it was given (the least busy), with its requests, their upstream calls and their answers. A
/// request's tasks then wake each other on one thread instead of across threads, which on a
/// 2-core machine is most of what a proxied request costs besides the sockets themselves.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let http = Arc::new(http);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let sock = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((sock, _)) => sock,
                Err(e) => {
                    // Out of file descriptors, most often: wait for some to close.
                    tracing::warn!(error = %e, "accepting a connection failed; retrying shortly");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = sock.set_nodelay(true);
        let sock = match sock.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "a connection could not be handed to a worker; closed");
                continue;
            }
        };
        workers().serve(Connection {
            sock,
            router: router.clone(),
            http: http.clone(),
            watcher: graceful.watcher(),
            permit,
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// An accepted connection on its way to a worker, with what serves it.
struct Connection {
    sock: std::net::TcpStream,
    router: Router,
    http: Arc<hyper::server::conn::http1::Builder>,
    watcher: hyper_util::server::graceful::Watcher,
    /// Held until the connection closes ([`Limits::max_connections`]).
    permit: tokio::sync::OwnedSemaphorePermit,
}

impl Connection {
    /// Serves it to the end on the worker's runtime; `open` counts it until it closes.
    fn spawn(self, open: Arc<AtomicUsize>) {
        let Connection {
            sock,
            router,
            http,
            watcher,
            permit,
        } = self;
        let sock = match tokio::net::TcpStream::from_std(sock) {
            Ok(s) => s,
            Err(e) => {
                open.fetch_sub(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "a worker could not take a connection; closed");
                return;
            }
        };
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            router.clone().oneshot(req)
        });
        let conn = watcher.watch(http.serve_connection(TokioIo::new(sock), service));
        tokio::spawn(async move {
            // Errors here are the client's (a reset, a timeout): nothing to do but close.
            let _ = conn.await;
            open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
}

/// The threads that serve connections: one per core, each a single-threaded runtime, started
/// on first use and kept for the life of the process (shared by every server in it, so ledger
/// connections opened by a request never outlive the runtime that drives them).
struct Workers {
    workers: Vec<Worker>,
    next: AtomicUsize,
    /// The most connections open at once since memory was last handed back.
    peak: AtomicUsize,
}

struct Worker {
    tx: tokio::sync::mpsc::UnboundedSender<Connection>,
    /// Connections it serves now.
    open: Arc<AtomicUsize>,
}

fn workers() -> &'static Workers {
    static WORKERS: OnceLock<Workers> = OnceLock::new();
    WORKERS.get_or_init(|| {
        let n = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Workers {
            workers: (0..n).map(Worker::start).collect(),
            next: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    })
}

impl Workers {
    /// Gives `conn` to the worker with the fewest open connections (ties in turn).
    fn serve(&self, conn: Connection) {
        let n = self.workers.len();
        let from = self.next.fetch_add(1, Ordering::Relaxed);
        let Some(w) = (0..n)
            .map(|i| &self.workers[(from + i) % n])
            .min_by_key(|w| w.open.load(Ordering::Relaxed))
        else {
            return;
        };
        w.open.fetch_add(1, Ordering::Relaxed);
        self.peak.fetch_max(self.open(), Ordering::Relaxed);
        if w.tx.send(conn).is_err() {
            w.open.fetch_sub(1, Ordering::Relaxed);
            tracing::error!("a connection worker has stopped; connection closed");
        }
    }
}

impl Workers {
    /// Connections open now, across workers.
    fn open(&self) -> usize {
        self.workers
            .iter()
            .map(|w| w.open.load(Ordering::Relaxed))
            .sum()
    }
}

/// Connections the process serves now.
pub fn open_connections() -> usize {
    workers().open()
}

/// Whether a connection storm has passed: at least `closed` connections fewer are open than at
/// the peak since the last time this said so (the peak then starts again from now).
pub(crate) fn storm_passed(closed: usize) -> bool {
    let w = workers();
    let open = w.open();
    let peak = w.peak.load(Ordering::Relaxed);
    if peak >= open + closed {
        w.peak.store(open, Ordering::Relaxed);
        true
    } else {
        false
    }
}

impl Worker {
    fn start(i: usize) -> Worker {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Connection>();
        let open = Arc::new(AtomicUsize::new(0));
        let counted = open.clone();
        let started = std::thread::Builder::new()
            .name(format!("tokengrid-http-{i}"))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::error!(error = %e, "a connection worker could not start");
                        return;
                    }
                };
                rt.block_on(async move {
                    while let Some(conn) = rx.recv().await {
                        conn.spawn(counted.clone());
                    }
                });
            });
        if let Err(e) = started {
            tracing::error!(error = %e, "a connection worker thread could not start");
        }
        Worker { tx, open }
    }
}
