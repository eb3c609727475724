//! The backend task: starts the embedded server when standalone, signs in, and keeps the app's
//! copy of the server's data fresh. It reports through the event channel and never touches the
//! screen; the event loop never waits for it.

use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::app::{AppEvent, BackendEvent, Command};
use crate::api::{GuideSummary, Me};
use crate::client::{ApiClient, ClientError};
use crate::config::Settings;
use crate::server::{self, RunningServer, ServerConfig};

/// Who to sign in as.
#[derive(Clone)]
pub struct Credentials {
    pub staff_id: String,
    pub password: String,
}

pub struct BackendHandle {
    commands: mpsc::UnboundedSender<Command>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl BackendHandle {
    pub fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    /// Stops the task and, when standalone, the embedded server; gives up after `grace`.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(grace, self.task).await.is_err() {
            tracing::warn!("backend did not stop in time");
        }
    }
}

pub fn spawn(
    settings: Settings,
    credentials: Option<Credentials>,
    events: mpsc::UnboundedSender<AppEvent>,
) -> BackendHandle {
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut worker =
            Worker { settings, credentials, events, client: None, me: None, catalogue_seq: -1, embedded: None };
        worker.run(command_rx, stop_rx).await;
        if let Some(server) = worker.embedded.take() {
            server.stop().await;
        }
    });
    BackendHandle { commands, stop, task }
}

struct Worker {
    settings: Settings,
    credentials: Option<Credentials>,
    events: mpsc::UnboundedSender<AppEvent>,
    client: Option<ApiClient>,
    me: Option<Me>,
    /// Catalogue sequence of the guides the app holds; -1 before the first fetch.
    catalogue_seq: i64,
    embedded: Option<RunningServer>,
}

impl Worker {
    fn report(&self, event: BackendEvent) {
        let _ = self.events.send(AppEvent::Backend(event));
    }

    fn report_error(&self, e: &ClientError) {
        tracing::warn!(error = ?e, "server request failed");
        self.report(BackendEvent::Failed { message: e.to_string(), offline: e.is_offline() });
    }

    async fn run(&mut self, mut commands: mpsc::UnboundedReceiver<Command>, mut stop: watch::Receiver<bool>) {
        if let Err(message) = self.connect().await {
            tracing::error!(%message, "cannot start");
            self.report(BackendEvent::Failed { message, offline: false });
            return;
        }
        self.refresh().await;
        let interval = Duration::from_secs(self.settings.network.refresh_interval_s.max(1));
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                command = commands.recv() => match command {
                    Some(Command::Refresh) => self.refresh().await,
                    None => return,
                },
                () = tokio::time::sleep(interval) => self.refresh().await,
            }
        }
    }

    /// Starts the embedded server if standalone and builds the client.
    async fn connect(&mut self) -> Result<(), String> {
        let base = if self.settings.is_standalone() {
            self.report(BackendEvent::Progress("正在启动本机服务".into()));
            let database_url = self.settings.server_database_url().map_err(|e| e.to_string())?;
            let config = ServerConfig {
                listen: "127.0.0.1:0".into(),
                database_url,
                session_ttl_hours: self.settings.server.session_ttl_hours,
                max_body_bytes: self.settings.server.max_body_bytes,
            };
            let server = server::start(&config).await.map_err(|e| {
                tracing::error!(error = ?e, "embedded server failed to start");
                format!("本机服务启动失败：{e}")
            })?;
            let base = format!("http://{}", server.addr);
            self.embedded = Some(server);
            base
        } else {
            self.settings.terminal.server.clone()
        };
        self.client = Some(ApiClient::new(&base, &self.settings.network).map_err(|e| e.to_string())?);
        Ok(())
    }

    async fn sign_in(&mut self) -> Result<(), ClientError> {
        let Some(credentials) = self.credentials.clone() else { return Ok(()) };
        let events = self.events.clone();
        let report = |event| {
            let _ = events.send(AppEvent::Backend(event));
        };
        let Some(client) = self.client.as_mut() else { return Ok(()) };
        report(BackendEvent::Progress("正在登录".into()));
        let me = client.sign_in(&credentials.staff_id, &credentials.password).await?;
        self.me = Some(me.clone());
        report(BackendEvent::SignedIn(me));
        report(BackendEvent::Center(Box::new(client.center().await?)));
        Ok(())
    }

    async fn refresh(&mut self) {
        if let Err(e) = self.try_refresh().await {
            if matches!(e.problem_code(), Some("session_expired" | "unauthorized")) {
                // Sign in again on the next round rather than loop here.
                self.me = None;
            }
            self.report_error(&e);
        }
    }

    async fn try_refresh(&mut self) -> Result<(), ClientError> {
        if self.me.is_none() {
            self.sign_in().await?;
        }
        let (Some(client), Some(me)) = (&self.client, &self.me) else { return Ok(()) };
        let mut catalogue_seq = None;
        if let Some(post) = me.posts.first() {
            let overview = client.window_overview(post.window).await?;
            catalogue_seq = Some(overview.catalogue_seq);
            self.report(BackendEvent::Overview(Box::new(overview)));
        }
        if catalogue_seq.is_none_or(|seq| seq != self.catalogue_seq) {
            let changes = client.guides_since(0).await?;
            self.catalogue_seq = changes.seq;
            let summaries: Vec<GuideSummary> = changes.guides.iter().map(GuideSummary::from).collect();
            self.report(BackendEvent::Guides(summaries));
        }
        Ok(())
    }
}
