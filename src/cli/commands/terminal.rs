//! `bianmin` with no subcommand: the clerk terminal.

use crate::config::Settings;
use crate::tui::backend::Credentials;

pub async fn terminal(settings: Settings) -> color_eyre::Result<()> {
    std::fs::create_dir_all(settings.data_dir()?)?;
    let credentials = if settings.is_standalone() {
        let seed = crate::assets::CenterSeed::bundled()?;
        let demo = if settings.terminal.desk { seed.demo_desk_sign_in } else { seed.demo_sign_in };
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
    crate::tui::run(settings, credentials).await
}
