//! The backend: opens the local store and shows what it holds at once, connects to the server
//! (waiting for the embedded one when standalone: it is started by the caller, see
//! [`ServerUrl`]), signs in, syncs the device log and keeps the app's copy of the server's data
//! fresh. It reports through the event channel and never touches the screen; the
//! event loop never waits for it.
//!
//! Three tasks, so that nothing waits behind the network that need not: the sync task (sign-in,
//! the rounds with the server, the timer), the writer (commits records to the device log; it
//! never waits for a sync round, and asks the sync task for a round after each commit), and the
//! queue task (window operations on the shared queue, which need the server but not a round).
//! The sync task publishes what the other two need to know (the store, the client, who is signed
//! in, the window as last seen) through a watch channel.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, watch};

use super::app::{AppCommand, AppEvent, BackendEvent, Link};
use super::catalogue::CatalogueHandle;
use crate::api::{CalendarReply, CenterInfo, Me, PostChoice, WindowOverview};
use crate::client::local::LocalStore;
use crate::client::sync::{SyncError, sync_logs};
use crate::client::{ApiClient, ClientError};
use crate::config::Settings;
use crate::domain::calendar::WorkCalendar;
use crate::domain::record::DESK_WINDOW;
use crate::domain::record::{RecordBody, Visit};
use crate::domain::staff::Role;

/// Where the terminal's server is. The terminal knows it by its URL only, whoever runs it.
pub enum ServerUrl {
    /// A server at this URL (remote, or already listening).
    At(String),
    /// The embedded server, being started by the caller: its URL arrives once it listens, or
    /// why it could not start (in Chinese, for the status line).
    Starting(tokio::sync::oneshot::Receiver<Result<String, String>>),
}

/// Who to sign in as.
#[derive(Clone)]
pub struct Credentials {
    pub staff_id: String,
    pub password: String,
}

mod board;
mod cases;
mod desk;
mod handover;
mod queue;

pub struct BackendHandle {
    commands: mpsc::UnboundedSender<AppCommand>,
    writes: mpsc::UnboundedSender<AppCommand>,
    queue: mpsc::UnboundedSender<AppCommand>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    writer: tokio::task::JoinHandle<()>,
    queue_task: tokio::task::JoinHandle<()>,
}

impl BackendHandle {
    pub fn send(&self, command: AppCommand) {
        let to = match &command {
            AppCommand::Refresh
            | AppCommand::SyncNow
            | AppCommand::SignIn { .. }
            | AppCommand::SignOut
            | AppCommand::WorkAt { .. }
            | AppCommand::OpenGuide(_)
            | AppCommand::Search(_) => &self.commands,
            // A ticket for an inquiry is asked of the server first: it waits with the queue, not
            // in front of the next record.
            AppCommand::Queue(_)
            | AppCommand::FollowUpStep { .. }
            | AppCommand::ExportReport
            | AppCommand::IssueTicketFor { .. }
            | AppCommand::Book(_)
            | AppCommand::CancelBooking(_)
            | AppCommand::FreePlaces(_)
            | AppCommand::FindCases(_)
            | AppCommand::ConflictsSeen(_) => &self.queue,
            _ => &self.writes,
        };
        let _ = to.send(command);
    }

    /// Lets the writer commit what it was given, then stops the tasks; gives up after `grace`.
    pub async fn stop(self, grace: Duration) {
        let Self { commands, writes, queue, stop, task, writer, queue_task } = self;
        drop((writes, queue));
        let deadline = tokio::time::Instant::now() + grace;
        if tokio::time::timeout_at(deadline, writer).await.is_err() {
            tracing::warn!("writer did not finish in time");
        }
        queue_task.abort();
        let _ = stop.send(true);
        if tokio::time::timeout_at(deadline, task).await.is_err() {
            tracing::warn!("backend did not stop in time");
        }
        drop(commands);
    }
}

/// What the sync task knows that the writer and the queue task need.
#[derive(Clone, Default)]
struct Context {
    /// The store was opened (or failed to open): commands need not wait any longer.
    opened: bool,
    local: Option<LocalStore>,
    client: Option<ApiClient>,
    me: Option<Me>,
    last_overview: Option<WindowOverview>,
    center: Option<CenterInfo>,
    calendar: Option<WorkCalendar>,
}

pub fn spawn(
    settings: Settings,
    server: ServerUrl,
    credentials: Option<Credentials>,
    events: mpsc::UnboundedSender<AppEvent>,
    catalogue: CatalogueHandle,
) -> BackendHandle {
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (writes, write_rx) = mpsc::unbounded_channel();
    let (queue, queue_rx) = mpsc::unbounded_channel();
    let (stop, stop_rx) = watch::channel(false);
    let (context, context_rx) = watch::channel(Context::default());
    let mut writer = Worker::new(settings.clone(), None, events.clone(), catalogue.clone(), commands.clone());
    let writer = tokio::spawn(async move { writer.serve(write_rx, context_rx).await });
    let mut queue_worker = Worker::new(settings.clone(), None, events.clone(), catalogue.clone(), commands.clone());
    let queue_context = context.subscribe();
    let queue_task = tokio::spawn(async move { queue_worker.serve(queue_rx, queue_context).await });
    let own_commands = commands.clone();
    let task = tokio::spawn(async move {
        let mut worker = Worker::new(settings, credentials, events, catalogue, own_commands);
        worker.context = Some(context);
        worker.server = Some(server);
        worker.sync_loop(command_rx, stop_rx).await;
        if let Some(feed) = worker.queue_feed.take() {
            feed.abort();
        }
        worker.stop_feeds();
        if let Some(local) = &worker.local {
            local.close().await;
        }
    });
    BackendHandle { commands, writes, queue, stop, task, writer, queue_task }
}

const ME_KEY: &str = "me";
const CALENDAR_KEY: &str = "calendar";
pub(crate) const LEXICON_KEY: &str = "lexicon";
/// How often a terminal asks whether the desk's lexicon changed.
const LEXICON_CHECK: std::time::Duration = std::time::Duration::from_secs(300);
const CENTER_KEY: &str = "center";

fn overview_key(window: u32) -> String {
    format!("overview:{window}")
}

struct Worker {
    settings: Settings,
    credentials: Option<Credentials>,
    events: mpsc::UnboundedSender<AppEvent>,
    local: Option<LocalStore>,
    client: Option<ApiClient>,
    /// Who is signed in (from the server, or from the cache until the server answers).
    me: Option<Me>,
    signed_in: bool,
    /// Where to connect (the sync task's; taken when it connects).
    server: Option<ServerUrl>,
    /// Failed rounds in a row, for the backoff.
    failures: u32,
    /// What the app was last told, for work that needs it (the current ticket, the letterhead,
    /// deadlines).
    last_overview: Option<WindowOverview>,
    center: Option<CenterInfo>,
    calendar: Option<WorkCalendar>,
    /// When the desk's lexicon was last asked for: it changes rarely, so not every round.
    lexicon_checked: Option<tokio::time::Instant>,
    /// Something was committed locally: exchange with the server now rather than at the next
    /// interval.
    sync_soon: bool,
    /// Where a new catalogue goes: the job that indexes it for search.
    catalogue: CatalogueHandle,
    /// A way to send this worker a command from its own helper tasks (the queue feed asks for a
    /// sync when the server says this window's records changed).
    own_commands: mpsc::UnboundedSender<AppCommand>,
    /// Credentials came from the configuration (standalone, or scripted), not from the clerk:
    /// the terminal may sign in again by itself.
    credentials_given: bool,
    /// The task forwarding the live queue to the app, started at sign-in.
    queue_feed: Option<tokio::task::JoinHandle<()>>,
    /// The sync task's: where it publishes what the writer and the queue task need.
    context: Option<watch::Sender<Context>>,
    /// The window the clerk chose to work at this session (asked, or switched with Ctrl+P).
    chosen_window: Option<u32>,
    /// The task fetching the director's board, started at sign-in (see `board`).
    board_feed: Option<tokio::task::JoinHandle<()>>,
    /// The task telling the server this clerk is at their window (see `board`).
    presence_feed: Option<tokio::task::JoinHandle<()>>,
    /// The sign-in made at start beside the store's opening, for the first round to use.
    early_sign_in: Option<Result<Option<Me>, ClientError>>,
}

/// Keeps the session's token for the next start (a remote terminal only).
fn keep_token(settings: &Settings, client: &ApiClient) {
    if settings.is_standalone() {
        return;
    }
    let origin = client.base().origin().ascii_serialization();
    if let (Ok(dir), Some(token)) = (settings.data_dir(), client.token())
        && let Err(e) = crate::client::token::save_token(&dir, &origin, token)
    {
        tracing::warn!(error = %e, "session token not kept");
    }
}

fn forget_token(settings: &Settings) {
    if let Ok(dir) = settings.data_dir() {
        let _ = crate::client::token::clear_token(&dir);
    }
}

/// Signs in with the token kept from an earlier run, if there is one and it still works.
async fn resume_session(settings: &Settings, client: &mut ApiClient) -> Result<Option<Me>, ClientError> {
    let Ok(dir) = settings.data_dir() else { return Ok(None) };
    let origin = client.base().origin().ascii_serialization();
    let Ok(Some(token)) = crate::client::token::load_token(&dir, &origin) else { return Ok(None) };
    client.set_token(Some(token));
    match client.me().await {
        Ok(me) => Ok(Some(me)),
        Err(e) if e.is_offline() => Err(e),
        Err(e) => {
            tracing::info!(error = ?e, "kept session no longer valid");
            client.set_token(None);
            forget_token(settings);
            Ok(None)
        }
    }
}

/// What the start did beside opening the local store.
struct EarlyStart {
    /// The client, or why there is none (in Chinese, for the status line).
    client: Result<ApiClient, String>,
    /// The sign-in's outcome, as the first round would have had it: who signed in, nobody (no
    /// credentials and no kept session: the clerk is asked), or why not. `None`: not tried.
    signed_in: Option<Result<Option<Me>, ClientError>>,
}

/// Connects (once the embedded server listens, when standalone) and signs in, with the given
/// credentials or the session kept from an earlier run. Touches no local store: it runs beside
/// the store's opening at start.
async fn connect_and_sign_in(
    server: Option<ServerUrl>,
    settings: Settings,
    credentials: Option<Credentials>,
    events: mpsc::UnboundedSender<AppEvent>,
    built: tokio::sync::oneshot::Sender<ApiClient>,
) -> EarlyStart {
    let report = |event: BackendEvent| {
        let _ = events.send(AppEvent::Backend(event));
    };
    let base = match server {
        Some(ServerUrl::At(url)) => Ok(url),
        Some(ServerUrl::Starting(started)) => {
            report(BackendEvent::Link(Link::Connecting("正在启动本机服务".into())));
            match started.await {
                Ok(started) => started,
                Err(_) => Err("本机服务启动失败".to_owned()),
            }
        }
        None => Err("未指定服务器".into()),
    };
    let mut client = match base.and_then(|base| ApiClient::new(&base, &settings.network).map_err(|e| e.to_string())) {
        Ok(client) => client,
        Err(message) => return EarlyStart { client: Err(message), signed_in: None },
    };
    let _ = built.send(client.clone());
    // As a round does first: a sign-out made offline ends that session now.
    if !settings.is_standalone()
        && let Ok(dir) = settings.data_dir()
        && let Err(e) = crate::client::token::revoke_pending(&dir, &client).await
        && !e.is_offline()
    {
        tracing::warn!(error = ?e, "pending revocation refused");
    }
    let signed_in = match credentials {
        Some(credentials) => {
            report(BackendEvent::Link(Link::Connecting("正在登录".into())));
            match client.sign_in(&credentials.staff_id, &credentials.password).await {
                Ok(me) => {
                    keep_token(&settings, &client);
                    Ok(Some(me))
                }
                Err(e) => Err(e),
            }
        }
        None => resume_session(&settings, &mut client).await,
    };
    EarlyStart { client: Ok(client), signed_in: Some(signed_in) }
}

/// How a round ended, and so how long to wait before the next.
enum RoundEnd {
    Done,
    Offline,
    /// Retrying cannot help (an incompatible server): wait for the clerk.
    GiveUp,
}

impl Worker {
    fn new(
        settings: Settings,
        credentials: Option<Credentials>,
        events: mpsc::UnboundedSender<AppEvent>,
        catalogue: CatalogueHandle,
        own_commands: mpsc::UnboundedSender<AppCommand>,
    ) -> Self {
        Self {
            settings,
            credentials_given: credentials.is_some(),
            credentials,
            events,
            local: None,
            client: None,
            me: None,
            signed_in: false,
            server: None,
            failures: 0,
            last_overview: None,
            center: None,
            calendar: None,
            lexicon_checked: None,
            sync_soon: false,
            catalogue,
            queue_feed: None,
            own_commands,
            context: None,
            chosen_window: None,
            board_feed: None,
            presence_feed: None,
            early_sign_in: None,
        }
    }

    /// Tells the writer and the queue task what changed (sync task only).
    fn publish(&self) {
        if let Some(context) = &self.context {
            context.send_replace(Context {
                opened: true,
                local: self.local.clone(),
                client: self.client.clone(),
                me: self.me.clone(),
                last_overview: self.last_overview.clone(),
                center: self.center.clone(),
                calendar: self.calendar.clone(),
            });
        }
    }

    /// The writer's and the queue task's loop: each command is handled with what the sync task
    /// last published, in order, without waiting for any sync round. A commit asks the sync task
    /// for a round, so the record uploads at once when the server can be reached.
    async fn serve(
        &mut self,
        mut commands: mpsc::UnboundedReceiver<AppCommand>,
        mut context: watch::Receiver<Context>,
    ) {
        while let Some(command) = commands.recv().await {
            // Only at start-up: the store opens before anything else happens.
            while !context.borrow().opened {
                if context.changed().await.is_err() {
                    return;
                }
            }
            {
                let now = context.borrow_and_update();
                self.local = now.local.clone();
                self.client = now.client.clone();
                self.me = now.me.clone();
                self.last_overview = now.last_overview.clone();
                self.center = now.center.clone();
                self.calendar = now.calendar.clone();
            }
            match command {
                AppCommand::RecordVisit(visit) => self.record_visit(visit).await,
                AppCommand::Queue(op) => self.queue_op(op).await,
                AppCommand::FollowUpStep { rating_id, action } => self.follow_up_step(rating_id, action).await,
                AppCommand::ExportReport => self.export_report(),
                command => self.record_command(command).await,
            }
            if std::mem::take(&mut self.sync_soon) {
                let _ = self.own_commands.send(AppCommand::SyncNow);
            }
        }
    }

    fn report(&self, event: BackendEvent) {
        let _ = self.events.send(AppEvent::Backend(event));
    }

    /// The window whose log this terminal writes: the clerk's window, or the guidance desk's.
    fn window(&self) -> Option<u32> {
        let me = self.me.as_ref()?;
        match me.posts.first() {
            Some(post) => Some(post.window),
            None if me.staff.role == Role::GuidanceDesk => Some(DESK_WINDOW),
            None => None,
        }
    }

    /// A service window (not the desk), for what only windows have: overview, queue figures.
    fn service_window(&self) -> Option<u32> {
        self.window().filter(|w| *w != DESK_WINDOW)
    }

    /// Forgets the kept session token (see [`keep_token`]: owner-only in the data directory, so
    /// a remote terminal does not ask for the password at every start).
    fn forget_token(&self) {
        forget_token(&self.settings);
    }

    async fn sign_out(&mut self) {
        if let Some(client) = self.client.as_mut() {
            let token = client.token().map(str::to_owned);
            if let (Err(e), Some(token), Ok(dir)) = (client.sign_out().await, token, self.settings.data_dir())
                && e.is_offline()
                && !self.settings.is_standalone()
            {
                // The server did not hear it: end the session at the next contact.
                let origin = client.base().origin().ascii_serialization();
                if let Err(e) = crate::client::token::mark_revocation(&dir, &origin, &token) {
                    tracing::warn!(error = %e, "pending revocation not kept");
                }
            }
        }
        self.forget_token();
        self.signed_in = false;
        // Whoever signs in next is someone else: nothing is written in this clerk's name.
        self.me = None;
        self.chosen_window = None;
        if let Some(local) = &self.local
            && let Err(e) = local.remove(ME_KEY).await
        {
            tracing::warn!(error = %e, "signed-in clerk not forgotten");
        }
        // Standalone too: the configured clerk is not signed in again behind the next one's
        // back (that left a half-signed-out screen with nobody to write records as).
        self.credentials = None;
        self.credentials_given = false;
        if let Some(feed) = self.queue_feed.take() {
            feed.abort();
        }
        self.stop_feeds();
        self.report(BackendEvent::Message("已退出登录".into()));
        if self.credentials.is_none() {
            self.report(BackendEvent::NeedSignIn(None));
        }
    }

    /// Puts the post this terminal works for first: the window chosen this session, else the
    /// PC's configured window and the roster (`Me::choose_post`); asks the clerk when that is
    /// ambiguous (until they answer, the first post listed).
    fn place(&mut self, mut me: Me) -> Me {
        if let Some(window) = self.chosen_window
            && me.work_at(window)
        {
            return me;
        }
        let configured = Some(self.settings.terminal.window).filter(|w| *w != 0);
        match me.choose_post(configured) {
            PostChoice::At(post) => {
                me.work_at(post.window);
            }
            PostChoice::Ask(options) => self.report(BackendEvent::ChoosePost(options)),
            PostChoice::NoPost => {}
        }
        me
    }

    /// The clerk works at another of their windows from now on (Ctrl+P, or the answer to the
    /// question at sign-in). The reason goes into the log.
    async fn work_at(&mut self, window: u32, reason: &str) {
        let Some(me) = self.me.as_mut() else { return };
        if !me.work_at(window) {
            self.report(BackendEvent::Message(format!("您不在 {window} 号窗口任职")));
            return;
        }
        let me = me.clone();
        self.chosen_window = Some(window);
        let post = me.posts.first().map(|p| p.post.label()).unwrap_or_default();
        tracing::info!(staff = %me.staff.id, window, post, reason, "terminal works at window");
        if let Some(local) = &self.local
            && let Err(e) = local.put(ME_KEY, &me).await
        {
            tracing::warn!(error = %e, "chosen window not kept");
        }
        // What was shown belongs to the other window.
        self.last_overview = None;
        self.report(BackendEvent::SignedIn(me));
        self.keep_present();
        self.report(BackendEvent::Message(format!("本机现为 {window} 号窗口 {post}")));
    }

    async fn sync_loop(&mut self, mut commands: mpsc::UnboundedReceiver<AppCommand>, mut stop: watch::Receiver<bool>) {
        // Connecting and signing in need nothing from the local store: they start at once,
        // beside its opening (migrations, the check of the device's log), so neither waits for
        // the other and a large cache does not hold back the sign-in.
        let (built, mut built_rx) = tokio::sync::oneshot::channel();
        let early = connect_and_sign_in(
            self.server.take(),
            self.settings.clone(),
            self.credentials.clone(),
            self.events.clone(),
            built,
        );
        let opened = async {
            self.open_local().await;
            // The client as soon as it exists, though not yet signed in: a command that needs
            // the server meanwhile gets the server's answer (请先登录), not 离线.
            if let Ok(client) = built_rx.try_recv() {
                self.client = Some(client);
            }
            // Records can be committed from here on, whatever the network is doing (a server
            // that never answers must not hold them back).
            self.publish();
        };
        let ((), early) = tokio::join!(opened, early);
        match early.client {
            Ok(client) => {
                self.client = Some(client);
                self.early_sign_in = early.signed_in;
            }
            Err(message) => {
                tracing::error!(%message, "cannot start");
                self.report(BackendEvent::Link(Link::Offline(message)));
            }
        }
        self.publish();
        let mut end = self.round().await;
        self.publish();
        self.check_catalogue_later();
        self.tidy_later();
        let mut next_round = self.next_round(&end);
        loop {
            // Records and queue operations go to their own tasks and never wait here. A command
            // that needs no exchange keeps the deadline: frequent ones must not push the periodic
            // refresh (or the offline retry) back forever.
            tokio::select! {
                _ = stop.changed() => return,
                command = commands.recv() => match command {
                    // A record was committed, or the server says the window's records changed.
                    Some(AppCommand::SyncNow) => {}
                    // The clerk pressed 刷新: the lexicon is asked for again too.
                    Some(AppCommand::Refresh) => self.lexicon_checked = None,
                    Some(AppCommand::SignIn { staff_id, password }) => {
                        self.credentials = Some(Credentials { staff_id, password });
                        self.signed_in = false;
                    }
                    Some(AppCommand::WorkAt { window, reason }) => self.work_at(window, &reason).await,
                    Some(AppCommand::SignOut) => {
                        self.sign_out().await;
                        self.publish();
                        continue;
                    }
                    Some(_) => continue,
                    None => return,
                },
                () = tokio::time::sleep_until(next_round) => {}
            }
            end = self.round().await;
            self.publish();
            next_round = self.next_round(&end);
        }
    }

    fn next_round(&self, end: &RoundEnd) -> tokio::time::Instant {
        let wait = match end {
            RoundEnd::Done => Duration::from_secs(self.settings.network.refresh_interval_s.max(1)),
            RoundEnd::Offline => crate::client::backoff::retry_delay(self.failures),
            // Only the clerk can move things on: wait for a command (a day, to stay in range).
            RoundEnd::GiveUp => Duration::from_secs(24 * 3600),
        };
        tokio::time::Instant::now() + wait
    }

    /// Routes a command that writes records to the part of the backend that knows its rules.
    async fn record_command(&mut self, command: AppCommand) {
        match command {
            AppCommand::WriteHandover { .. }
            | AppCommand::AcknowledgeHandover { .. }
            | AppCommand::CheckHandoverItem { .. }
            | AppCommand::WithdrawHandover { .. } => self.handover_command(command).await,
            AppCommand::RecordInquiry { .. }
            | AppCommand::IssueTicketFor { .. }
            | AppCommand::Book(_)
            | AppCommand::CancelBooking(_)
            | AppCommand::FreePlaces(_) => self.desk_command(command).await,
            other => self.case_command(other).await,
        }
    }

    /// Opens the local store and puts everything it holds on screen before any network.
    async fn open_local(&mut self) {
        let path = match self.settings.data_dir() {
            Ok(dir) => dir.join("bianmin-local.db"),
            Err(e) => {
                self.report(BackendEvent::Message(e.to_string()));
                return;
            }
        };
        let (local, recovery) = match LocalStore::open(&path, Utc::now()).await {
            Ok(opened) => opened,
            Err(e) => {
                tracing::error!(error = %e, path = %path.display(), "cannot open the local store");
                self.report(BackendEvent::Message(format!("本机缓存无法打开，离线功能不可用：{e}")));
                return;
            }
        };
        if let Some(recovery) = recovery {
            self.report(BackendEvent::Message(recovery.message()));
        }
        // The cached clerk stands in while the server is unreachable only if a session is
        // expected to resume (credentials given, or a kept token); after a sign-out, nobody.
        let token_kept = self
            .settings
            .data_dir()
            .ok()
            .and_then(|dir| {
                let origin = crate::client::token::origin_of(&self.settings.terminal.server);
                crate::client::token::load_token(&dir, &origin).ok().flatten()
            })
            .is_some();
        if (self.credentials.is_some() || token_kept)
            && let Ok(Some(me)) = local.get::<Me>(ME_KEY).await
        {
            self.me = Some(me.clone());
            self.report(BackendEvent::SignedIn(me));
        }
        if let Ok(Some(center)) = local.get::<CenterInfo>(CENTER_KEY).await {
            self.center = Some(center.clone());
            self.report(BackendEvent::Center(Box::new(center)));
        }
        let cached_cases = match self.window() {
            Some(window) => match local.get::<WindowOverview>(&overview_key(window)).await {
                Ok(Some(overview)) => {
                    let cases = overview.open_cases.clone();
                    self.last_overview = Some(overview.clone());
                    self.report(BackendEvent::Overview(Box::new(overview)));
                    Some((window, cases))
                }
                _ => Some((window, Vec::new())),
            },
            None => None,
        };
        // The lexicon before the guides, so the first index is built with it.
        if let Ok(Some(lexicon)) = local.get::<crate::api::LexiconReply>(LEXICON_KEY).await {
            self.catalogue.set_lexicon(lexicon.lexicon);
        }
        // Read by the catalogue job a page at a time: connecting does not wait for it.
        if local.catalogue_seq().await.is_ok_and(|seq| seq > 0) {
            self.catalogue.load(local.clone());
        }
        if let Ok(Some(calendar)) = local.get::<CalendarReply>(CALENDAR_KEY).await {
            self.calendar = Some(calendar.calendar.clone());
            self.report(BackendEvent::Calendar(Box::new(calendar.calendar)));
        }
        if let Ok(pending) = local.pending().await {
            self.report(BackendEvent::Pending(pending));
        }
        self.local = Some(local);
        if let Some((window, cases)) = cached_cases
            && let Err(e) = self.report_cases(window, cases).await
        {
            tracing::warn!(error = %e, "cached cases not shown");
        }
        self.report_handovers().await;
    }

    /// The purge of applicants' data of cases closed long enough ago (uploaded ones only) and
    /// of old damaged copies of the cache, off the start path: the purge reads every case
    /// snapshot in the device's log, which grows with the years. On its own task, after the
    /// first exchange; records committed meanwhile wait for it only at the store's connection.
    fn tidy_later(&self) {
        let (Some(local), Ok(dir)) = (self.local.clone(), self.settings.data_dir()) else { return };
        let days = i64::from(self.settings.terminal.purge_closed_after_days);
        tokio::spawn(async move {
            match local.purge_personal_data(Utc::now() - chrono::TimeDelta::days(days)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(cases = n, days, "personal data of closed cases purged"),
                Err(e) => tracing::warn!(error = %e, "purge of closed cases failed"),
            }
            // A damaged cache moved aside still holds applicants' data: its records were
            // carried over when it was found, so after the same period it goes too.
            let path = dir.join("bianmin-local.db");
            let older_than = std::time::Duration::from_secs(days.max(0) as u64 * 86_400);
            let removed =
                tokio::task::spawn_blocking(move || crate::client::local::remove_old_damaged_copies(&path, older_than))
                    .await
                    .unwrap_or(0);
            if removed > 0 {
                tracing::info!(files = removed, "old damaged cache copies removed");
            }
        });
    }

    /// The integrity check of the cached catalogue, off the start path (it reads most of the
    /// file at county scale): on its own task, after the first exchange.
    fn check_catalogue_later(&self) {
        let (Some(local), Ok(dir)) = (self.local.clone(), self.settings.data_dir()) else { return };
        let events = self.events.clone();
        tokio::spawn(async move {
            match local.check_catalogue(&dir.join("bianmin-local.db")).await {
                Ok(true) => {}
                Ok(false) => {
                    let _ = events.send(AppEvent::Backend(BackendEvent::Message(
                        "本机缓存的事项目录已损坏，下次启动时将自动修复并重新下载".into(),
                    )));
                }
                Err(e) => tracing::warn!(error = %e, "cached catalogue not checked"),
            }
        });
    }

    async fn record_visit(&mut self, visit: Visit) {
        let (Some(local), Some(me)) = (&self.local, &self.me) else {
            self.report(BackendEvent::Message("尚未从服务器取得本窗口信息，暂不能登记".into()));
            return;
        };
        let Some(post) = me.posts.first() else {
            self.report(BackendEvent::Message("本账号不在任何窗口任职，不能登记".into()));
            return;
        };
        match local.append(&me.staff.id, post.window, post.post, &RecordBody::Visit(visit), Utc::now()).await {
            Ok(record) => {
                tracing::info!(id = %record.id, stream = %record.stream, idx = record.idx, "visit recorded");
                // Said only now that it is committed.
                self.report(BackendEvent::Message("来访登记已保存".into()));
                if let Ok(pending) = local.pending().await {
                    self.report(BackendEvent::Pending(pending));
                }
                self.sync_soon = true;
            }
            Err(e) => self.report(BackendEvent::Message(format!("来访登记未保存：{e}"))),
        }
    }

    /// One exchange with the server: sign in if needed, sync the log, refresh what is shown.
    async fn round(&mut self) -> RoundEnd {
        let Some(client) = self.client.clone() else { return RoundEnd::GiveUp };
        match self.exchange(client).await {
            // Waiting for the clerk to sign in: nothing to do until they do.
            Ok(()) if !self.signed_in => RoundEnd::GiveUp,
            Ok(()) => {
                self.failures = 0;
                self.report(BackendEvent::Link(Link::Online));
                RoundEnd::Done
            }
            Err(SyncError::Client(e))
                if e.is_offline() && !self.signed_in && !self.credentials_given && self.credentials.is_some() =>
            {
                // A clerk typed a password while the server is unreachable: say so and ask
                // again, rather than let the sign-in screen go with nobody signed in.
                self.credentials = None;
                self.report(BackendEvent::Link(Link::Offline(e.to_string())));
                self.report(BackendEvent::NeedSignIn(Some("离线：无法连接服务器，暂不能登录，请稍后再试".into())));
                RoundEnd::GiveUp
            }
            Err(SyncError::Client(e)) if e.is_offline() => {
                self.failures += 1;
                tracing::info!(error = ?e, failures = self.failures, "server unreachable");
                // Quiet while offline: the status bar says so; no dialog.
                self.report(BackendEvent::Link(Link::Offline(e.to_string())));
                RoundEnd::Offline
            }
            Err(SyncError::Client(e @ ClientError::IncompatibleServer { .. })) => {
                tracing::error!(error = ?e, "incompatible server");
                self.report(BackendEvent::Link(Link::Offline(e.to_string())));
                self.report(BackendEvent::Message(e.to_string()));
                RoundEnd::GiveUp
            }
            Err(SyncError::Client(e)) => {
                if matches!(e.problem_code(), Some("session_expired" | "unauthorized" | "account_disabled")) {
                    // Unsent records stay in the outbox; the clerk signs in again (a terminal that
                    // signs in by itself, standalone or scripted, does so at the next round).
                    self.signed_in = false;
                    self.forget_token();
                    if !self.credentials_given {
                        self.credentials = None;
                        self.me = None;
                        self.report(BackendEvent::NeedSignIn(Some(e.to_string())));
                    }
                } else if e.problem_code() == Some("wrong_credentials") || e.problem_code() == Some("too_many_attempts")
                {
                    // Never retry a refused password by itself: ask again.
                    self.credentials = None;
                    self.report(BackendEvent::NeedSignIn(Some(e.to_string())));
                    return RoundEnd::GiveUp;
                }
                self.failures += 1;
                tracing::warn!(error = ?e, "server refused a request");
                self.report(BackendEvent::Message(e.to_string()));
                RoundEnd::Offline
            }
            Err(SyncError::Local(e)) => {
                self.failures += 1;
                self.report(BackendEvent::Message(e.to_string()));
                RoundEnd::Offline
            }
        }
    }

    async fn exchange(&mut self, mut client: ApiClient) -> Result<(), SyncError> {
        // A sign-out made offline ends that session now (an offline server leaves it for later).
        if !self.settings.is_standalone()
            && let Ok(dir) = self.settings.data_dir()
            && let Err(e) = crate::client::token::revoke_pending(&dir, &client).await
            && !e.is_offline()
        {
            tracing::warn!(error = ?e, "pending revocation refused");
        }
        if !self.signed_in {
            let early = self.early_sign_in.take();
            let me = match (early, self.credentials.clone()) {
                // Signed in at start, beside the store's opening.
                (Some(Ok(Some(me))), _) => me,
                (Some(Ok(None)), _) => {
                    self.report(BackendEvent::Link(Link::Connecting("请登录".into())));
                    self.report(BackendEvent::NeedSignIn(None));
                    return Ok(());
                }
                (Some(Err(e)), _) => return Err(e.into()),
                (None, Some(credentials)) => {
                    if self.me.is_none() {
                        self.report(BackendEvent::Link(Link::Connecting("正在登录".into())));
                    }
                    let me = client.sign_in(&credentials.staff_id, &credentials.password).await?;
                    keep_token(&self.settings, &client);
                    me
                }
                (None, None) => match resume_session(&self.settings, &mut client).await? {
                    Some(me) => me,
                    None => {
                        self.report(BackendEvent::Link(Link::Connecting("请登录".into())));
                        self.report(BackendEvent::NeedSignIn(None));
                        return Ok(());
                    }
                },
            };
            self.client = Some(client.clone());
            self.signed_in = true;
            let me = self.place(me);
            self.me = Some(me.clone());
            self.report(BackendEvent::SignedIn(me.clone()));
            let center = client.center().await?;
            if let Some(local) = &self.local {
                local.put(ME_KEY, &me).await?;
                local.put(CENTER_KEY, &center).await?;
            }
            self.center = Some(center.clone());
            self.report(BackendEvent::Center(Box::new(center)));
            self.follow_queue();
            self.follow_board();
            self.keep_present();
            self.publish();
        }
        let window = self.window();
        if let (Some(local), Some(window)) = (&self.local, window) {
            if local.pending().await? > 0 {
                self.report(BackendEvent::Link(Link::Syncing));
            }
            let outcome = sync_logs(&client, local, window).await?;
            if let Some(message) = outcome.rekey_message() {
                self.report(BackendEvent::Message(message));
            }
            // A change of this terminal's that did not apply: the clerk is told at once which
            // (the window's list of conflicts in the overview keeps it until marked seen).
            if let Some(conflict) = outcome.conflicts.last() {
                tracing::warn!(count = outcome.conflicts.len(), "case changes kept as conflicts by the server");
                self.report(BackendEvent::Message(conflict.message()));
            }
            self.report(BackendEvent::Pending(outcome.pending));
        }
        let mut catalogue_seq = None;
        if let Some(window) = self.service_window() {
            let overview = client.window_overview(window).await?;
            catalogue_seq = Some(overview.catalogue_seq);
            if let Some(local) = &self.local {
                local.put(&overview_key(window), &overview).await?;
            }
            let open_cases = overview.open_cases.clone();
            self.last_overview = Some(overview.clone());
            self.publish();
            self.report(BackendEvent::Overview(Box::new(overview)));
            self.report_cases(window, open_cases).await?;
            self.report_handovers().await;
        }
        if let Some(window) = self.service_window() {
            self.refresh_queue_stats(&client, window).await;
        }
        self.refresh_catalogue(&client, catalogue_seq).await?;
        self.refresh_calendar(&client).await?;
        self.refresh_lexicon(&client).await;
        Ok(())
    }

    /// Fetches the desk's lexicon only when it changed on the server (an admin imported one),
    /// asking at most every `LEXICON_CHECK` (and on 刷新). The search works with the copy it
    /// has, so a failure is logged and does not stop sync.
    async fn refresh_lexicon(&mut self, client: &ApiClient) {
        let now = tokio::time::Instant::now();
        if self.lexicon_checked.is_some_and(|at| now.duration_since(at) < LEXICON_CHECK) {
            return;
        }
        self.lexicon_checked = Some(now);
        let cached = match &self.local {
            Some(local) => local.get::<crate::api::LexiconReply>(LEXICON_KEY).await.ok().flatten(),
            None => None,
        };
        match client.lexicon(cached.as_ref().map(|c| c.seq)).await {
            Ok(Some(reply)) => {
                if let Some(local) = &self.local
                    && let Err(e) = local.put(LEXICON_KEY, &reply).await
                {
                    tracing::warn!(error = %e, "lexicon not cached");
                }
                tracing::info!(seq = reply.seq, "lexicon changed");
                self.catalogue.set_lexicon(reply.lexicon);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "lexicon not fetched"),
        }
    }

    /// Fetches the calendar only when it changed on the server (an admin loaded a new year).
    async fn refresh_calendar(&mut self, client: &ApiClient) -> Result<(), SyncError> {
        let cached = match &self.local {
            Some(local) => local.get::<CalendarReply>(CALENDAR_KEY).await?,
            None => None,
        };
        if let Some(reply) = client.calendar(cached.as_ref().map(|c| c.seq)).await? {
            if let Some(local) = &self.local {
                local.put(CALENDAR_KEY, &reply).await?;
            }
            self.calendar = Some(reply.calendar.clone());
            self.report(BackendEvent::Calendar(Box::new(reply.calendar)));
        }
        Ok(())
    }

    /// Fetches only the guides changed since the cached copy; an unchanged catalogue costs one
    /// small request (or none, when the window overview already says it is current).
    async fn refresh_catalogue(&self, client: &ApiClient, server_seq: Option<i64>) -> Result<(), SyncError> {
        let Some(local) = &self.local else {
            let mut guides = Vec::new();
            let mut since = 0;
            loop {
                let page = client.guides_page(since, crate::api::GUIDE_PAGE).await?;
                guides.extend(page.guides);
                if !page.more || page.seq <= since {
                    break;
                }
                since = page.seq;
            }
            self.catalogue.replace(guides);
            return Ok(());
        };
        let have = local.catalogue_seq().await?;
        if server_seq == Some(have) && have > 0 {
            return Ok(());
        }
        // Page by page, each stored as it comes: a first sync cut off resumes where it stopped.
        let synced = crate::client::sync::sync_catalogue(client, local, crate::api::GUIDE_PAGE, |_| {
            std::ops::ControlFlow::Continue(())
        })
        .await?;
        if synced.pages == 0 {
            return Ok(());
        }
        self.catalogue.load(local.clone());
        Ok(())
    }
}
