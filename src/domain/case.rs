//! Cases (办件): one applicant's application for one service, from intake at the window through
//! acceptance, dispatch to the department and unified delivery (clauses 7.2 to 7.4).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::applicant::{Agent, Applicant};
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
        /// 容缺: accepted without it, the applicant committed to bring it by the item's `due_on`.
        Deferred = "deferred" / "容缺",
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
    /// Copied from the guide: the working days the applicant may take to bring it after a
    /// 容缺 acceptance; `None`: it cannot be deferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferral_days: Option<u32>,
    /// For a deferred item: the day it is due (set at acceptance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_on: Option<NaiveDate>,
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
            deferral_days: m.deferral_days,
            due_on: None,
        }
    }

    /// Whether the guide makes it conditional (适用情形): only then can it be 不适用.
    pub fn is_conditional(&self) -> bool {
        self.condition.as_deref().is_some_and(|c| !c.trim().is_empty())
    }

    /// Whether this item's state lets the case be accepted: received; not applicable where the
    /// guide makes it conditional; deferred where the guide allows 容缺受理.
    pub fn is_settled(&self) -> bool {
        match self.state {
            MaterialCheck::Received => true,
            MaterialCheck::NotApplicable => self.is_conditional(),
            MaterialCheck::Deferred => self.deferral_days.is_some(),
            MaterialCheck::Unchecked | MaterialCheck::Missing => false,
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

    /// Complete when every item is settled ([`ChecklistItem::is_settled`]).
    pub fn is_complete(&self) -> bool {
        self.items.iter().all(ChecklistItem::is_settled)
    }

    /// Deferred (容缺) items still to be brought.
    pub fn deferred(&self) -> impl Iterator<Item = &ChecklistItem> {
        self.items.iter().filter(|i| i.state == MaterialCheck::Deferred)
    }

    /// The earliest due date of the deferred items still to be brought.
    pub fn deferred_due(&self) -> Option<NaiveDate> {
        self.deferred().filter_map(|i| i.due_on).min()
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

labelled! { codes:
    /// How a case ended without acceptance (clause 7.2: the window either accepts, tells once what
    /// is missing, or says why it does not accept).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum EndKind {
        /// Opened by mistake (wrong guide, wrong ticket): nothing was told to the applicant.
        Cancelled = "cancelled" / "误开撤销",
        /// The applicant withdrew the application (撤回).
        Withdrawn = "withdrawn" / "申请人撤回",
        /// 不予受理: the application does not qualify; a written notice with the reason is given.
        Refused = "refused" / "不予受理",
    }
}

/// The recorded end of a case that was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseEnding {
    pub kind: EndKind,
    /// Why; required for 不予受理 (it is printed on the notice).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    pub at: DateTime<Utc>,
    /// Staff id of the clerk who ended it.
    pub by: String,
    /// The 不予受理告知书's number (`BY…`), for a refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_number: Option<String>,
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
    /// Who applies for the applicant (代办人), when not the applicant in person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Agent>,
    /// How the case ended without acceptance (status 已终止).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ending: Option<CaseEnding>,
    /// Which version of the case this is (absent in records older than versions: version 0).
    #[serde(flatten)]
    pub version: CaseVersion,
}

/// A case's version: 1 when opened, one more with each change written at a window. Each
/// version has its own id and names the one it was edited from, so a change made on an older
/// version (another terminal's clock or log notwithstanding) is known as such; the rule is
/// [`super::access::order_case_change`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CaseVersion {
    #[serde(default)]
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub based_on: Option<Uuid>,
}

impl CaseVersion {
    /// The first version of a case: its id is the case's own.
    pub fn first(case_id: Uuid) -> Self {
        Self { version: 1, version_id: Some(case_id), based_on: None }
    }

    /// The version after this one, with its own new id.
    pub fn next(self, id: Uuid) -> Self {
        Self { version: self.version + 1, version_id: Some(id), based_on: self.version_id }
    }
}

impl Case {
    /// Marks this copy as the next version, edited from the one it holds now: called once for
    /// each change written at a window, by whoever writes it.
    pub fn new_version(&mut self, id: Uuid) {
        self.version = self.version.next(id);
    }

    /// What `mine` says that `current` does not: the edits of a version that did not apply
    /// because another one came first, in words for the clerk.
    pub fn edits_not_in(&self, current: &Case) -> Vec<String> {
        let mut edits = Vec::new();
        if self.status != current.status {
            edits.push(format!("状态“{}”（现为“{}”）", self.status.label(), current.status.label()));
        }
        if self.applicant != current.applicant && self.applicant.is_some() {
            edits.push("申请人信息".to_owned());
        }
        for item in &self.checklist.items {
            let now = current.checklist.items.iter().find(|i| i.material_id == item.material_id);
            match now {
                Some(now) if now.state != item.state => {
                    edits.push(format!("“{}”{}（现为{}）", item.name, item.state.label(), now.state.label()));
                }
                Some(now) if now.note != item.note => edits.push(format!("“{}”的备注", item.name)),
                _ => {}
            }
        }
        if self.case_number != current.case_number && self.case_number.is_some() {
            edits.push(format!("办件编号 {}", self.case_number.as_deref().unwrap_or_default()));
        }
        edits
    }
}

labelled! { codes:
    /// How a case moves to another window (分办/转办), a recorded step: by its window, or taken
    /// over by the 综合受理 window where the applicant came back. The rule is
    /// [`super::access::check_case_transfer`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum TransferKind {
        /// The window that holds the case gives it to another window.
        Transfer = "transfer" / "转办",
        /// The window where the applicant came back continues the case (补正 after a one-time
        /// notice) and takes it over.
        Takeover = "takeover" / "接续办理",
    }
}

/// A case moved from one window to another: after it, the new window's snapshots count and the
/// old window's do not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseTransfer {
    pub case_id: Uuid,
    pub from_window: u32,
    pub to_window: u32,
    pub step: TransferKind,
    /// Who did it: the author of the record.
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl CaseTransfer {
    /// The window whose log records the step: the one giving the case away, or the one taking
    /// it over.
    pub fn recorded_at(&self) -> u32 {
        match self.step {
            TransferKind::Transfer => self.from_window,
            TransferKind::Takeover => self.to_window,
        }
    }
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
            deferral_days: None,
            due_on: None,
        }
    }

    #[test]
    fn checklist_is_complete_only_when_every_item_is_settled() {
        let mut conditional = item(MaterialCheck::NotApplicable);
        conditional.condition = Some("委托他人代办的".into());
        let mut list = Checklist { items: vec![item(MaterialCheck::Received), conditional] };
        assert!(list.is_complete());
        list.items[1].condition = None;
        assert!(!list.is_complete(), "a required item cannot be 不适用");
        list.items[1].state = MaterialCheck::Deferred;
        assert!(!list.is_complete(), "deferred only where the guide allows it");
        list.items[1].deferral_days = Some(5);
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
