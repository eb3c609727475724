//! A/B posts (窗口AB岗, clause 7.6.4): who is on duty at a window, and the written handover between
//! the A and B holders.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::center::{Post, Window};
use super::ticket::TicketNumber;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AwayReason {
    #[serde(rename = "请假")]
    Leave,
    #[serde(rename = "会议")]
    Meeting,
    #[serde(rename = "培训")]
    Training,
    #[serde(rename = "外出办事")]
    Errand,
    #[serde(rename = "其他")]
    Other,
}

impl AwayReason {
    pub fn label(self) -> &'static str {
        match self {
            Self::Leave => "请假",
            Self::Meeting => "会议",
            Self::Training => "培训",
            Self::Errand => "外出办事",
            Self::Other => "其他",
        }
    }
}

/// Who answers for the window right now. There is deliberately no state with both holders away
/// while the window is open: the rule "A and B may not be away at the same time" is unrepresentable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state")]
pub enum DutyState {
    #[serde(rename = "A岗在岗")]
    AOnDuty,
    #[serde(rename = "B岗顶岗")]
    BCovering {
        reason: AwayReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expected_return: Option<DateTime<Utc>>,
    },
    #[serde(rename = "暂停服务")]
    Closed,
}

impl DutyState {
    pub fn label(&self) -> &'static str {
        match self {
            Self::AOnDuty => "A岗在岗",
            Self::BCovering { .. } => "B岗顶岗",
            Self::Closed => "暂停服务",
        }
    }

    /// The post that acts for the window, if it is open.
    pub fn acting_post(&self) -> Option<Post> {
        match self {
            Self::AOnDuty => Some(Post::A),
            Self::BCovering { .. } => Some(Post::B),
            Self::Closed => None,
        }
    }

    /// The staff id acting for the window, if it is open.
    pub fn acting_staff<'w>(&self, window: &'w Window) -> Option<&'w str> {
        self.acting_post().map(|post| match post {
            Post::A => window.a_holder.as_str(),
            Post::B => window.b_holder.as_str(),
        })
    }
}

/// A to-do left for the other post holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingItem {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<DateTime<Utc>>,
    pub done: bool,
}

/// A reference to an open case as it stood at handover time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRef {
    pub case_id: Uuid,
    pub guide_name: String,
    pub status_label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handover {
    pub id: Uuid,
    pub window: u32,
    /// `A` when A hands over to B; `B` when B hands back to A.
    pub from_post: Post,
    pub from_staff: String,
    pub to_staff: String,
    pub written_at: DateTime<Utc>,
    pub open_cases: Vec<CaseRef>,
    pub parked_tickets: Vec<TicketNumber>,
    pub pending: Vec<PendingItem>,
    pub notes: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_return: Option<DateTime<Utc>>,
    /// B took over without a handover from A (A had no time to write one).
    pub emergency: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Acknowledgement>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::center::WindowKind;

    #[test]
    fn acting_staff_follows_the_duty_state() {
        let window = Window {
            number: 1,
            name: "综合受理一号窗".into(),
            kind: WindowKind::ComprehensiveAcceptance,
            a_holder: "s001".into(),
            b_holder: "s002".into(),
            categories: vec!['A'],
        };
        assert_eq!(DutyState::AOnDuty.acting_staff(&window), Some("s001"));
        let covering = DutyState::BCovering { reason: AwayReason::Training, expected_return: None };
        assert_eq!(covering.acting_staff(&window), Some("s002"));
        assert_eq!(DutyState::Closed.acting_staff(&window), None);
    }
}
