//! The bianmin server: an axum app over a [`Store`]. The same code runs as `bianmin serve` and
//! embedded on loopback inside the standalone terminal.

pub mod access;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod board_routes;
pub mod county_routes;
pub mod feed_bus;
pub mod follow_up_routes;
pub mod guide_pages;
pub mod hall_routes;
pub mod handover_routes;
pub mod overlay_routes;
pub mod problem;
pub mod queue_routes;
pub mod routes;
pub mod seed;
pub mod service;
pub mod status_page;
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
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::accounts::paths as account_paths;
use crate::api::queue::paths as queue_paths;
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
    /// The clerks' invitations to rate (see `hall_routes`).
    pub invitations: Arc<hall_routes::Invitations>,
    /// Requests to the public status page per client address (see `status_page`).
    pub status_limits: Arc<status_page::Limiter>,
    /// Bookings per online channel account (see `domain::appointment::CHANNEL_BOOKINGS_PER_HOUR`).
    pub channel_bookings: Arc<status_page::Limiter>,
    /// Working days a bad rating's follow-up may stay open (`server.follow_up_due_working_days`).
    pub follow_up_due_days: u32,
    /// `center.opening_hours`: when an absent clerk is 空岗.
    pub opening_hours: crate::domain::attendance::OpeningHours,
    /// Which clerk's terminal was last heard from at which window (see `board_routes`).
    pub presence: Arc<board_routes::Presence>,
    /// The catalogue's pages as sent, gzipped, for the current catalogue revision.
    pub guide_pages: Arc<guide_pages::GuidePageCache>,
    /// The whole catalogue in one reply (terminals from before pages), gzipped, per revision.
    pub full_replies: Arc<guide_pages::FullReplies>,
    /// Whether password checks keep their working memory for the next.
    pub hash_memory: auth::HashMemory,
}

impl AppState {
    /// This state with its store bound to the center `who` acts for
    /// ([`SignedIn::acting_center`]): what every handler of center data works on, so that one
    /// center's caller never reads or writes another's. Cheap (the pool is shared).
    pub fn for_caller(&self, who: &auth::SignedIn) -> Result<AppState, problem::ApiError> {
        Ok(self.for_center(who.acting_center()?))
    }

    /// This state with its store bound to `center`.
    pub fn for_center(&self, center: &str) -> AppState {
        AppState { store: self.store.for_center(center), ..self.clone() }
    }
}

/// What the server needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: String,
    pub database_url: String,
    pub session_ttl_hours: u32,
    pub max_body_bytes: usize,
    /// `server.follow_up_due_working_days`.
    pub follow_up_due_working_days: u32,
    /// `center.opening_hours`.
    pub opening_hours: crate::domain::attendance::OpeningHours,
}

impl ServerConfig {
    /// The one conversion from settings: `bianmin serve`, the admin and import commands and the
    /// embedded standalone server all start from here.
    pub fn from_settings(settings: &crate::config::Settings) -> Result<Self, crate::config::ConfigError> {
        Ok(Self {
            listen: settings.server.listen.clone(),
            database_url: settings.server_database_url()?,
            session_ttl_hours: settings.server.session_ttl_hours,
            max_body_bytes: settings.server.max_body_bytes,
            follow_up_due_working_days: settings.server.follow_up_due_working_days,
            opening_hours: settings.center.opening_hours()?,
        })
    }
}

/// Binds the listening address, with a message a person can act on when that fails.
async fn bind(listen: &str) -> color_eyre::Result<TcpListener> {
    TcpListener::bind(listen).await.map_err(|e| {
        tracing::error!(listen, error = %e, "cannot listen");
        color_eyre::eyre::eyre!(bind_failure(listen, &e))
    })
}

/// What to tell the operator when `listen` cannot be bound: the cause and the fix, in Chinese.
pub fn bind_failure(listen: &str, e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::AddrInUse => format!(
            "端口已被占用：{listen} 上已有其他程序（可能是另一个 bianmin serve）在监听。\n\
             请先停止那个程序，或用 --listen 换一个端口，例如 --listen 0.0.0.0:8081"
        ),
        ErrorKind::PermissionDenied => format!(
            "没有权限监听 {listen}：1024 以下的端口需要管理员权限。\n请用 --listen 换一个 1024 以上的端口，例如 --listen 0.0.0.0:8080"
        ),
        ErrorKind::AddrNotAvailable => {
            format!("本机没有地址 {listen}。\n请用本机的 IP 地址，或用 --listen 0.0.0.0:8080 监听所有网卡")
        }
        _ if listen.parse::<SocketAddr>().is_err() => {
            format!("监听地址 {listen:?} 无效（{e}）。\n应写成 IP:端口，例如 --listen 0.0.0.0:8080")
        }
        _ => format!("无法监听 {listen}：{e}"),
    }
}

/// Body limit of an upload: a full batch of the largest records.
const UPLOAD_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Every route of the server, who may call it, and its handler: the one declaration the router
/// and the access check are built from (see `access`).
pub fn declaration() -> Vec<access::Route> {
    use access::Method::{Delete, Get, Post, Put};
    use access::{
        BOARD_VIEWERS, BOOKERS, CATALOGUE_EDITORS, FOLLOW_UP_ROLES, FREE_PLACE_READERS, ISSUERS, LogFrom,
        QUEUE_WATCHERS, RECORD_UPLOADERS, REPORT_READERS, Rule, SLOT_READERS, TICKET_DESK, WINDOW_STAFF, route,
    };
    use hall_routes as hall;
    use handover_routes as handovers;
    use queue_routes as queue;
    const WINDOW: Rule = Rule::WindowHolder;
    const ACTING: Rule = Rule::WindowActing;
    vec![
        route(Get, paths::HEALTH, Rule::Public, routes::health),
        route(Post, paths::SESSION, Rule::Public, routes::sign_in),
        // A ticket's status page (clause 7.1.1), from the QR code on its slip: public, but only
        // with the ticket's random token; no applicant data; limited per address.
        route(Get, "/q/{day}/{number}", Rule::Public, status_page::page),
        route(Delete, paths::SESSION, Rule::Anyone, routes::sign_out),
        route(Get, paths::ME, Rule::Anyone, routes::me),
        // The center, its windows, categories and staff names: no applicant data. The hall's
        // devices read it too (the kiosk's categories, the display's windows).
        route(Get, paths::CENTER, Rule::Anyone, routes::center),
        route(Get, paths::GUIDES, Rule::Staff, routes::guides),
        route(Get, "/api/v1/guides/{code}", Rule::Staff, routes::guide),
        route(Post, "/api/v1/guides/{code}/aliases", Rule::Roles(CATALOGUE_EDITORS), overlay_routes::add_county_alias),
        route(
            Put,
            "/api/v1/centers/{center}/guides/{code}/overlay",
            Rule::Roles(CATALOGUE_EDITORS),
            overlay_routes::put_overlay,
        ),
        route(Get, paths::CALENDAR, Rule::Staff, routes::calendar),
        // The desk's colloquial lexicon: words, no applicant data.
        route(Get, paths::LEXICON, Rule::Staff, routes::lexicon),
        route(Put, "/api/v1/calendar/years/{year}", Rule::Admin, routes::put_calendar_year),
        // Open cases with applicants.
        route(Get, "/api/v1/windows/{number}/overview", WINDOW, routes::window_overview),
        // Records carry cases; the handler checks the window of every record sent. The
        // evaluators upload their ratings as records too (only those, only of their window).
        route(Post, paths::RECORDS, Rule::Roles(RECORD_UPLOADERS), routes::upload_records)
            .body_limit(UPLOAD_BODY_LIMIT),
        route(Get, paths::RECORDS, Rule::Log(LogFrom::Stream), routes::download_records),
        route(Get, paths::SYNC_STATUS, Rule::Log(LogFrom::Query("window")), routes::sync_status),
        // A returning applicant's case, across windows: the handler asks the domain whether the
        // caller works at a 综合受理 window; the read is audited.
        route(Post, paths::CASE_SEARCH, Rule::Roles(WINDOW_STAFF), routes::search_cases),
        route(Post, "/api/v1/windows/{number}/case-conflicts/{record}/seen", WINDOW, routes::case_conflict_seen),
        // The queue as the hall display shows it: numbers, categories, guide codes, short notes
        // without personal data.
        // The display follows it too; the kiosk only issues.
        route(Get, queue_paths::QUEUE, Rule::Roles(QUEUE_WATCHERS), queue::snapshot),
        route(Get, queue_paths::QUEUE_EVENTS, Rule::Roles(QUEUE_WATCHERS), queue::events),
        route(Get, queue_paths::QUEUE_STATS, Rule::Roles(QUEUE_WATCHERS), queue::stats),
        route(Post, queue_paths::QUEUE_TICKETS, Rule::Roles(ISSUERS), queue::issue),
        // The same, with what the kiosk's slip says (people ahead, the wait, the windows).
        route(Post, crate::api::hall::paths::KIOSK_TICKETS, Rule::Roles(ISSUERS), hall::kiosk_issue),
        // Today's satisfaction rate, public on the hall display (clause 8.2.1.4): counts only.
        route(Get, paths::RATINGS_TODAY, Rule::Roles(QUEUE_WATCHERS), routes::ratings_today),
        route(Post, "/api/v1/queue/tickets/{number}/check-in", Rule::Roles(TICKET_DESK), queue::check_in),
        // Appointments (预约): the desk and the online channel book and cancel (the channel only
        // its own bookings); the kiosk and the desk check in by code or phone; every issuer and
        // the director read the slots, the admin sets them; whoever books and the director see
        // the places left.
        route(Get, queue_paths::APPOINTMENT_SLOTS, Rule::Roles(SLOT_READERS), queue::slots),
        route(Put, "/api/v1/appointments/slots/{letter}", Rule::Admin, queue::put_slots),
        route(Get, queue_paths::APPOINTMENTS_FREE, Rule::Roles(FREE_PLACE_READERS), queue::free_places),
        route(Post, queue_paths::APPOINTMENTS, Rule::Roles(BOOKERS), queue::book),
        route(Post, queue_paths::APPOINTMENT_CHECK_IN, Rule::Roles(ISSUERS), queue::check_in_booking),
        route(Post, queue_paths::APPOINTMENT_CANCEL, Rule::Roles(BOOKERS), queue::cancel_booking),
        route(Post, "/api/v1/queue/tickets/{number}/return", Rule::Roles(TICKET_DESK), queue::return_to_line),
        // The window's queue: whoever acts for the window by its duty.
        route(Post, "/api/v1/windows/{number}/call-next", ACTING, queue::call_next),
        route(Post, "/api/v1/windows/{number}/call", ACTING, queue::call),
        route(Post, "/api/v1/windows/{number}/recall", ACTING, queue::recall),
        route(Post, "/api/v1/windows/{number}/no-show", ACTING, queue::no_show),
        route(Post, "/api/v1/windows/{number}/start", ACTING, queue::start),
        route(Post, "/api/v1/windows/{number}/finish", ACTING, queue::finish),
        route(Post, "/api/v1/windows/{number}/transfer", ACTING, queue::transfer),
        route(Post, "/api/v1/windows/{number}/park", ACTING, queue::park),
        route(Post, "/api/v1/windows/{number}/call-back", ACTING, queue::call_back),
        route(Post, "/api/v1/windows/{number}/walk-in", ACTING, queue::walk_in),
        route(Post, "/api/v1/windows/{number}/pause", ACTING, queue::pause),
        route(Post, "/api/v1/windows/{number}/resume", ACTING, queue::resume),
        // The evaluator facing the window: the clerk, the ticket and its step (no applicant
        // data), and the applicant's rating of the ticket served; the clerk invites the rating.
        route(Get, "/api/v1/windows/{number}/facing", Rule::WindowEvaluator, hall::facing),
        route(Post, "/api/v1/windows/{number}/ratings", Rule::WindowEvaluator, hall::rate),
        route(Post, "/api/v1/windows/{number}/invite-rating", ACTING, hall::invite),
        // A/B posts: duty and handovers of the window (the store checks the duty change itself
        // with the same rule); the roster is the admin's.
        route(Put, "/api/v1/windows/{number}/duty", WINDOW, handovers::put_duty),
        route(Get, "/api/v1/windows/{number}/handovers", WINDOW, handovers::history),
        route(Put, "/api/v1/windows/{number}/holders", Rule::Admin, handovers::put_holders),
        // 差评整改: the director (or an admin) assigns and closes; a clerk answers those of the
        // windows whose post they hold (the handlers ask the domain which step is whose).
        route(Get, paths::FOLLOW_UPS, Rule::Roles(FOLLOW_UP_ROLES), follow_up_routes::list),
        route(Post, paths::FOLLOW_UP_STEPS, Rule::Roles(FOLLOW_UP_ROLES), follow_up_routes::add_step),
        // The director's board: the whole center, no applicant data beyond case numbers.
        route(Get, paths::BOARD, Rule::Roles(BOARD_VIEWERS), board_routes::board),
        // Its export: the supervision report of a period, as `bianmin report` makes it.
        route(Get, paths::REPORT, Rule::Roles(REPORT_READERS), board_routes::report),
        // A clerk's terminal at the window says it is there (空岗 is judged from it).
        route(Post, paths::PRESENCE, WINDOW, board_routes::presence),
        // Accounts.
        route(Delete, account_paths::SESSIONS_OF, Rule::Admin, admin::revoke_sessions),
        route(Delete, account_paths::LOCK_OF, Rule::Admin, admin::unlock_route),
        route(Get, account_paths::AUDIT, Rule::Admin, admin::audit_trail),
        // The county admin's calls on a chosen center (clause 5.1.1.1: clerks are staffed by the
        // county): the center admin's own actions above, on the center the path names.
        route(Put, "/api/v1/centers/{center}/windows/{number}/holders", Rule::County, county_routes::put_holders),
        route(Put, "/api/v1/centers/{center}/appointments/slots/{letter}", Rule::County, county_routes::put_slots),
        route(Delete, "/api/v1/centers/{center}/sessions/{staff_id}", Rule::County, county_routes::revoke_sessions),
        route(Delete, "/api/v1/centers/{center}/staff/{staff_id}/lock", Rule::County, county_routes::unlock),
        route(Get, "/api/v1/centers/{center}/audit", Rule::County, county_routes::audit_trail),
    ]
}

pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    // Every declared route is checked with its rule before its handler runs.
    access::build(declaration(), state.clone())
        // Outside the access check, so that its refusals are audited too.
        .route_layer(middleware::from_fn_with_state(state.clone(), audit::trail))
        .fallback(problem::not_found_fallback)
        .method_not_allowed_fallback(problem::method_not_allowed_fallback)
        .layer(middleware::from_fn(problem::ensure_problem))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(problem::panicked))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(tower_http::compression::CompressionLayer::new().compress_when(worth_compressing()))
        .layer(middleware::from_fn(stamp_and_log))
        .with_state(state)
}

/// Replies smaller than this go out as they are. Each gzip stream sets up a compressor of a few
/// hundred KiB (allocated and zeroed) for a reply of a few hundred bytes that fits one TCP
/// segment either way; in the county bench's profile that was done for every call-next,
/// evaluator look and kiosk slip.
const COMPRESS_FROM_BYTES: u16 = 1400;

/// tower-http's default rule (not gRPC, images or the live feed's event stream), from
/// [`COMPRESS_FROM_BYTES`] instead of 32 bytes.
fn worth_compressing() -> impl tower_http::compression::Predicate {
    use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
    SizeAbove::new(COMPRESS_FROM_BYTES)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
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
    prepare_store(config, store::open(&config.database_url).await?).await
}

/// [`prepare`] on a store already opened (a first import opens a scratch file of its own).
pub async fn prepare_store(config: &ServerConfig, store: Arc<dyn store::Store>) -> color_eyre::Result<AppState> {
    if !store.is_seeded().await? {
        let seed = tokio::task::spawn_blocking(seed::bundled_seed).await??;
        // The seed is one transaction, and its rows have keys: of two servers started at once on
        // one empty database, one commits it and the other's fails and rolls back whole.
        match store.seed(&seed).await {
            Ok(()) => tracing::info!(guides = seed.guides.len(), "seeded a new database from the bundled sample data"),
            Err(e) if store.is_seeded().await? => {
                tracing::info!(error = %e, "another server seeded the new database at the same time; using its seed");
            }
            Err(e) => return Err(e.into()),
        }
    }
    if store.calendar().await?.is_none() {
        store.put_calendar(&crate::assets::bundled_calendar()?).await?;
    }
    if store.lexicon().await?.is_none() {
        store.put_lexicon(crate::domain::lexicon::Lexicon::bundled()).await?;
    }
    let queue = queue_routes::QueueHub::new();
    if store::is_postgres_url(&config.database_url) {
        // Other server processes may share the database: their changes reach our feeds and ours
        // theirs. Listening before the port answers, so no change after that is missed.
        feed_bus::join(&queue, &config.database_url, store.clone()).await?;
    }
    Ok(AppState {
        store,
        clock: Arc::new(SystemClock),
        session_ttl: chrono::Duration::hours(i64::from(config.session_ttl_hours.max(1))),
        queue,
        invitations: Arc::default(),
        status_limits: Arc::default(),
        channel_bookings: Arc::new(status_page::Limiter::new(
            crate::domain::appointment::CHANNEL_BOOKINGS_PER_HOUR,
            3600,
        )),
        follow_up_due_days: config.follow_up_due_working_days,
        opening_hours: config.opening_hours.clone(),
        presence: Arc::default(),
        guide_pages: Arc::default(),
        full_replies: Arc::default(),
        hash_memory: auth::HashMemory::Kept,
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
pub async fn start(config: &ServerConfig, options: &ServeOptions) -> color_eyre::Result<RunningServer> {
    let state = prepare(config).await?;
    let listener = bind(&config.listen).await?;
    start_with(listener, state, config.max_body_bytes, options)
}

/// [`start`] for the standalone terminal's own server on loopback, in the terminal's process and
/// serving only it: the password check's 7 MiB is given back after the start's sign-in instead
/// of kept for the next (all of it would stay in the terminal), and the whole-catalogue reply is
/// not built ahead (see [`ServeOptions::own_terminal_only`]).
pub async fn start_for_one_terminal(config: &ServerConfig) -> color_eyre::Result<RunningServer> {
    let mut state = prepare(config).await?;
    state.hash_memory = auth::HashMemory::Released;
    let listener = bind(&config.listen).await?;
    start_with(listener, state, config.max_body_bytes, &ServeOptions { own_terminal_only: true, ..Default::default() })
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
    /// The standalone terminal's embedded server: on a loopback port only its own terminal
    /// knows, and that terminal reads the catalogue in pages. The whole-catalogue reply for
    /// terminals from before pages is then not built ahead (at 10,000 guides it would hold
    /// megabytes of the terminal's memory for no one); an ask would still be answered.
    pub own_terminal_only: bool,
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
    if state.hash_memory == auth::HashMemory::Kept {
        auth::prepare_dummy_hash();
    }
    let queue = state.queue.clone();
    if !options.own_terminal_only {
        // Old terminals' whole-catalogue reply, built ahead in the background until the server stops.
        let keep_built = state.full_replies.clone().keep_built(state.store.clone());
        let mut stop = shutdown.subscribe();
        tokio::spawn(async move {
            tokio::select! {
                _ = keep_built => {}
                _ = stop.wait_for(|stop| *stop) => {}
            }
        });
    }
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
        None => {
            let listener = accepting(listener);
            tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stopped).await })
        }
        Some(config) => {
            let listener = tls::TlsListener::new(listener, config)?.tap_io(|_| {});
            tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stopped).await })
        }
    };
    tracing::info!(%addr, tls = options.tls.is_some(), "server listening");
    Ok(RunningServer { addr, shutdown, task })
}

/// Sends what a connection writes at once (TCP_NODELAY). The live feed writes each change as a
/// small event of its own; with Nagle's algorithm an event written while the one before it was
/// not yet acknowledged waited for that acknowledgement, which the client delays by up to 40 ms:
/// the county bench's feed delivery p99 sat at 40-42 ms at every load.
pub(crate) fn no_delay(tcp: &mut tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::warn!(error = %e, "TCP_NODELAY not set on a connection");
    }
}

/// The plain listener: every connection it accepts sends without delay ([`no_delay`]).
fn accepting(listener: TcpListener) -> axum::serve::TapIo<TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt;
    listener.tap_io(no_delay)
}

/// `bianmin serve`: runs until Ctrl-C or SIGTERM, then finishes requests in flight.
pub async fn serve_until_signal(config: &ServerConfig, options: &ServeOptions) -> color_eyre::Result<()> {
    // Before the port answers: a SIGTERM sent as soon as it does must stop the server
    // gracefully, not kill it with the default action.
    let shutdown = Shutdown::listen()?;
    let state = prepare(config).await?;
    let listener = bind(&config.listen).await?;
    let server = start_with(listener, state, config.max_body_bytes, options)?;
    let scheme = if options.tls.is_some() { "https" } else { "http" };
    eprintln!("bianmin 服务已启动: {scheme}://{}  (Ctrl-C 停止)", server.addr);
    shutdown.wait().await;
    tracing::info!("shutting down");
    server.stop().await;
    Ok(())
}

/// The signals that stop `bianmin serve` (Ctrl-C, and SIGTERM on Unix; on Windows also
/// Ctrl-Break, the console window closing, and the user logging off or the PC shutting down),
/// registered when made.
struct Shutdown {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(windows)]
    windows: crate::platform::ConsoleStop,
}

impl Shutdown {
    fn listen() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self { terminate: signal(SignalKind::terminate())?, interrupt: signal(SignalKind::interrupt())? })
        }
        #[cfg(windows)]
        {
            Ok(Self { windows: crate::platform::ConsoleStop::listen()? })
        }
        #[cfg(not(any(unix, windows)))]
        Ok(Self {})
    }

    async fn wait(self) {
        #[cfg(unix)]
        {
            let Self { mut terminate, mut interrupt } = self;
            tokio::select! {
                _ = terminate.recv() => {},
                _ = interrupt.recv() => {},
            }
        }
        #[cfg(windows)]
        {
            self.windows.wait().await;
        }
        #[cfg(not(any(unix, windows)))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod nodelay_tests {
    /// What the plain listener accepts has TCP_NODELAY set (the TLS listener sets it in its
    /// accept loop with the same [`super::no_delay`]).
    #[tokio::test]
    async fn accepted_connections_send_without_delay() {
        use axum::serve::Listener;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut listener = super::accepting(listener);
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (io, _) = listener.accept().await;
        assert!(io.nodelay().unwrap());
    }
}
