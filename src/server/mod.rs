//! The bianmin server: an axum app over a [`Store`]. The same code runs as `bianmin serve` and
//! embedded on loopback inside the standalone terminal.

pub mod access;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod handover_routes;
pub mod problem;
pub mod queue_routes;
pub mod routes;
pub mod seed;
pub mod store;
pub mod throttle;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{API_VERSION, VERSION_HEADER, paths};
use crate::domain::time::{Clock, SystemClock};
use store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub session_ttl: chrono::Duration,
    /// The live queue's feed and turn (see `queue_routes`).
    pub queue: Arc<queue_routes::QueueHub>,
}

/// What the server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: String,
    pub database_url: String,
    pub session_ttl_hours: u32,
    pub max_body_bytes: usize,
}

/// Body limit of an upload: a full batch of the largest records.
const UPLOAD_BODY_LIMIT: usize = 4 * 1024 * 1024;

pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let routes = Router::new()
        .route(paths::HEALTH, get(routes::health))
        .route(paths::SESSION, axum::routing::post(routes::sign_in).delete(routes::sign_out))
        .route(paths::ME, get(routes::me))
        .route(paths::CENTER, get(routes::center))
        .route(paths::GUIDES, get(routes::guides))
        .route("/api/v1/guides/{code}", get(routes::guide))
        .route("/api/v1/windows/{number}/overview", get(routes::window_overview))
        .route(
            paths::RECORDS,
            axum::routing::post(routes::upload_records)
                .get(routes::download_records)
                // A full batch of records is larger than any other request.
                .layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route(paths::SYNC_STATUS, get(routes::sync_status))
        .route(paths::CALENDAR, get(routes::calendar))
        .route(paths::LEXICON, get(routes::lexicon))
        .route("/api/v1/calendar/years/{year}", axum::routing::put(routes::put_calendar_year))
        .merge(queue_routes::routes())
        .merge(handover_routes::routes())
        .merge(admin::routes());
    // Every route above is checked against `access::TABLE` before its handler runs: add routes
    // above this line (and their rule to the table).
    access::guard(routes, state.clone())
        .fallback(problem::not_found_fallback)
        .method_not_allowed_fallback(problem::method_not_allowed_fallback)
        .layer(middleware::from_fn(problem::ensure_problem))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(problem::panicked))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(middleware::from_fn(stamp_and_log))
        .with_state(state)
}

/// Adds the API version to every reply and logs one line per request. Only the path is logged:
/// queries and bodies may hold what applicants told us.
async fn stamp_and_log(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = problem::redact_path(request.uri().path());
    let started = Instant::now();
    let mut response = next.run(request).await;
    response.headers_mut().insert(VERSION_HEADER, HeaderValue::from_static(API_VERSION));
    tracing::info!(%method, %path, status = response.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    response
}

/// Opens the database, seeds it from the bundled assets if it is new, and returns the state.
pub async fn prepare(config: &ServerConfig) -> color_eyre::Result<AppState> {
    let store = store::open(&config.database_url).await?;
    if !store.is_seeded().await? {
        let seed = tokio::task::spawn_blocking(seed::bundled_seed).await??;
        store.seed(&seed).await?;
        tracing::info!(guides = seed.guides.len(), "seeded a new database from the bundled sample data");
    }
    if store.calendar().await?.is_none() {
        store.put_calendar(&seed::bundled_calendar()?).await?;
    }
    if store.lexicon().await?.is_none() {
        store.put_lexicon(crate::domain::lexicon::Lexicon::bundled()).await?;
    }
    Ok(AppState {
        store,
        clock: Arc::new(SystemClock),
        session_ttl: chrono::Duration::hours(i64::from(config.session_ttl_hours.max(1))),
        queue: queue_routes::QueueHub::new(),
    })
}

/// A server running in the background of this process.
pub struct RunningServer {
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops accepting, lets requests in flight finish, and waits for it.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// Binds `config.listen` (use port 0 for any free port) and serves in a background task.
pub async fn start(config: &ServerConfig) -> color_eyre::Result<RunningServer> {
    let state = prepare(config).await?;
    let listener = TcpListener::bind(&config.listen).await?;
    start_on(listener, state, config.max_body_bytes)
}

pub fn start_on(listener: TcpListener, state: AppState, max_body_bytes: usize) -> color_eyre::Result<RunningServer> {
    start_with(listener, state, max_body_bytes, &ServeOptions::default())
}

/// How `bianmin serve` faces the network.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Serve HTTPS with this certificate and key; plain HTTP without (loopback, or behind a
    /// reverse proxy that terminates TLS).
    pub tls: Option<tls::TlsFiles>,
    /// Behind a reverse proxy: the client address (for the sign-in rate limit) is the last
    /// `X-Forwarded-For` entry.
    pub trust_forwarded_for: bool,
}

/// As [`start_on`], with TLS and proxy options.
pub fn start_with(
    listener: TcpListener,
    state: AppState,
    max_body_bytes: usize,
    options: &ServeOptions,
) -> color_eyre::Result<RunningServer> {
    use axum::serve::ListenerExt;
    let addr = listener.local_addr()?;
    let tls = options.tls.as_ref().map(tls::server_config).transpose()?;
    let (shutdown, mut rx) = watch::channel(false);
    let queue = state.queue.clone();
    let mut app = router(state, max_body_bytes);
    if options.trust_forwarded_for {
        app = app.layer(middleware::from_fn(throttle::trust_forwarded_for));
    }
    // The peer address reaches handlers as `ConnectInfo<SocketAddr>` (the sign-in rate limit).
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let stopped = async move {
        let _ = rx.wait_for(|stop| *stop).await;
        // Live queue feeds never end on their own; a shutdown would wait for them forever.
        queue.close();
    };
    let task = match tls {
        None => tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stopped).await }),
        Some(config) => {
            let listener = tls::TlsListener::new(listener, config)?.tap_io(|_| {});
            tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stopped).await })
        }
    };
    tracing::info!(%addr, tls = options.tls.is_some(), "server listening");
    Ok(RunningServer { addr, shutdown, task })
}

/// `bianmin serve`: runs until Ctrl-C or SIGTERM, then finishes requests in flight.
pub async fn serve_until_signal(config: &ServerConfig, options: &ServeOptions) -> color_eyre::Result<()> {
    let state = prepare(config).await?;
    let listener = TcpListener::bind(&config.listen).await?;
    let server = start_with(listener, state, config.max_body_bytes, options)?;
    let scheme = if options.tls.is_some() { "https" } else { "http" };
    eprintln!("bianmin 服务已启动: {scheme}://{}  (Ctrl-C 停止)", server.addr);
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
