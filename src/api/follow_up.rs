//! Wire types of the 差评整改 follow-ups: the list, and a step to add. Who took a step and when
//! is the server's (the session and its clock), never the request's.

use serde::{Deserialize, Serialize};

use crate::domain::follow_up::{FollowUp, FollowUpAction, FollowUpState};

/// `GET /api/v1/follow-ups`: one follow-up with where it stands on the server's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpRow {
    pub follow_up: FollowUp,
    pub state: FollowUpState,
}

/// `POST /api/v1/follow-ups/{rating_id}/steps`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddFollowUpStep {
    pub action: FollowUpAction,
}
