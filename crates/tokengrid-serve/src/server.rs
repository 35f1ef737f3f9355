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
use axum::body::Body;
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

/// What a server answers with: the router, and the dispatcher state whose hot routes
/// ([`crate::routes::hot`]) are called without it.
#[derive(Debug, Clone)]
pub struct App {
    router: Router,
    state: Option<Arc<crate::AppState>>,
}

impl App {
    /// The dispatcher's API for `state` ([`crate::app`]), its hot routes called directly.
    pub fn new(state: Arc<crate::AppState>) -> Self {
        App {
            router: crate::app(state.clone()),
            state: Some(state),
        }
    }

    /// Answers `req`.
    fn answer(
        &self,
        req: hyper::Request<Incoming>,
    ) -> impl Future<Output = Result<axum::response::Response, std::convert::Infallible>> + use<>
    {
        let hot = (self.state.as_ref()).and_then(|st| {
            Some((
                crate::routes::hot(req.method(), req.uri().path())?,
                st.clone(),
            ))
        });
        let route = hot.ok_or_else(|| self.router.clone());
        async move {
            match route {
                Ok((handler, st)) => Ok(handler(req.map(Body::new), st).await),
                Err(router) => router.oneshot(req).await,
            }
        }
    }
}

impl From<Router> for App {
    /// Any router, every request through it.
    fn from(router: Router) -> Self {
        App {
            router,
            state: None,
        }
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves, then waits for the
/// connections' requests in flight to finish.
///
/// Connections are accepted here and served by the process's [workers](workers): one thread per
/// core, each running its own single-threaded runtime, and each connection stays on the worker
/// it was given (the least busy), with its requests, their upstream calls and their answers. A
/// request's tasks then wake each other on one thread instead of across threads, which on a
/// 2-core machine is most of what a proxied request costs besides the sockets themselves.
pub async fn serve(
    listener: TcpListener,
    app: impl Into<App>,
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
    let app = app.into();
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
            app: app.clone(),
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
    app: App,
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
            app,
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
        let service =
            hyper::service::service_fn(move |req: hyper::Request<Incoming>| app.answer(req));
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
                    tokio::spawn(keep_timers_near());
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

/// A timer that never stops: a worker's runtime then always has a timer due within
/// [`TIMER_TICK`], so the timers each request starts (the head timeout, 10 s; the first-byte
/// and stream-idle timeouts, 1 s and more) are never the earliest, and registering one does not
/// wake the runtime's own driver. Without it, every request's head timeout was earlier than any
/// timer pending, and tokio woke the driver for it: an eventfd write and an extra turn of its
/// event loop per request (strace: one `write` per proxied request).
async fn keep_timers_near() {
    let mut tick = tokio::time::interval(TIMER_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
    }
}

/// How often [`keep_timers_near`] wakes: shorter than the shortest per-request timeout (1 s).
const TIMER_TICK: Duration = Duration::from_millis(500);
