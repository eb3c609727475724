//! Small forms over single-line text fields: the visit (来访登记), a material's note, the applicant, the
//! reason for a second notice. A form takes every key while open; it knows nothing of what its
//! values mean: the app validates them when the clerk submits.

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;
use uuid::Uuid;

/// What a form is for, with whatever the submit needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    Visit,
    MaterialNote {
        case_id: Uuid,
        material_id: String,
    },
    Applicant {
        case_id: Uuid,
    },
    RepeatNotice {
        case_id: Uuid,
    },
    /// 代办人: who applies for the applicant.
    Agent {
        case_id: Uuid,
    },
    /// How the case ends without acceptance, and why (asked y/n after).
    EndCase {
        case_id: Uuid,
    },
    /// Which document to print again, by its number.
    Reprint,
    Transfer,
    CallNumber,
    Pause,
    /// 预约 at the desk: category, day, slot, phone (optional).
    Book,
    /// 取消预约 at the desk, by code.
    CancelBooking,
    Inquiry {
        action: super::desk::DeskAction,
        guide_code: Option<String>,
    },
    Acknowledge {
        handover_id: Uuid,
    },
    SignIn,
    /// Which of the clerk's windows this terminal works for; a reason when switching.
    ChoosePost {
        switching: bool,
    },
    CheckIn,
    /// A returning applicant's case, by one term.
    FindCase,
    /// Move a case to another window (转办).
    TransferCase {
        case_id: Uuid,
    },
    /// A clerk explains a bad rating of their window (情况说明).
    AnswerFollowUp {
        rating_id: Uuid,
    },
    /// The director gives a follow-up to someone (交办).
    AssignFollowUp {
        rating_id: Uuid,
    },
    /// The director closes a follow-up: 现场化解 (`on_spot`) or 核实整改.
    CloseFollowUp {
        rating_id: Uuid,
        on_spot: bool,
    },
}

/// Which field of a form: a submit reads each value by its name, never by its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldId {
    /// A paper ticket's number (来访登记).
    PaperTicket,
    /// What the visitor came for (来访登记).
    Matter,
    Note,
    Name,
    IdNumber,
    Phone,
    Reason,
    StaffId,
    Password,
    Window,
    Category,
    /// A ticket number typed in (呼叫指定号, 预约签到).
    Number,
    Rating,
    Comment,
    Question,
    /// The green-channel reason (绿色通道).
    Green,
    /// What a returning applicant's case is looked up by.
    Lookup,
    /// 代办人与申请人关系.
    Relation,
    /// How a case ends (1 误开撤销, 2 撤回, 3 不予受理).
    EndKind,
    /// 核实结论 (1 属实, 2 不属实).
    Finding,
    /// 整改措施.
    Rectification,
    /// 反馈方式 (1 电话, 2 当面, 3 短信, 4 书面).
    Channel,
    /// A China-time day typed in (预约日期).
    Day,
    /// A slot's start typed in (预约时段, HH:MM).
    Slot,
    /// A booking code (预约码).
    Code,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub id: FieldId,
    pub label: &'static str,
    pub input: TextArea<'static>,
}

#[derive(Debug, Clone)]
pub struct Form {
    pub purpose: Purpose,
    pub title: &'static str,
    pub fields: Vec<Field>,
    pub focused: usize,
    /// Why the last submit was refused, in Chinese.
    pub error: Option<String>,
    /// A line of context above the fields (the server a sign-in goes to).
    pub note: Option<String>,
}

/// What was typed into a form, by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Values(Vec<(FieldId, String)>);

impl Values {
    /// The value of field `id`; empty when the form has no such field.
    pub fn get(&self, id: FieldId) -> &str {
        self.0.iter().find(|(f, _)| *f == id).map_or("", |(_, v)| v.as_str())
    }
}

/// What a key did to the form.
#[derive(Debug, PartialEq, Eq)]
pub enum FormAction {
    Edited,
    Cancel,
    Submit,
}

pub(super) fn field(id: FieldId, label: &'static str, placeholder: &str, value: &str) -> Field {
    let mut input = TextArea::new(vec![value.to_owned()]);
    input.set_placeholder_text(placeholder);
    input.move_cursor(ratatui_textarea::CursorMove::End);
    Field { id, label, input }
}

impl Form {
    pub fn visit() -> Self {
        Self::new(
            Purpose::Visit,
            " 来访登记（离线也可登记，联网后自动上传） ",
            vec![
                field(FieldId::PaperTicket, "纸质号", "如 A023，无则留空", ""),
                field(FieldId::Matter, "事  项", "办理事项，如 咨询低保", ""),
            ],
        )
    }

    pub fn material_note(case_id: Uuid, material_id: String, current: &str) -> Self {
        Self::new(
            Purpose::MaterialNote { case_id, material_id },
            " 材料备注 ",
            vec![field(FieldId::Note, "备  注", "如 复印件需核验原件", current)],
        )
    }

    pub fn applicant(case_id: Uuid) -> Self {
        Self::new(
            Purpose::Applicant { case_id },
            " 申请人（保存后屏幕上只显示脱敏信息） ",
            vec![
                field(FieldId::Name, "姓  名", "申请人姓名", ""),
                field(FieldId::IdNumber, "身份证", "18 位公民身份号码（旧证 15 位）", ""),
                field(FieldId::Phone, "电  话", "手机，或座机加区号；可不填", ""),
            ],
        )
    }

    pub fn transfer_case(case_id: Uuid) -> Self {
        Self::new(
            Purpose::TransferCase { case_id },
            " 转办到其他窗口（转办后本窗口不能再修改） ",
            vec![
                field(FieldId::Window, "窗口号", "如 4", ""),
                field(FieldId::Reason, "原  因", "如 属部门专窗办理", ""),
            ],
        )
    }

    pub fn find_case() -> Self {
        Self::new(
            Purpose::FindCase,
            " 查找回头办件（屏幕上只显示脱敏信息） ",
            vec![field(FieldId::Lookup, "查  找", "告知单编号、办件编号、身份证号，或 姓名 电话", "")],
        )
    }

    pub fn repeat_notice(case_id: Uuid) -> Self {
        Self::new(
            Purpose::RepeatNotice { case_id },
            " 再次告知须写明原因 ",
            vec![field(FieldId::Reason, "原  因", "如 申请人更换业务情形", "")],
        )
    }

    pub fn agent(case_id: Uuid) -> Self {
        Self::new(
            Purpose::Agent { case_id },
            " 代办人（帮办代办；屏幕上只显示脱敏信息） ",
            vec![
                field(FieldId::Name, "姓  名", "代办人姓名", ""),
                field(FieldId::IdNumber, "身份证", "代办人 18 位公民身份号码", ""),
                field(FieldId::Relation, "关  系", "与申请人关系，如 子女、村委会工作人员", ""),
            ],
        )
    }

    pub fn end_case(case_id: Uuid) -> Self {
        let mut form = Self::new(
            Purpose::EndCase { case_id },
            " 终止办件（不受理） ",
            vec![
                field(FieldId::EndKind, "方  式", "填 1、2 或 3", ""),
                field(FieldId::Reason, "原  因", "不予受理必填，将打印在告知书上", ""),
            ],
        );
        form.note = Some("1 误开撤销  2 申请人撤回  3 不予受理（打印告知书）".into());
        form
    }

    pub fn reprint(number: &str) -> Self {
        let mut form = Self::new(
            Purpose::Reprint,
            " 补打告知单或凭证（不产生新记录） ",
            vec![field(FieldId::Number, "编  号", "如 GZ01-20261205-0001、SL…、BY…", number)],
        );
        form.note = Some("一次性告知单 GZ…，受理凭证 SL…，不予受理告知书 BY…".into());
        form
    }

    /// Sign-in at a terminal that has no session, naming the server it goes to. The password
    /// is shown as stars. After a refusal the staff id typed before stays and the caret waits
    /// in the password field, which is empty again.
    pub fn sign_in(reason: Option<&str>, server: Option<&str>, staff_id: &str) -> Self {
        let mut password = field(FieldId::Password, "密  码", "", "");
        password.input.set_mask_char('*');
        let mut form = Self::new(
            Purpose::SignIn,
            " 登录便民终端 ",
            vec![field(FieldId::StaffId, "工  号", "如 s001", staff_id), password],
        );
        form.error = reason.map(str::to_owned);
        form.note = Some(match server {
            Some(server) => format!("服务器：{server}"),
            None => "单机模式：本机服务".to_owned(),
        });
        if !staff_id.is_empty() {
            form.focus(FieldId::Password);
        }
        form
    }

    /// Which window to work at, listing the clerk's posts.
    pub fn choose_post(options: &[crate::api::PostAssignment], switching: bool) -> Self {
        let listed: Vec<String> =
            options.iter().map(|p| format!("{} 号窗口（{}）", p.window, p.post.label())).collect();
        let reason = if switching { "必填，如 顶替同事" } else { "可不填" };
        let mut form = Self::new(
            Purpose::ChoosePost { switching },
            " 本机在哪个窗口工作 ",
            vec![field(FieldId::Window, "窗口号", "如 2", ""), field(FieldId::Reason, "原  因", reason, "")],
        );
        form.note = Some(format!("您在 {} 任职", listed.join("、")));
        form
    }

    /// Esc on the sign-in screen: there is nothing behind it to go back to, so it starts over.
    pub fn clear(&mut self) {
        for f in &mut self.fields {
            let placeholder = f.input.placeholder_text().to_owned();
            let mask = f.input.mask_char();
            f.input = TextArea::default();
            f.input.set_placeholder_text(placeholder);
            if let Some(mask) = mask {
                f.input.set_mask_char(mask);
            }
        }
        self.focused = 0;
        self.error = Some("已清空，请重新输入（Ctrl+C 退出程序）".into());
    }

    pub fn transfer() -> Self {
        Self::new(
            Purpose::Transfer,
            " 转移（号码不变） ",
            vec![
                field(FieldId::Category, "转到类别", "类别字母，如 B；或留空", ""),
                field(FieldId::Window, "转到窗口", "窗口号，如 4；或留空", ""),
            ],
        )
    }

    pub fn check_in() -> Self {
        Self::new(
            Purpose::CheckIn,
            " 预约签到 ",
            vec![field(FieldId::Number, "预约号", "A031、6 位预约码或手机号", "")],
        )
    }

    /// 预约 at the desk. The phone is typed masked: whoever stands behind sees no digits.
    pub fn booking() -> Self {
        let mut phone = field(FieldId::Phone, "电  话", "可不填；签到时可凭电话", "");
        phone.input.set_mask_char('*');
        Self::new(
            Purpose::Book,
            " 预约（精确到时段） ",
            vec![
                field(FieldId::Category, "类  别", "排队类别字母，如 A", ""),
                field(FieldId::Day, "日  期", "如 2026-12-07；留空为今天", ""),
                field(FieldId::Slot, "时  段", "时段开始时间，如 10:00", ""),
                phone,
            ],
        )
    }

    pub fn cancel_booking() -> Self {
        Self::new(
            Purpose::CancelBooking,
            " 取消预约 ",
            vec![
                field(FieldId::Code, "预约码", "6 位数字", ""),
                field(FieldId::Day, "日  期", "预约的日期，如 2026-12-07；留空为今天", ""),
            ],
        )
    }

    pub fn call_number() -> Self {
        Self::new(Purpose::CallNumber, " 呼叫指定号 ", vec![field(FieldId::Number, "号  码", "如 A023", "")])
    }

    pub fn pause() -> Self {
        Self::new(
            Purpose::Pause,
            " 暂停本窗口叫号 ",
            vec![field(FieldId::Reason, "原  因", "如 系统维护、临时外出", "")],
        )
    }

    pub(super) fn with(purpose: Purpose, title: &'static str, fields: Vec<Field>) -> Self {
        Self::new(purpose, title, fields)
    }

    fn new(purpose: Purpose, title: &'static str, fields: Vec<Field>) -> Self {
        Self { purpose, title, fields, focused: 0, error: None, note: None }
    }

    /// The values as typed, one per field, in order.
    pub fn values(&self) -> Vec<String> {
        self.fields.iter().map(|f| f.input.lines().join("")).collect()
    }

    /// The values as typed, by field.
    pub fn named_values(&self) -> Values {
        Values(self.fields.iter().map(|f| (f.id, f.input.lines().join(""))).collect())
    }

    /// The value typed into field `id` (empty when the form has no such field).
    pub fn value(&self, id: FieldId) -> String {
        self.named_values().get(id).to_owned()
    }

    /// The first field left empty (blanks only count as empty).
    pub fn first_empty(&self) -> Option<usize> {
        self.values().iter().position(|v| v.trim().is_empty())
    }

    /// Puts the caret in field `id`.
    pub fn focus(&mut self, id: FieldId) {
        if let Some(i) = self.fields.iter().position(|f| f.id == id) {
            self.focused = i;
        }
    }

    pub fn handle(&mut self, key: KeyEvent) -> FormAction {
        let last = self.fields.len().saturating_sub(1);
        match key.code {
            KeyCode::Esc => return FormAction::Cancel,
            KeyCode::Tab | KeyCode::Down => self.focused = if self.focused == last { 0 } else { self.focused + 1 },
            KeyCode::BackTab | KeyCode::Up => self.focused = if self.focused == 0 { last } else { self.focused - 1 },
            // Enter moves on; on the last field it submits. Fields are single lines.
            KeyCode::Enter if self.focused < last => self.focused += 1,
            KeyCode::Enter => return FormAction::Submit,
            _ => {
                self.error = None;
                if let Some(f) = self.fields.get_mut(self.focused) {
                    f.input.input(key);
                }
            }
        }
        FormAction::Edited
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn enter_walks_the_fields_then_submits() {
        let mut form = Form::applicant(Uuid::nil());
        for c in "张三".chars() {
            form.handle(key(KeyCode::Char(c)));
        }
        assert_eq!(form.handle(key(KeyCode::Enter)), FormAction::Edited);
        for c in "11010519491231002X".chars() {
            form.handle(key(KeyCode::Char(c)));
        }
        form.handle(key(KeyCode::Enter));
        assert_eq!(form.handle(key(KeyCode::Enter)), FormAction::Submit);
        assert_eq!(form.values(), vec!["张三", "11010519491231002X", ""]);
        assert_eq!(form.handle(key(KeyCode::Esc)), FormAction::Cancel);
    }

    #[test]
    fn an_existing_note_is_edited_in_place() {
        let mut form = Form::material_note(Uuid::nil(), "m1".into(), "复印件");
        form.handle(key(KeyCode::Char('2')));
        assert_eq!(form.values(), vec!["复印件2"]);
    }
}
