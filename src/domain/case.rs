//! Cases (办件): one applicant's application for one service, from intake at the window through
//! acceptance, dispatch to the department and unified delivery (clauses 7.2 to 7.4).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::applicant::Applicant;
use super::calendar::Deadline;
use super::center::Post;
use super::guide::{Material, MaterialForm, ServiceGuide};
use super::labels::labelled;
use super::ticket::TicketNumber;

labelled! { codes:
    /// Where one material stands at the counter.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
    pub enum MaterialCheck {
        /// Not yet looked at.
        #[default]
        Unchecked = "unchecked" / "待核",
        Received = "received" / "已收",
        Missing = "missing" / "缺",
        NotApplicable = "not_applicable" / "不适用",
    }
}

/// One line of the checklist, copied from the guide when the case opens so that a later edit of
/// the guide cannot change what the applicant was told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistItem {
    pub material_id: String,
    pub name: String,
    pub form: MaterialForm,
    pub copies: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    pub state: MaterialCheck,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl ChecklistItem {
    pub fn from_material(m: &Material) -> Self {
        Self {
            material_id: m.id.clone(),
            name: m.name.clone(),
            form: m.form,
            copies: m.copies,
            condition: m.condition.clone(),
            state: MaterialCheck::Unchecked,
            note: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Checklist {
    pub items: Vec<ChecklistItem>,
}

impl Checklist {
    pub fn for_situation(guide: &ServiceGuide, situation_id: Option<&str>) -> Self {
        Self { items: guide.materials_for(situation_id).into_iter().map(ChecklistItem::from_material).collect() }
    }

    pub fn missing(&self) -> impl Iterator<Item = &ChecklistItem> {
        self.items.iter().filter(|i| i.state == MaterialCheck::Missing)
    }

    /// Complete when every item was looked at and none is missing.
    pub fn is_complete(&self) -> bool {
        self.items.iter().all(|i| matches!(i.state, MaterialCheck::Received | MaterialCheck::NotApplicable))
    }
}

labelled! { codes:
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum CaseStatus {
        /// Materials being checked at the counter.
        Intake = "intake" / "收件中",
        /// One-time notice given; waiting for the applicant to bring what is missing.
        AwaitingMaterials = "awaiting_materials" / "待补正",
        /// Accepted, deadline running.
        Accepted = "accepted" / "已受理",
        /// Sent to the department (分办/转办).
        Dispatched = "dispatched" / "已分办",
        /// The department's result is back, waiting for unified delivery.
        ReadyForDelivery = "ready_for_delivery" / "待出件",
        /// Delivered or finished on the spot (办结).
        Closed = "closed" / "已办结",
        /// Not accepted (不予受理) or withdrawn by the applicant.
        Ended = "ended" / "已终止",
    }
}

impl CaseStatus {
    pub const ALL: [Self; 7] = [
        Self::Intake,
        Self::AwaitingMaterials,
        Self::Accepted,
        Self::Dispatched,
        Self::ReadyForDelivery,
        Self::Closed,
        Self::Ended,
    ];

    /// The statuses for which `rule` holds (see [`super::ticket::TicketStatus::all_where`]).
    pub fn all_where(rule: impl Fn(Self) -> bool) -> impl Iterator<Item = Self> {
        Self::ALL.into_iter().filter(move |s| rule(*s))
    }

    /// Still being worked: neither delivered (已办结) nor ended (已终止).
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Closed | Self::Ended)
    }

    /// Whether the promised deadline runs (clause 7.6.3).
    pub fn deadline_runs(self) -> bool {
        matches!(self, Self::Accepted | Self::Dispatched | Self::ReadyForDelivery)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Created at the window (UUIDv7), so a case can be opened offline.
    pub id: Uuid,
    /// Human case number (办件编号), assigned at acceptance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_number: Option<String>,
    pub guide_code: String,
    pub guide_name: String,
    /// The guide revision the checklist was taken from.
    pub guide_revision: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub situation_id: Option<String>,
    pub window: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicant: Option<Applicant>,
    pub checklist: Checklist,
    pub status: CaseStatus,
    pub opened_at: DateTime<Utc>,
    /// Staff id of the clerk who opened it, and in which post (B岗代办 when B).
    pub opened_by: String,
    pub post: Post,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Deadline>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(state: MaterialCheck) -> ChecklistItem {
        ChecklistItem {
            material_id: "m".into(),
            name: "身份证".into(),
            form: MaterialForm::Original,
            copies: 1,
            condition: None,
            state,
            note: String::new(),
        }
    }

    #[test]
    fn checklist_is_complete_only_when_every_item_is_settled() {
        let mut list = Checklist { items: vec![item(MaterialCheck::Received), item(MaterialCheck::NotApplicable)] };
        assert!(list.is_complete());
        list.items.push(item(MaterialCheck::Unchecked));
        assert!(!list.is_complete());
        list.items[2].state = MaterialCheck::Missing;
        assert!(!list.is_complete());
        assert_eq!(list.missing().count(), 1);
    }

    #[test]
    fn only_running_states_count_the_deadline() {
        assert!(CaseStatus::Accepted.deadline_runs());
        assert!(!CaseStatus::AwaitingMaterials.deadline_runs());
        assert!(!CaseStatus::Closed.is_open());
    }
}
