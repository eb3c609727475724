//! The director's board, presence and 差评整改 follow-ups, as the server serves them.

use reqwest::Method;

use super::{ApiClient, ClientError};
use crate::api::follow_up::{AddFollowUpStep, FollowUpRow, PresenceReply};
use crate::api::paths;
use crate::api::report::{ReportFile, ReportQuery};
use crate::domain::board::Board;
use crate::domain::follow_up::FollowUpAction;

impl ApiClient {
    /// The center now (中心负责人 and admins).
    pub async fn board(&self) -> Result<Board, ClientError> {
        self.call(Method::GET, paths::BOARD, None::<&()>).await
    }

    /// Tells the server the signed-in clerk is at `window` (the server notes its own time);
    /// the reply says how the window stands.
    pub async fn presence(&self, window: u32) -> Result<PresenceReply, ClientError> {
        self.call(Method::POST, &paths::presence(window), None::<&()>).await
    }

    /// The follow-ups the session may see: the director all, a clerk those of their windows.
    pub async fn follow_ups(&self) -> Result<Vec<FollowUpRow>, ClientError> {
        self.call(Method::GET, paths::FOLLOW_UPS, None::<&()>).await
    }

    /// Adds a step to the follow-up of `rating_id`, as the session's staff at the server's time.
    pub async fn follow_up_step(
        &self,
        rating_id: uuid::Uuid,
        action: FollowUpAction,
    ) -> Result<FollowUpRow, ClientError> {
        self.call(Method::POST, &paths::follow_up_steps(rating_id), Some(&AddFollowUpStep { action })).await
    }
}

impl ApiClient {
    /// The supervision report the query names, as the server renders it (中心负责人 and admins).
    pub async fn report(&self, query: &ReportQuery) -> Result<ReportFile, ClientError> {
        let pairs = query.pairs();
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let path = super::with_query(paths::REPORT, &pairs);
        let response = self.send(Method::GET, &path, None::<&()>, None).await?;
        let suggested = response
            .headers()
            .get(reqwest::header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok())
            .and_then(file_name_of);
        let file_name = suggested.unwrap_or_else(|| format!("report.{}", query.format.extension()));
        let bytes = response.bytes().await.map_err(ClientError::from_reqwest)?.to_vec();
        Ok(ReportFile { file_name, bytes })
    }
}

/// The file name of a `Content-Disposition: attachment; filename="..."`, when it is a plain
/// name (letters, digits, `-`, `_`, `.`; not starting with a dot): nothing the server says may
/// lead a file elsewhere.
fn file_name_of(disposition: &str) -> Option<String> {
    let name = disposition.split(';').map(str::trim).find_map(|p| p.strip_prefix("filename="))?.trim_matches('"');
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    plain.then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_plain_file_name_is_taken_from_the_server() {
        use super::file_name_of;
        assert_eq!(
            file_name_of("attachment; filename=\"report-2026-12.html\"").as_deref(),
            Some("report-2026-12.html")
        );
        assert_eq!(file_name_of("attachment; filename=\"../../etc/passwd\""), None);
        assert_eq!(file_name_of("attachment; filename=\".bashrc\""), None);
        assert_eq!(file_name_of("attachment"), None);
    }
}
