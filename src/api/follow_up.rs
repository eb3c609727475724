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

/// `POST /api/v1/windows/{number}/presence`: the window as the server sees it once it heard
/// from this terminal (空岗 when the one acting for it is away).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceReply {
    pub window: u32,
    pub standing: crate::domain::attendance::WindowStanding,
    /// The other windows whose B post this clerk holds that stand empty (空岗) now: the B
    /// holder is the one to step in (clause 7.6.4), wherever they are working.
    #[serde(default)]
    pub empty_b_posts: Vec<u32>,
}
