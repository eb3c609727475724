//! What the printed documents say: the one-time notice (一次性告知单, clause 7.6.2 of
//! DB 4210/T 61-2023 and article 32 of the Administrative Licensing Law) and the acceptance
//! receipt (受理凭证, clause 7.6.3). Their numbers, wording and facts live here; how they are laid
//! out on paper (80-column text, A4 HTML) is `crate::documents`.
//!
//! A notice is a legal record of what the center told the applicant: it lists every item of
//! `notice.missing` (the snapshot taken when the notice was given, not the live checklist) and
//! nothing that was received. Personal data is printed masked only. Everything here is a pure
//! function of its inputs: the print time comes in the [`Letterhead`], never from a clock.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use uuid::Uuid;

use super::applicant::Agent;
use super::applicant::Applicant;
use super::case::{Case, ChecklistItem, EndKind, MaterialCheck};
use super::center::{Center, Window, WindowKind};
use super::error::Invalid;
use super::guide::{Handling, ItemType, Material, ServiceGuide};
use super::notice::OneTimeNotice;
use super::time::to_china;

/// Everything a printed document needs besides the case itself.
#[derive(Debug, Clone, Copy)]
pub struct Letterhead<'a> {
    pub center: &'a Center,
    pub window_number: u32,
    pub window_name: &'a str,
    pub clerk_name: &'a str,
    /// Shown in China time.
    pub printed_at: DateTime<Utc>,
    /// The center's windows (the roster): every window a document points to is one of these.
    pub windows: &'a [Window],
}

/// Notice number (告知单编号), e.g. `GZ01-20261130-0001`: `GZ` (告知), the window number, the
/// China-time day the notice is given and the window's sequence within that day.
///
/// Why this shape:
/// - notices are given at the window, also while the township network is down, so the number
///   must be unique without asking the server: each window numbers its own notices, and the
///   window in the number keeps two windows' sequences apart;
/// - the day is in the number because article 32 counts from it (补正 must be told at once or
///   within five days), the sequence restarts daily, and numbers sort by day as plain strings;
/// - plain ASCII: fixed width on any receipt printer, easy to read out over the phone, and the
///   `GZ` prefix cannot be confused with a case number (`SL…`) or a queue ticket (`A001`).
///
/// Window numbers above 99 and sequences above 9999 simply take more digits; the `-` separators
/// keep such numbers unique.
pub fn notice_number(window: u32, day: NaiveDate, seq: u32) -> String {
    format!("GZ{window:02}-{}-{seq:04}", compact_date(day))
}

/// Case number (办件编号) assigned at acceptance, e.g. `SL20261130-01-0001`: `SL` (受理), the
/// China-time day of acceptance, the accepting window and that window's daily sequence. Unique
/// without a central counter for the same reasons as [`notice_number`].
pub fn case_number(day: NaiveDate, window: u32, seq: u32) -> String {
    format!("SL{}-{window:02}-{seq:04}", compact_date(day))
}

/// 不予受理告知书 number, e.g. `BY01-20261130-0001`: `BY` (不予), then as [`notice_number`].
pub fn refusal_number(window: u32, day: NaiveDate, seq: u32) -> String {
    format!("BY{window:02}-{}-{seq:04}", compact_date(day))
}

fn compact_date(day: NaiveDate) -> String {
    format!("{:04}{:02}{:02}", day.year(), day.month(), day.day())
}

/// The short form of a case id printed on documents: the last 8 hex digits. A UUIDv7 starts with
/// its creation time in milliseconds, so its first digits are the same for every case opened
/// within the same minute; the last ones are random.
pub fn case_short_id(id: Uuid) -> String {
    let simple = id.simple().to_string();
    simple[simple.len() - 8..].to_owned()
}

// ------------------------------------------------------------------------------------------------
// Content shared by the text and HTML forms.

pub fn date_cn(d: NaiveDate) -> String {
    format!("{:04}年{:02}月{:02}日", d.year(), d.month(), d.day())
}

pub fn datetime_cn(t: DateTime<Utc>) -> String {
    let china = to_china(t);
    format!("{} {:02}:{:02}", date_cn(china.date_naive()), china.hour(), china.minute())
}

pub fn situation_name(case: &Case, guide: &ServiceGuide) -> Option<String> {
    match &case.situation_id {
        Some(id) => Some(match guide.situations.iter().find(|s| &s.id == id) {
            Some(s) => s.name.clone(),
            None => format!("{id}（办事指南中已无此情形）"),
        }),
        None if guide.situations.is_empty() => None,
        None => Some("未选择".to_owned()),
    }
}

/// Acceptance conditions of the guide, then those of the case's situation.
pub fn acceptance_conditions(case: &Case, guide: &ServiceGuide) -> Vec<String> {
    let situation = case.situation_id.as_deref().and_then(|id| guide.situations.iter().find(|s| s.id == id));
    guide.acceptance_conditions.iter().chain(situation.into_iter().flat_map(|s| s.conditions.iter())).cloned().collect()
}

/// The applicant as printed on the applicant's own documents: the name in full (the paper is
/// theirs; masking is for screens and logs), the ID and phone numbers masked.
pub fn applicant_fields(applicant: Option<&Applicant>) -> Vec<(&'static str, String)> {
    match applicant {
        Some(a) => vec![
            ("申请人", a.name.clone()),
            ("证件号码", a.id_number.masked()),
            ("联系电话", a.phone.as_ref().map_or_else(|| "未登记".to_owned(), |p| p.masked())),
        ],
        None => vec![("申请人", "未登记".to_owned())],
    }
}

/// The 代办人 (clause 4.2.2.4) as printed: name, masked ID number, relation to the applicant.
pub fn agent_fields(agent: Option<&Agent>) -> Vec<(&'static str, String)> {
    match agent {
        Some(a) => vec![
            ("代办人", a.name.clone()),
            ("代办人证件号码", a.id_number.masked()),
            ("与申请人关系", a.relation.clone()),
        ],
        None => Vec::new(),
    }
}

pub fn legal_basis(guide: &ServiceGuide) -> String {
    legal_basis_joined(guide, "；")
}

fn legal_basis_joined(guide: &ServiceGuide, separator: &str) -> String {
    guide.legal_basis.iter().map(|b| format!("{}{}", b.law, b.article)).collect::<Vec<_>>().join(separator)
}

pub fn is_on_the_spot(guide: &ServiceGuide) -> bool {
    guide.handling == Handling::OnTheSpot || guide.promised_limit_days == 0
}

pub fn statutory_limit(guide: &ServiceGuide) -> String {
    match guide.statutory_limit_days {
        None => "法律法规未规定".to_owned(),
        Some(0) => "即办".to_owned(),
        Some(n) => format!("{n} 个工作日"),
    }
}

pub fn promised_limit(guide: &ServiceGuide) -> String {
    if is_on_the_spot(guide) {
        "即办件，材料齐全当场办结".to_owned()
    } else {
        format!("{} 个工作日（承诺件，自受理次日起算）", guide.promised_limit_days)
    }
}

/// 办理流程 (the 程序 of clause 7.6.2), one entry per step.
pub fn process(guide: &ServiceGuide) -> Vec<String> {
    guide
        .process
        .iter()
        .map(
            |p| {
                if p.description.trim().is_empty() { p.name.clone() } else { format!("{}：{}", p.name, p.description) }
            },
        )
        .collect()
}

pub fn fees(guide: &ServiceGuide) -> Vec<String> {
    if guide.is_free() {
        vec!["不收费".to_owned()]
    } else {
        guide.fees.iter().map(|f| format!("{}：{}（收费依据：{}）", f.item, f.standard, f.basis)).collect()
    }
}

/// The distinct non-empty numbers, in order, joined with 、.
pub fn phones<'a>(numbers: impl IntoIterator<Item = &'a str>) -> String {
    let mut out: Vec<&str> = Vec::new();
    for n in numbers {
        let n = n.trim();
        if !n.is_empty() && !out.contains(&n) {
            out.push(n);
        }
    }
    out.join("、")
}

pub fn consult_phones(head: &Letterhead, guide: &ServiceGuide) -> String {
    phones([guide.consult_phone.as_str(), head.center.consult_phone.as_str()])
}

pub fn complaint_phones(head: &Letterhead, guide: &ServiceGuide) -> String {
    phones([guide.complaint_phone.as_str(), head.center.complaint_phone.as_str()])
}

pub fn window_label(head: &Letterhead) -> String {
    format!("{}号窗口（{}）", head.window_number, head.window_name)
}

/// A window of the roster as documents name it: `3号窗口（综合出件窗）`.
pub fn roster_window_label(w: &Window) -> String {
    format!("{}号窗口（{}）", w.number, w.name)
}

/// The first window of a kind in the roster.
pub fn roster_window<'a>(head: &Letterhead<'a>, kind: WindowKind) -> Option<&'a Window> {
    head.windows.iter().find(|w| w.kind == kind)
}

pub const NOTICE_TITLE: &str = "一次性告知单";
pub const NOTICE_SUBTITLE: &str = "补正材料一次性告知";

/// The notice's opening sentence, citing what applies to this item: the Administrative
/// Licensing Law's article 32 only for a 行政许可; for every other kind (行政确认, 行政给付,
/// 公共服务...) the guide's own legal basis and the center's one-time notification rule
/// (clause 7.6.2 of DB 4210/T 61-2023).
pub fn notice_intro(guide: &ServiceGuide) -> String {
    let basis = if guide.item_type == ItemType::Licensing {
        "《中华人民共和国行政许可法》第三十二条".to_owned()
    } else {
        legal_basis_joined(guide, "、")
    };
    format!(
        "经审查，您提交的申请材料不齐全或者不符合规定形式。依照{basis}和一次性告知制的规定，现将需要补正的全部材料一次性告知如下："
    )
}
pub const NOTICE_STATEMENT: &str =
    "依照法律规定，本告知单已一次性列明需要补正的全部材料。请按本告知一次性补齐上述材料；补齐后即可受理。";
pub const RECEIPT_TITLE: &str = "受理凭证";

/// One missing item with what the guide says about getting it.
pub struct MissingLine<'a> {
    pub item: &'a ChecklistItem,
    pub material: Option<&'a Material>,
}

impl MissingLine<'_> {
    pub fn source(&self) -> String {
        self.material.map_or_else(|| "请向窗口咨询".to_owned(), |m| m.source.clone())
    }

    pub fn copies(&self) -> String {
        format!("{} 份", self.item.copies)
    }

    /// Labelled details after the name, form and copies, in print order.
    pub fn details(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(condition) = &self.item.condition {
            out.push(("适用情形", condition.clone()));
        }
        out.push(("获取途径", self.source()));
        if let Some(m) = self.material {
            if let Some(blank) = &m.blank_form {
                out.push(("空白表格", blank.clone()));
            }
            if let Some(sample) = &m.sample_form {
                out.push(("示例样本", sample.clone()));
            }
            if !m.notes.trim().is_empty() {
                out.push(("材料说明", m.notes.clone()));
            }
        }
        if !self.item.note.trim().is_empty() {
            out.push(("窗口备注", self.item.note.clone()));
        }
        out
    }
}

pub fn missing_lines<'a>(notice: &'a OneTimeNotice, guide: &'a ServiceGuide) -> Vec<MissingLine<'a>> {
    notice
        .missing
        .iter()
        .map(|item| MissingLine { item, material: guide.materials.iter().find(|m| m.id == item.material_id) })
        .collect()
}

/// The promised deadline line of a receipt, or why there is none.
pub fn receipt_facts<'a>(case: &'a Case, guide: &ServiceGuide) -> Result<(&'a str, NaiveDate, String), Invalid> {
    let bad = |field: &str, message: &str| Invalid { field: field.into(), message: message.into() };
    let number = case.case_number.as_deref().ok_or_else(|| bad("case_number", "办件尚未受理，没有办件编号"))?;
    let accepted_on = case.accepted_on.ok_or_else(|| bad("accepted_on", "办件尚未受理，没有受理日期"))?;
    let deadline = match (case.deadline, is_on_the_spot(guide)) {
        (Some(d), _) => {
            let mut s = date_cn(d.date);
            if d.provisional {
                s.push_str("（待定）");
            }
            s
        }
        (None, true) => date_cn(accepted_on),
        (None, false) => return Err(bad("deadline", "已受理的承诺件缺少承诺办结日期")),
    };
    Ok((number, accepted_on, deadline))
}

pub const PROVISIONAL_NOTE: &str =
    "注：承诺办结日期所在年度的法定节假日安排尚未公布，日期标注（待定），公布后可能顺延，届时以窗口通知为准。";

pub fn collection(head: &Letterhead, guide: &ServiceGuide) -> String {
    if is_on_the_spot(guide) {
        "即办件，当场办结，当场领取办理结果。".to_owned()
    } else if let Some(w) = roster_window(head, WindowKind::ComprehensiveDelivery) {
        format!(
            "统一出件，办结后请凭本凭证到{}{}领取办理结果（{}）。",
            head.center.name,
            roster_window_label(w),
            head.center.address
        )
    } else {
        // A center without a delivery window: the accepting window hands the result out.
        format!("办结后请凭本凭证到{}{}领取办理结果（{}）。", head.center.name, window_label(head), head.center.address)
    }
}

/// The materials received, in checklist order.
pub fn received_items(case: &Case) -> impl Iterator<Item = &ChecklistItem> {
    case.checklist.items.iter().filter(|i| i.state == MaterialCheck::Received)
}

/// The deferred (容缺) items with their due dates, as printed on the receipt.
pub fn deferred_lines(case: &Case) -> Vec<String> {
    case.checklist
        .deferred()
        .map(|i| {
            let due = i.due_on.map_or_else(|| "受理后补交".to_owned(), |d| format!("{}前补交", date_cn(d)));
            format!("{}（{}，{} 份）：{due}", i.name, i.form.label(), i.copies)
        })
        .collect()
}

/// The applicant's 容缺 commitment, printed above the applicant's signature on the receipt.
pub fn deferral_commitment(case: &Case) -> Option<String> {
    let due = case.checklist.deferred_due()?;
    Some(format!(
        "容缺受理承诺：本人承诺于{}前补交上述容缺材料，并对所提交材料的真实性负责；逾期未补交的，同意按不予受理或终止办理处理。",
        date_cn(due)
    ))
}

pub const REFUSAL_TITLE: &str = "不予受理告知书";

/// What a 不予受理告知书 says besides the case: why, on what basis, and what the applicant can
/// do about it.
pub struct RefusalFacts {
    pub number: String,
    pub intro: String,
    pub reason: String,
    pub remedy: String,
}

/// The facts of the refusal notice of an ended case; `Err` unless the case was refused.
pub fn refusal_facts(head: &Letterhead, case: &Case, guide: &ServiceGuide) -> Result<RefusalFacts, Invalid> {
    let bad = |message: &str| Invalid { field: "ending".into(), message: message.into() };
    let ending = case.ending.as_ref().filter(|e| e.kind == EndKind::Refused).ok_or_else(|| bad("办件不是不予受理"))?;
    let number = ending.notice_number.clone().ok_or_else(|| bad("不予受理缺少告知书编号"))?;
    let opened = to_china(case.opened_at).date_naive();
    let intro = format!(
        "您于{}申请办理的“{}”，经审查，不符合受理条件。依照{}，决定不予受理。理由如下：",
        date_cn(opened),
        guide.name,
        legal_basis_joined(guide, "、")
    );
    let cannot_get_done = roster_window(head, WindowKind::CannotGetDone)
        .map(|w| format!("也可到本中心{}反映；", roster_window_label(w)))
        .unwrap_or_default();
    let review = match guide.item_type {
        ItemType::PublicService => String::new(),
        _ => {
            "如对本决定不服，可以自收到本告知书之日起六十日内依法申请行政复议，或者六个月内依法向人民法院提起行政诉讼。"
                .to_owned()
        }
    };
    let remedy =
        format!("{review}如有疑问，请向窗口咨询；{cannot_get_done}监督投诉电话：{}。", complaint_phones(head, guide));
    Ok(RefusalFacts { number, intro, reason: ending.reason.clone(), remedy })
}
