//! The AB岗交接 pane's keys and its editor: A writes a handover before leaving, B takes over in
//! an emergency or hands the window back with a report, and each side acknowledges what the
//! other wrote. The notes and the to-do list are multi-line editors (ratatui-textarea), which
//! move the caret by display width, so Chinese text edits correctly.

use chrono::{DateTime, NaiveTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use super::app::{App, AppCommand, Leave, Modal, Pane, Reaction};
use super::form::Form;
use crate::domain::center::Post;
use crate::domain::handover::{AwayReason, Handover, HandoverDraft, HandoverKind, PendingItem, clean_text};
use crate::domain::text::clean_line;
use crate::domain::time::{china_date, china_offset};

pub const REASONS: [AwayReason; 5] =
    [AwayReason::Leave, AwayReason::Meeting, AwayReason::Training, AwayReason::Errand, AwayReason::Other];

/// The handover editor: reason and expected return (A→B and emergency), to-dos one per line,
/// and free notes.
#[derive(Debug, Clone)]
pub struct HandoverEditor {
    pub kind: HandoverKind,
    pub reason: usize,
    pub expected_return: TextArea<'static>,
    pub pending: TextArea<'static>,
    pub notes: TextArea<'static>,
    /// 0 reason, 1 return time, 2 to-dos, 3 notes.
    pub field: usize,
    pub error: Option<String>,
}

impl HandoverEditor {
    /// Whether anything has been typed (so closing it would throw text away).
    pub fn has_text(&self) -> bool {
        [&self.expected_return, &self.pending, &self.notes]
            .iter()
            .any(|t| t.lines().iter().any(|l| !l.trim().is_empty()))
    }

    pub fn new(kind: HandoverKind) -> Self {
        let mut expected_return = TextArea::default();
        expected_return.set_placeholder_text("如 16:30，不确定可留空");
        let mut pending = TextArea::default();
        pending.set_placeholder_text("每行一项，如：14:00 前回电张先生补材料");
        let mut notes = TextArea::default();
        notes.set_placeholder_text(match kind {
            HandoverKind::HandBack => "顶岗期间办了什么、还有什么没办完",
            _ => "需要对方知道的事",
        });
        let first = if kind == HandoverKind::HandBack { 2 } else { 0 };
        Self { kind, reason: 0, expected_return, pending, notes, field: first, error: None }
    }

    pub fn asks_reason(&self) -> bool {
        self.kind != HandoverKind::HandBack
    }

    /// What the clerk wrote, checked.
    pub fn draft(&self, now: DateTime<Utc>) -> Result<HandoverDraft, String> {
        let expected_return = match clean_line(&self.expected_return.lines().join("")).trim() {
            "" => None,
            text => {
                let time = NaiveTime::parse_from_str(text, "%H:%M")
                    .map_err(|_| "预计返回时间应为 时:分，如 16:30".to_owned())?;
                let at = china_date(now).and_time(time).and_local_timezone(china_offset()).single();
                Some(at.ok_or("预计返回时间无效")?.with_timezone(&Utc))
            }
        };
        let pending = self
            .pending
            .lines()
            .iter()
            .map(|l| clean_line(l).trim().to_owned())
            .filter(|l| !l.is_empty())
            .map(|text| PendingItem { due: due_of(&text, now), text, done: false })
            .collect();
        let reason = self.asks_reason().then(|| REASONS[self.reason]);
        Ok(HandoverDraft { reason, expected_return, pending, notes: clean_text(&self.notes.lines().join("\n")) })
    }

    fn last_field(&self) -> usize {
        3
    }

    fn first_field(&self) -> usize {
        if self.asks_reason() { 0 } else { 2 }
    }

    pub fn focused(&mut self) -> Option<&mut TextArea<'static>> {
        match self.field {
            1 => Some(&mut self.expected_return),
            2 => Some(&mut self.pending),
            3 => Some(&mut self.notes),
            _ => None,
        }
    }
}

/// A to-do that starts with a time ("14:00 回电张先生") is due today at that time.
fn due_of(item: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let first = item.split_whitespace().next()?;
    let time = NaiveTime::parse_from_str(first, "%H:%M").ok()?;
    Some(china_date(now).and_time(time).and_local_timezone(china_offset()).single()?.with_timezone(&Utc))
}

/// What a key did to the editor.
enum EditorAction {
    Edited,
    Cancel,
    Save,
}

fn edit(editor: &mut HandoverEditor, key: KeyEvent) -> EditorAction {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => return EditorAction::Cancel,
        KeyCode::Char('s') if ctrl => return EditorAction::Save,
        KeyCode::Tab => {
            editor.field = if editor.field >= editor.last_field() { editor.first_field() } else { editor.field + 1 };
        }
        KeyCode::BackTab => {
            editor.field = if editor.field <= editor.first_field() { editor.last_field() } else { editor.field - 1 };
        }
        KeyCode::Left if editor.field == 0 => editor.reason = (editor.reason + REASONS.len() - 1) % REASONS.len(),
        KeyCode::Right if editor.field == 0 => editor.reason = (editor.reason + 1) % REASONS.len(),
        // The time is one line: Enter moves on.
        KeyCode::Enter if editor.field <= 1 => editor.field += 1,
        _ => {
            editor.error = None;
            if let Some(area) = editor.focused() {
                area.input(key);
            }
        }
    }
    EditorAction::Edited
}

impl App {
    /// The post the signed-in clerk holds at this window.
    fn my_post(&self) -> Option<Post> {
        self.window_post().map(|(_, post)| post)
    }

    /// The newest handover that waits for the signed-in clerk's acknowledgement: the flag in the
    /// status bar.
    pub fn handover_to_acknowledge(&self) -> Option<&Handover> {
        let me = &self.me.as_ref()?.staff.id;
        self.handover_pane.list.iter().find(|h| h.awaits_acknowledgement_by(me))
    }

    pub(super) fn on_handover_editor_key(&mut self, key: KeyEvent) -> Reaction {
        let Some(Modal::HandoverEditor(editor)) = &mut self.modal else { return Reaction::default() };
        match edit(editor, key) {
            EditorAction::Edited => Reaction::redraw(),
            EditorAction::Cancel if editor.has_text() => {
                self.ask_leave("放弃未保存的交接内容？（y 放弃 / n 继续编写）".to_owned(), Leave::DiscardHandover);
                Reaction::redraw()
            }
            EditorAction::Cancel => {
                self.modal = None;
                Reaction::redraw()
            }
            EditorAction::Save => match editor.draft(self.now) {
                Ok(draft) => {
                    let kind = editor.kind;
                    self.modal = None;
                    let (window, _) = self.window_post().unwrap_or((0, Post::A));
                    let parked = self.parked_here().into_iter().cloned().collect();
                    let cases = self.case_pane.list.iter().filter(|c| c.window == window).cloned().collect();
                    // The backend says it is written once it is committed.
                    self.message = Some("正在保存交接…".into());
                    Reaction { redraw: true, commands: vec![AppCommand::WriteHandover { kind, draft, cases, parked }] }
                }
                Err(message) => {
                    editor.error = Some(message);
                    Reaction::redraw()
                }
            },
        }
    }

    fn open_editor(&mut self, kind: HandoverKind) {
        self.modal = Some(Modal::HandoverEditor(Box::new(HandoverEditor::new(kind))));
    }

    pub(super) fn on_handover_pane_key(&mut self, key: KeyEvent) -> Reaction {
        let Some(post) = self.my_post() else { return Reaction::default() };
        let covering = self.overview.as_ref().is_some_and(|o| o.duty.acting_post() == Some(Post::B));
        match key.code {
            KeyCode::Char('h') if post == Post::A => self.open_editor(HandoverKind::AToB),
            KeyCode::Char('e') if post == Post::B && !covering => self.open_editor(HandoverKind::EmergencyTakeover),
            KeyCode::Char('b') if post == Post::B && covering => self.open_editor(HandoverKind::HandBack),
            KeyCode::Char('a') => match self.handover_to_acknowledge() {
                Some(h) => self.modal = Some(Modal::Form(Box::new(Form::acknowledge(h.id)))),
                None => self.message = Some("没有等你确认的交接".into()),
            },
            // x withdraws the selected handover: its writer, before it is acknowledged; asks first.
            KeyCode::Char('x') => {
                let Some(h) = self.handover_pane.list.get(self.handover_pane.selected).cloned() else {
                    return Reaction::default();
                };
                let me = self.me.as_ref().map(|m| m.staff.id.clone()).unwrap_or_default();
                return match crate::domain::handover::withdraw(&h, &me, self.now) {
                    Ok(_) => {
                        let question =
                            format!("确认撤回这份{}？撤回后对方无需确认（y 确认 / n 取消）", h.kind().label());
                        self.ask(
                            question,
                            super::app::Pending::Case(AppCommand::WithdrawHandover { handover: Box::new(h) }),
                        )
                    }
                    Err(e) => {
                        self.message = Some(e.message);
                        Reaction::redraw()
                    }
                };
            }
            // 1-9 tick off (or untick) a to-do of the selected handover.
            KeyCode::Char(c @ '1'..='9') => {
                let item = (c as u8 - b'1') as usize;
                let Some(h) = self.handover_pane.list.get(self.handover_pane.selected) else {
                    return Reaction::default();
                };
                let Some(todo) = h.pending.get(item) else {
                    self.message = Some(format!("这条交接没有第 {} 项待办", item + 1));
                    return Reaction::redraw();
                };
                let command = AppCommand::CheckHandoverItem { handover_id: h.id, item: item as u32, done: !todo.done };
                return Reaction { redraw: true, commands: vec![command] };
            }
            KeyCode::Up => self.handover_pane.selected = self.handover_pane.selected.saturating_sub(1),
            KeyCode::Down => {
                self.handover_pane.selected =
                    (self.handover_pane.selected + 1).min(self.handover_pane.list.len().saturating_sub(1))
            }
            KeyCode::Char('h' | 'e' | 'b') => {
                self.message = Some(match (post, covering) {
                    (Post::A, _) => "A岗：h 写交接".into(),
                    (Post::B, false) => "B岗：A岗不在时 e 紧急顶岗".into(),
                    (Post::B, true) => "B岗顶岗中：A岗回来后 b 交回".into(),
                });
            }
            _ => return Reaction::default(),
        }
        self.focus = Pane::Handover;
        Reaction::redraw()
    }

    pub(super) fn submit_acknowledgement(
        &mut self,
        handover_id: uuid::Uuid,
        values: &super::form::Values,
    ) -> Result<Vec<AppCommand>, String> {
        let note = clean_text(values.get(super::form::FieldId::Note));
        let handover = self.handover_pane.list.iter().find(|h| h.id == handover_id).cloned().ok_or("交接已不存在")?;
        // Said as done only by the backend ("已确认接收交接"), once the record is committed.
        self.message = Some("正在确认接收".into());
        Ok(vec![AppCommand::AcknowledgeHandover { handover: Box::new(handover), note }])
    }
}

impl Form {
    pub fn acknowledge(handover_id: uuid::Uuid) -> Self {
        Form::with(
            super::form::Purpose::Acknowledge { handover_id },
            " 确认接收交接 ",
            vec![super::form::field(super::form::FieldId::Note, "说  明", "如 已阅，按待办处理", "")],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn the_editor_takes_chinese_lines_and_a_return_time() {
        let mut editor = HandoverEditor::new(HandoverKind::AToB);
        edit(&mut editor, key(KeyCode::Right));
        edit(&mut editor, key(KeyCode::Enter));
        for c in "16:30".chars() {
            edit(&mut editor, key(KeyCode::Char(c)));
        }
        edit(&mut editor, key(KeyCode::Enter));
        for c in "回电张先生".chars() {
            edit(&mut editor, key(KeyCode::Char(c)));
        }
        edit(&mut editor, key(KeyCode::Enter));
        for c in "收齐王女士材料".chars() {
            edit(&mut editor, key(KeyCode::Char(c)));
        }
        edit(&mut editor, key(KeyCode::Tab));
        for c in "下午有培训".chars() {
            edit(&mut editor, key(KeyCode::Char(c)));
        }
        // The caret sits after five Hanzi: ten columns.
        assert_eq!(editor.notes.screen_cursor().col, 10);
        let now: DateTime<Utc> = "2026-11-30T01:00:00Z".parse().unwrap();
        let draft = editor.draft(now).unwrap();
        assert_eq!(draft.reason, Some(AwayReason::Meeting));
        assert_eq!(draft.expected_return, Some("2026-11-30T08:30:00Z".parse().unwrap()));
        let items: Vec<&str> = draft.pending.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(items, ["回电张先生", "收齐王女士材料"]);
        assert_eq!(draft.pending[0].due, None);
        assert_eq!(due_of("14:00 回电", now), Some("2026-11-30T06:00:00Z".parse().unwrap()), "14:00 China time");
        assert_eq!(draft.notes, "下午有培训");
        assert!(matches!(
            edit(&mut editor, KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)),
            EditorAction::Save
        ));
    }

    #[test]
    fn a_bad_return_time_is_explained() {
        let mut editor = HandoverEditor::new(HandoverKind::AToB);
        editor.field = 1;
        for c in "明天".chars() {
            edit(&mut editor, key(KeyCode::Char(c)));
        }
        assert!(editor.draft(Utc::now()).unwrap_err().contains("16:30"));
    }
}
