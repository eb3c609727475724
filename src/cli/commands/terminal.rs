//! `bianmin` with no subcommand: the clerk terminal. Standalone, the embedded server is started
//! here, beside the terminal's first frame (which does not wait for it), and the terminal is handed
//! its URL: the terminal knows no more of the server than a remote terminal does.

use crate::config::Settings;
use crate::server::{self, RunningServer, ServerConfig};
use crate::tui::backend::{Credentials, ServerUrl};

pub async fn terminal(settings: Settings) -> color_eyre::Result<()> {
    std::fs::create_dir_all(settings.data_dir()?)?;
    let credentials = if settings.is_standalone() {
        let seed = crate::assets::CenterSeed::bundled()?;
        // Standalone, the board is the sample admin's (the sample data has no 中心负责人).
        let demo = if settings.terminal.board {
            "admin".to_owned()
        } else if settings.terminal.desk {
            seed.demo_desk_sign_in
        } else {
            seed.demo_sign_in
        };
        let staff_id = Some(settings.terminal.standalone_staff_id.clone()).filter(|s| !s.is_empty()).unwrap_or(demo);
        Some(Credentials { staff_id, password: seed.sample_password })
    } else {
        // A remote terminal signs in on its sign-in screen (or resumes its kept session); a
        // scripted one may pass both variables.
        match (std::env::var("BIANMIN_STAFF_ID"), std::env::var("BIANMIN_PASSWORD")) {
            (Ok(staff_id), Ok(password)) => Some(Credentials { staff_id, password }),
            _ => None,
        }
    };
    let (url, embedded) = if settings.is_standalone() {
        let (url, embedded) = start_embedded(&settings)?;
        (url, Some(embedded))
    } else {
        (ServerUrl::At(settings.terminal.server.clone()), None)
    };
    let result = crate::tui::run_terminal(settings, url, credentials).await;
    // The terminal has let go of it (its backend stopped): the embedded server stops last.
    if let Some(embedded) = embedded
        && let Ok(Some(server)) = embedded.await
    {
        server.stop().await;
    }
    result
}

/// Starts the standalone terminal's own server on a loopback port, in a task of its own: the URL
/// (or why it could not start) goes to the terminal once it listens.
fn start_embedded(
    settings: &Settings,
) -> color_eyre::Result<(ServerUrl, tokio::task::JoinHandle<Option<RunningServer>>)> {
    let config = ServerConfig { listen: "127.0.0.1:0".into(), ..ServerConfig::from_settings(settings)? };
    let (tell, url) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        match server::start_for_one_terminal(&config).await {
            Ok(server) => {
                let _ = tell.send(Ok(format!("http://{}", server.addr)));
                Some(server)
            }
            Err(e) => {
                tracing::error!(error = ?e, "embedded server failed to start");
                let _ = tell.send(Err(format!("本机服务启动失败：{e}")));
                None
            }
        }
    });
    Ok((ServerUrl::Starting(url), task))
}
