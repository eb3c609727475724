//! Service guides (办事指南), shaped after clause 6.2.2 of DB 4210/T 61-2023: every guide states its
//! legal basis, statutory and promised time limits, acceptance conditions, materials, fees and
//! process, with FAQ and blank forms, and is split into business situations (业务情形) that select
//! which materials apply.

use serde::{Deserialize, Serialize};

use super::center::WindowKind;
use super::error::Invalid;
use super::labels::labelled;

labelled! { named:
    /// Kind of government service item (clause 6.1.2).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum ItemType {
        Licensing = "行政许可",
        Confirmation = "行政确认",
        Benefit = "行政给付",
        Adjudication = "行政裁决",
        Reward = "行政奖励",
        Filing = "行政备案",
        OtherPower = "其他行政权力",
        PublicService = "公共服务",
    }
}

labelled! { named:
    /// 即办件 are finished on the spot; 承诺件 are finished within the promised working days.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum Handling {
        OnTheSpot = "即办件",
        Promised = "承诺件",
    }
}

labelled! { named:
    /// How far the item can be handled online (clause 7.5).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum Online {
        OfflineOnly = "仅线下办理",
        PreReview = "网上预审",
        FullyOnline = "全程网办",
    }
}

/// One provision of the legal basis (设定依据).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalBasis {
    /// e.g. 《中华人民共和国残疾人保障法》
    pub law: String,
    /// e.g. 第二十二条; empty when the whole instrument is cited.
    #[serde(default)]
    pub article: String,
}

labelled! { named:
    /// In which form a material is handed in.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum MaterialForm {
        Original = "原件",
        Copy = "复印件",
        OriginalAndCopy = "原件和复印件",
        Electronic = "电子",
    }
}

/// One application material (申请材料).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Material {
    /// Unique within its guide; situations refer to materials by this id.
    pub id: String,
    pub name: String,
    pub form: MaterialForm,
    /// Number of copies (份数).
    pub copies: u32,
    /// `None`: always required. `Some(condition)`: required only when the condition holds,
    /// e.g. "委托他人代办的".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Where the applicant gets it (来源渠道), e.g. 申请人自备, 公安机关, 窗口领取.
    pub source: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// Name of the blank form (空白表格), if the material is a form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blank_form: Option<String>,
    /// Name of the filled-in sample (示例样本).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_form: Option<String>,
    /// 容缺受理: the case may be accepted without this material when the applicant commits to
    /// bring it within this many working days after acceptance. `None`: no acceptance without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferral_days: Option<u32>,
}

/// The longest 容缺 period a guide may give a material (working days).
pub const MAX_DEFERRAL_DAYS: u32 = 30;

/// A business situation (业务情形): a variant of the item with its own materials and conditions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Situation {
    /// Unique within its guide.
    pub id: String,
    pub name: String,
    /// Ids of the guide's materials that this situation needs.
    pub material_ids: Vec<String>,
    /// Extra acceptance conditions of this situation only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
}

/// One fee item (收费项目).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    pub item: String,
    /// 收费标准, e.g. "每本10元".
    pub standard: String,
    /// 收费依据.
    pub basis: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessStep {
    /// e.g. 受理, 审核, 决定, 送达.
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faq {
    pub question: String,
    pub answer: String,
}

/// A service guide as published and imported. `revision` and `updated_at` are owned by the
/// server: an import that changes an item bumps its revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceGuide {
    /// 事项编码, unique in the catalogue.
    pub code: String,
    /// 事项名称.
    pub name: String,
    /// 实施主体 (the department).
    pub department: String,
    pub item_type: ItemType,
    pub legal_basis: Vec<LegalBasis>,
    /// 法定时限 in working days; `None` where the law sets none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statutory_limit_days: Option<u32>,
    /// 承诺时限 in working days; 0 for 即办件.
    pub promised_limit_days: u32,
    pub handling: Handling,
    /// 收件即受理: the comprehensive window may accept on receipt (clause 7.2.4).
    pub accept_on_receipt: bool,
    /// Which window kind handles the item.
    pub window_kind: WindowKind,
    /// 取号类别: the queue category a ticket for this service is issued in (`B` for a 残联
    /// service), when the catalogue says; otherwise [`ServiceGuide::ticket_category`] takes the
    /// first category of a window of `window_kind`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_category: Option<char>,
    /// 受理条件.
    pub acceptance_conditions: Vec<String>,
    /// Every material of the item; situations select among them.
    pub materials: Vec<Material>,
    /// 业务情形. Empty: every material applies.
    #[serde(default)]
    pub situations: Vec<Situation>,
    /// Empty: free of charge (不收费).
    #[serde(default)]
    pub fees: Vec<Fee>,
    /// 办理流程.
    pub process: Vec<ProcessStep>,
    /// 常见问题.
    #[serde(default)]
    pub faqs: Vec<Faq>,
    /// Colloquial names people use at the desk, e.g. 办残疾证, 给娃上户口.
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// 办理地点.
    pub location: String,
    /// 办理时间.
    pub hours: String,
    /// 咨询电话.
    pub consult_phone: String,
    /// 监督投诉电话.
    pub complaint_phone: String,
    pub online: Online,
    #[serde(default = "first_revision")]
    pub revision: u32,
    /// China-time date of the last content change, `YYYY-MM-DD`.
    pub updated_on: chrono::NaiveDate,
}

/// The revision an imported guide is stored with, given the stored one with its code: `None` when
/// the content is the same (the fields the server owns, revision and date, aside), so re-importing
/// a file changes nothing; otherwise the next revision, or the first for a new code.
pub fn imported_revision(stored: Option<&ServiceGuide>, imported: &ServiceGuide) -> Option<u32> {
    let strip = |g: &ServiceGuide| ServiceGuide { revision: 0, updated_on: chrono::NaiveDate::MIN, ..g.clone() };
    match stored {
        Some(old) if strip(old) == strip(imported) => None,
        Some(old) => Some(old.revision + 1),
        None => Some(first_revision()),
    }
}

/// Whether `stored_body`, a guide as the store keeps it (its JSON text), has the same content as
/// `imported`, told from the text without decoding it: the two JSON texts are the same up to the
/// fields the server owns (revision and date, written last). `true` means unchanged by
/// [`imported_revision`]'s rule; `false` only that the texts differ (a body written by an older
/// version may differ in form), so the caller decodes it and asks [`imported_revision`]. A
/// re-import of an unchanged catalogue then encodes each guide once instead of decoding the stored
/// one.
pub fn same_stored_text(stored_body: &str, imported: &ServiceGuide) -> bool {
    // `,"revision":N,"updated_on":"YYYY-MM-DD"}`: a quote inside a string value is escaped, so
    // the last `,"revision":` followed by exactly this is the object's own pair of fields.
    fn content(body: &str) -> Option<&str> {
        let at = body.rfind(",\"revision\":")?;
        let rest = body[at..].strip_prefix(",\"revision\":")?;
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let date = rest[digits..].strip_prefix(",\"updated_on\":\"")?.strip_suffix("\"}")?;
        (digits > 0 && date.bytes().all(|b| b.is_ascii_digit() || b == b'-')).then_some(&body[..at])
    }
    let Ok(imported) = serde_json::to_string(imported) else { return false };
    matches!((content(stored_body), content(&imported)), (Some(a), Some(b)) if a == b)
}

fn first_revision() -> u32 {
    1
}

/// The longest guide code (the provincial codes are ten characters).
pub const MAX_CODE_CHARS: usize = 64;

/// Whether a guide code is from the safe alphabet: 1 to [`MAX_CODE_CHARS`] ASCII letters, digits
/// and `- _ .`, not starting with `.`. Codes go into URL paths, file names and messages.
pub fn is_valid_code(code: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    !code.is_empty() && code.len() <= MAX_CODE_CHARS && !code.starts_with('.') && code.chars().all(ok_char)
}

impl ServiceGuide {
    /// Materials that apply to a situation (all of them when the guide has no situations or the
    /// situation is unknown), in the guide's order.
    pub fn materials_for(&self, situation_id: Option<&str>) -> Vec<&Material> {
        let situation = situation_id.and_then(|id| self.situations.iter().find(|s| s.id == id));
        match situation {
            Some(s) => self.materials.iter().filter(|m| s.material_ids.iter().any(|id| id == &m.id)).collect(),
            None => self.materials.iter().collect(),
        }
    }

    pub fn is_free(&self) -> bool {
        self.fees.is_empty()
    }

    /// Every problem with this guide, each naming the field, so an import can report them all at
    /// once instead of stopping at the first.
    /// The queue category a ticket for this service is issued in: the catalogue's
    /// `queue_category` when one of `windows` calls it, else the first category of the first
    /// window of the guide's window kind.
    pub fn ticket_category(&self, windows: &[crate::domain::center::Window]) -> Option<char> {
        let called = |c: char| windows.iter().any(|w| w.categories.contains(&c));
        self.queue_category
            .filter(|&c| called(c))
            .or_else(|| windows.iter().find(|w| w.kind == self.window_kind).and_then(|w| w.categories.first().copied()))
    }

    pub fn problems(&self) -> Vec<Invalid> {
        let mut out = Vec::new();
        let mut bad = |field: &str, message: String| out.push(Invalid { field: field.to_owned(), message });
        for (field, value) in [
            ("code", &self.code),
            ("name", &self.name),
            ("department", &self.department),
            ("location", &self.location),
            ("hours", &self.hours),
            ("consult_phone", &self.consult_phone),
            ("complaint_phone", &self.complaint_phone),
        ] {
            if value.trim().is_empty() {
                bad(field, "不能为空".into());
            }
        }
        if !self.code.trim().is_empty() && !is_valid_code(&self.code) {
            bad("code", format!("事项编码只能由字母、数字和 - _ . 组成，至多 {MAX_CODE_CHARS} 个字符"));
        }
        if self.legal_basis.is_empty() {
            bad("legal_basis", "至少需要一条设定依据".into());
        }
        if let Some(c) = self.queue_category
            && !c.is_ascii_uppercase()
        {
            bad("queue_category", format!("“{c}”不是排队类别，应为一个大写字母，如 B"));
        }
        if self.materials.is_empty() {
            bad("materials", "至少需要一项申请材料".into());
        }
        if self.process.is_empty() {
            bad("process", "至少需要一个办理环节".into());
        }
        match self.handling {
            Handling::OnTheSpot if self.promised_limit_days != 0 => {
                bad("promised_limit_days", "即办件的承诺时限应为 0 个工作日".into())
            }
            Handling::Promised if self.promised_limit_days == 0 => {
                bad("promised_limit_days", "承诺件的承诺时限至少为 1 个工作日".into())
            }
            _ => {}
        }
        if let Some(statutory) = self.statutory_limit_days
            && self.promised_limit_days > statutory
        {
            bad("promised_limit_days", format!("承诺时限 {} 天超过法定时限 {statutory} 天", self.promised_limit_days));
        }
        let mut ids = std::collections::HashSet::new();
        for (i, m) in self.materials.iter().enumerate() {
            if !ids.insert(m.id.as_str()) {
                bad(&format!("materials[{i}].id"), format!("材料编号 {} 重复", m.id));
            }
            if m.name.trim().is_empty() {
                bad(&format!("materials[{i}].name"), "不能为空".into());
            }
            if m.copies == 0 {
                bad(&format!("materials[{i}].copies"), "份数至少为 1".into());
            }
            if let Some(days) = m.deferral_days
                && !(1..=MAX_DEFERRAL_DAYS).contains(&days)
            {
                bad(
                    &format!("materials[{i}].deferral_days"),
                    format!("容缺补交期限应为 1 至 {MAX_DEFERRAL_DAYS} 个工作日"),
                );
            }
        }
        let mut situation_ids = std::collections::HashSet::new();
        for (i, s) in self.situations.iter().enumerate() {
            if !situation_ids.insert(s.id.as_str()) {
                bad(&format!("situations[{i}].id"), format!("情形编号 {} 重复", s.id));
            }
            if s.material_ids.is_empty() {
                bad(&format!("situations[{i}].material_ids"), "情形至少选择一项材料".into());
            }
            for id in &s.material_ids {
                if !ids.contains(id.as_str()) {
                    bad(&format!("situations[{i}].material_ids"), format!("引用了不存在的材料 {id}"));
                }
            }
        }
        out
    }
}

/// The file format of a catalogue import and of `assets/guides.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Catalogue {
    /// Free text shown to admins, e.g. that the file is sample data.
    #[serde(default)]
    pub note: String,
    pub guides: Vec<ServiceGuide>,
}

#[cfg(test)]
mod tests {
    use crate::domain::center::{Window, WindowKind};

    /// The text comparison says "unchanged" exactly when the domain's rule does: the server's own
    /// fields (revision, date) aside; any other difference, even inside a text that quotes the
    /// field names, is a change (and is then decided by decoding).
    #[test]
    fn the_stored_text_is_unchanged_exactly_when_the_content_is() {
        use super::{imported_revision, same_stored_text};
        let json = |text: &str| serde_json::to_string(text).expect("json");
        let guides = crate::assets::bundled_catalogue().expect("bundled").guides;
        for guide in guides.iter().take(20) {
            let stored = super::ServiceGuide {
                revision: guide.revision + 3,
                updated_on: chrono::NaiveDate::from_ymd_opt(2020, 1, 2).expect("date"),
                ..guide.clone()
            };
            let body = serde_json::to_string(&stored).expect("json");
            assert!(same_stored_text(&body, guide), "{}", guide.code);
            assert_eq!(imported_revision(Some(&stored), guide), None);

            let mut changed = guide.clone();
            changed.hours.push_str(",\"revision\":1,\"updated_on\":\"2020-01-02\"}");
            assert!(!same_stored_text(&body, &changed), "{}", guide.code);
            assert!(imported_revision(Some(&stored), &changed).is_some());
            // A stored text of another form (pretty-printed, as an older writer might have
            // left it): not told from the text, so decoded.
            let pretty = serde_json::to_string_pretty(&stored).expect("json");
            assert!(!same_stored_text(&pretty, guide));
            // Keys in another order, the server's fields still last: not the same text either.
            let reordered = body.replacen(
                &format!("{{\"code\":{},\"name\":{},", json(&guide.code), json(&guide.name)),
                &format!("{{\"name\":{},\"code\":{},", json(&guide.name), json(&guide.code)),
                1,
            );
            assert_ne!(reordered, body);
            assert_eq!(serde_json::from_str::<super::ServiceGuide>(&reordered).expect("decodes"), stored);
            assert!(!same_stored_text(&reordered, guide), "{}", guide.code);
        }
    }

    fn window(number: u32, kind: WindowKind, categories: &[char]) -> Window {
        Window {
            number,
            name: format!("{number}号窗"),
            kind,
            a_holder: "s001".into(),
            b_holder: "s002".into(),
            categories: categories.to_vec(),
        }
    }

    #[test]
    fn a_ticket_is_issued_in_the_guides_own_category() {
        let guides = crate::assets::bundled_catalogue().expect("bundled").guides;
        let guide = |code: &str| guides.iter().find(|g| g.code == code).expect(code).clone();
        let windows = [
            window(1, WindowKind::ComprehensiveAcceptance, &['A', 'B']),
            window(2, WindowKind::ComprehensiveAcceptance, &['A', 'B', 'D']),
            window(4, WindowKind::Department, &['D']),
        ];
        // 残疾人证新办 is a 残联 service: B, though window 1 calls A first.
        assert_eq!(guide("HB-QS-0027").ticket_category(&windows), Some('B'));
        assert_eq!(guide("HB-QS-0001").ticket_category(&windows), Some('A'));
        assert_eq!(guide("HB-QS-0051").ticket_category(&windows), Some('D'));
        // Without a category of its own, or one no window calls: the window kind's first.
        let mut police = guide("HB-QS-0067");
        assert_eq!(police.queue_category, None);
        assert_eq!(police.ticket_category(&windows), Some('D'));
        police.queue_category = Some('Z');
        assert_eq!(police.ticket_category(&windows), Some('D'));
        assert!(police.problems().is_empty());
        police.queue_category = Some('b');
        assert!(police.problems().iter().any(|p| p.field == "queue_category"));
    }

    #[test]
    fn a_deferral_period_is_checked_on_import() {
        let guides = crate::assets::bundled_catalogue().expect("bundled").guides;
        assert!(guides.iter().filter(|g| g.materials.iter().any(|m| m.deferral_days.is_some())).count() >= 5);
        let mut g = guides.into_iter().find(|g| g.code == "HB-QS-0044").unwrap();
        assert!(g.problems().is_empty());
        for (days, ok) in [(0, false), (1, true), (30, true), (31, false)] {
            g.materials[0].deferral_days = Some(days);
            let bad = g.problems().iter().any(|p| p.field == "materials[0].deferral_days");
            assert_eq!(bad, !ok, "{days}");
        }
    }
}
