//! The director's board, presence and 差评整改 follow-ups, as the server serves them.

use reqwest::Method;

use super::{ApiClient, ClientError};
use crate::api::follow_up::{AddFollowUpStep, FollowUpRow, PresenceReply};
use crate::api::paths;
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
