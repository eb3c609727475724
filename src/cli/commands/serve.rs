//! `bianmin serve`.

use crate::config::Settings;
use crate::server::{self, ServerConfig};

pub async fn serve(settings: Settings) -> color_eyre::Result<()> {
    let config = ServerConfig::from_settings(&settings)?;
    let options = server::ServeOptions {
        tls: server::tls::files_from_settings(&settings.server.tls_cert, &settings.server.tls_key)?,
        trust_forwarded_for: settings.server.trust_forwarded_for,
        own_terminal_only: false,
    };
    server::serve_until_signal(&config, &options).await
}
