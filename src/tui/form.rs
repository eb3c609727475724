//! Small forms over single-line text fields: the walk-in, a material's note, the applicant, the
//! reason for a second notice. A form takes every key while open; it knows nothing of what its
//! values mean: the app validates them when the clerk submits.

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;
use uuid::Uuid;

/// What a form is for, with whatever the submit needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    WalkIn,
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
    Transfer,
    CallNumber,
    Pause,
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
}

#[derive(Debug, Clone)]
pub struct Field {
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

/// What a key did to the form.
#[derive(Debug, PartialEq, Eq)]
pub enum FormAction {
    Edited,
    Cancel,
    Submit,
}

pub(super) fn field(label: &'static str, placeholder: &str, value: &str) -> Field {
    let mut input = TextArea::new(vec![value.to_owned()]);
    input.set_placeholder_text(placeholder);
    input.move_cursor(ratatui_textarea::CursorMove::End);
    Field { label, input }
}

impl Form {
    pub fn walk_in() -> Self {
        Self::new(
            Purpose::WalkIn,
            " 来访登记（离线也可登记，联网后自动上传） ",
            vec![field("纸质号", "如 A023，无则留空", ""), field("事  项", "办理事项，如 咨询低保", "")],
        )
    }

    pub fn material_note(case_id: Uuid, material_id: String, current: &str) -> Self {
        Self::new(
            Purpose::MaterialNote { case_id, material_id },
            " 材料备注 ",
            vec![field("备  注", "如 复印件需核验原件", current)],
        )
    }

    pub fn applicant(case_id: Uuid) -> Self {
        Self::new(
            Purpose::Applicant { case_id },
            " 申请人（保存后屏幕上只显示脱敏信息） ",
            vec![
                field("姓  名", "申请人姓名", ""),
                field("身份证", "18 位公民身份号码（旧证 15 位）", ""),
                field("电  话", "手机，或座机加区号；可不填", ""),
            ],
        )
    }

    pub fn repeat_notice(case_id: Uuid) -> Self {
        Self::new(
            Purpose::RepeatNotice { case_id },
            " 再次告知须写明原因 ",
            vec![field("原  因", "如 申请人更换业务情形", "")],
        )
    }

    /// Sign-in at a terminal that has no session, naming the server it goes to. The password
    /// is shown as stars. After a refusal the staff id typed before stays and the caret waits
    /// in the password field, which is empty again.
    pub fn sign_in(reason: Option<&str>, server: Option<&str>, staff_id: &str) -> Self {
        let mut password = field("密  码", "", "");
        password.input.set_mask_char('*');
        let mut form =
            Self::new(Purpose::SignIn, " 登录便民终端 ", vec![field("工  号", "如 s001", staff_id), password]);
        form.error = reason.map(str::to_owned);
        form.note = Some(match server {
            Some(server) => format!("服务器：{server}"),
            None => "单机模式：本机服务".to_owned(),
        });
        if !staff_id.is_empty() {
            form.focused = 1;
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
            vec![field("窗口号", "如 2", ""), field("原  因", reason, "")],
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
            vec![field("转到类别", "类别字母，如 B；或留空", ""), field("转到窗口", "窗口号，如 4；或留空", "")],
        )
    }

    pub fn check_in() -> Self {
        Self::new(Purpose::CheckIn, " 预约签到 ", vec![field("预约号", "如 A031", "")])
    }

    pub fn call_number() -> Self {
        Self::new(Purpose::CallNumber, " 呼叫指定号 ", vec![field("号  码", "如 A023", "")])
    }

    pub fn pause() -> Self {
        Self::new(Purpose::Pause, " 暂停本窗口叫号 ", vec![field("原  因", "如 系统维护、临时外出", "")])
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
