//! The director's board (中心负责人) in the terminal: the center now, refreshed from the server,
//! and the 差评整改 follow-ups the director assigns and closes. Pure like the rest of the app:
//! keys become [`AppCommand`]s; whether a step is allowed is the domain's
//! [`FollowUp::check_step`], asked here before the director is asked to confirm and again by
//! the server.

use chrono::NaiveDate;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use uuid::Uuid;

use super::app::{App, AppCommand, Pending, Reaction};
use super::form::{FieldId, Form, Purpose, Values, field};
use serde::{Deserialize, Serialize};

use crate::api::follow_up::FollowUpRow;
use crate::domain::attendance::WindowStanding;
use crate::domain::board::{Board, CaseAlert};
use crate::domain::follow_up::{Feedback, FeedbackChannel, Finding, FollowUp, FollowUpAction, FollowUpActor};
use crate::domain::staff::Role;
use crate::domain::text::clean_line;
use crate::domain::time::china_date;

/// The board's state in the app: the last snapshot and the highlighted follow-up.
#[derive(Debug, Clone, Default)]
pub struct BoardPane {
    pub snapshot: Option<Board>,
    /// Index into the snapshot's follow-ups.
    pub selected: usize,
    /// Tab moved the keys to the 效能 list (cases near or past their date).
    pub on_cases: bool,
    /// Index into the snapshot's cases.
    pub case_selected: usize,
}

impl BoardPane {
    /// Takes a new snapshot; whether anything on screen changes (the time it was taken alone
    /// does not: the clock is the status bar's).
    pub fn take(&mut self, board: Board) -> bool {
        let same = self.snapshot.as_ref().is_some_and(|old| Board { at: old.at, ..board.clone() } == *old);
        let selected_id = self.selected_follow_up().map(|f| f.rating_id);
        self.snapshot = Some(board);
        // The highlight stays on the same follow-up when the list moves.
        let list = self.follow_ups();
        self.selected = selected_id
            .and_then(|id| list.iter().position(|f| f.rating_id == id))
            .unwrap_or(self.selected)
            .min(list.len().saturating_sub(1));
        let cases = self.snapshot.as_ref().map_or(0, |b| b.cases.len());
        self.case_selected = self.case_selected.min(cases.saturating_sub(1));
        !same
    }

    pub fn follow_ups(&self) -> Vec<&FollowUp> {
        self.snapshot.iter().flat_map(|b| b.follow_ups.iter().map(|(f, _)| f)).collect()
    }

    pub fn selected_follow_up(&self) -> Option<&FollowUp> {
        self.follow_ups().get(self.selected).copied()
    }

    pub fn selected_case(&self) -> Option<&CaseAlert> {
        self.snapshot.as_ref()?.cases.get(self.case_selected)
    }
}

/// What a clerk's terminal hears of its window with each presence report: how the window stands
/// (空岗 when the one acting for it is away) and the open follow-ups that concern the clerk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowWatch {
    pub window: u32,
    pub standing: Option<WindowStanding>,
    /// Other windows whose B post this clerk holds, standing empty (空岗).
    pub empty_b_posts: Vec<u32>,
    pub follow_ups: Vec<FollowUpRow>,
}

impl WindowWatch {
    /// The open follow-ups, oldest first.
    pub fn open(&self) -> impl Iterator<Item = &FollowUp> {
        self.follow_ups.iter().filter(|r| !r.state.is_closed()).map(|r| &r.follow_up)
    }
}

/// Whether `role` works on the board rather than at a window.
pub fn is_board_role(role: Role) -> bool {
    role == Role::Director
}

const FINDINGS: [(&str, Finding); 2] = [("1", Finding::Valid), ("2", Finding::NotValid)];
const CHANNELS: [(&str, FeedbackChannel); 4] = [
    ("1", FeedbackChannel::Phone),
    ("2", FeedbackChannel::InPerson),
    ("3", FeedbackChannel::Sms),
    ("4", FeedbackChannel::Letter),
];

impl Form {
    pub fn assign_follow_up(rating_id: Uuid) -> Self {
        Self::with(
            Purpose::AssignFollowUp { rating_id },
            " 交办差评整改 ",
            vec![field(FieldId::StaffId, "交办给", "工号，如 s003", "")],
        )
    }

    pub fn resolve_on_spot(rating_id: Uuid) -> Self {
        Self::with(
            Purpose::CloseFollowUp { rating_id, on_spot: true },
            " 现场化解（办结，须确认） ",
            vec![field(FieldId::Note, "化解情况", "当场做了什么、由谁处理", "")],
        )
    }

    pub fn answer_follow_up(follow_up: &FollowUp) -> Self {
        let mut form = Self::with(
            Purpose::AnswerFollowUp { rating_id: follow_up.rating_id },
            " 差评情况说明 ",
            vec![field(FieldId::Note, "情况说明", "当时的情况、原因和改进", "")],
        );
        form.note = Some(format!(
            "{} 号窗口 {} {} 的差评，限 {} 前整改",
            follow_up.window,
            follow_up.opened_on.format("%m-%d"),
            follow_up.level.label(),
            follow_up.due_on.format("%m-%d")
        ));
        form
    }

    pub fn rectify(rating_id: Uuid, given_by: &str) -> Self {
        Self::with(
            Purpose::CloseFollowUp { rating_id, on_spot: false },
            " 核实整改（办结，须确认） ",
            vec![
                field(FieldId::Finding, "核实结论", "1 属实  2 不属实", ""),
                field(FieldId::Rectification, "整改措施", "属实时必填", ""),
                field(FieldId::Channel, "反馈方式", "1 电话 2 当面 3 短信 4 书面", ""),
                field(FieldId::StaffId, "反 馈 人", "工号", given_by),
            ],
        )
    }
}

impl App {
    /// Whether the screen is the director's board.
    pub fn on_board(&self) -> bool {
        self.board_mode || self.me.as_ref().is_some_and(|me| is_board_role(me.staff.role))
    }

    /// The keys of the board. `None`: not the board's (the common keys handle it).
    pub(super) fn on_board_key(&mut self, key: KeyEvent) -> Option<Reaction> {
        if key.code == KeyCode::Tab || key.code == KeyCode::BackTab {
            self.board_pane.on_cases = !self.board_pane.on_cases;
            return Some(Reaction::redraw());
        }
        if key.code == KeyCode::Enter {
            return Some(self.open_board_detail());
        }
        if key.code == KeyCode::Char('e') && !key.modifiers.contains(KeyModifiers::CONTROL) {
            // Said saved only when the backend has written the files.
            self.message = Some("正在导出本月报表…".into());
            return Some(Reaction { commands: vec![AppCommand::ExportReport], ..Reaction::redraw() });
        }
        if self.board_pane.on_cases {
            let count = self.board_pane.snapshot.as_ref().map_or(0, |b| b.cases.len());
            let pane = &mut self.board_pane;
            return match key.code {
                KeyCode::Down | KeyCode::Char('j') if count > 0 => {
                    pane.case_selected = (pane.case_selected + 1).min(count - 1);
                    Some(Reaction::redraw())
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    pane.case_selected = pane.case_selected.saturating_sub(1);
                    Some(Reaction::redraw())
                }
                KeyCode::Char('a' | 'x' | 'r') => {
                    self.message = Some("这些键用于差评整改：请先按 Tab 回到差评整改列表".into());
                    Some(Reaction::redraw())
                }
                _ => None,
            };
        }
        let count = self.board_pane.follow_ups().len();
        let selected = self.board_pane.selected_follow_up().map(|f| (f.rating_id, f.closing_step().is_some()));
        let me = self.me.as_ref().map(|m| m.staff.id.clone()).unwrap_or_default();
        Some(match key.code {
            KeyCode::Down | KeyCode::Char('j') if count > 0 => {
                self.board_pane.selected = (self.board_pane.selected + 1).min(count - 1);
                Reaction::redraw()
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.board_pane.selected = self.board_pane.selected.saturating_sub(1);
                Reaction::redraw()
            }
            KeyCode::Char('a' | 'x' | 'r') if selected.is_none() => {
                self.message = Some("没有选中的差评整改".into());
                Reaction::redraw()
            }
            KeyCode::Char('a' | 'x' | 'r') if selected.is_some_and(|(_, closed)| closed) => {
                self.message = Some("该差评已整改办结".into());
                Reaction::redraw()
            }
            KeyCode::Char('a') => self.open_form(Form::assign_follow_up(selected?.0)),
            KeyCode::Char('x') => self.open_form(Form::resolve_on_spot(selected?.0)),
            KeyCode::Char('r') => self.open_form(Form::rectify(selected?.0, &me)),
            _ => return None,
        })
    }

    /// Ctrl+E at a window: explain the oldest open follow-up about the clerk's window (the
    /// clerk's step; closing is the director's).
    pub(super) fn answer_oldest_follow_up(&mut self) -> Reaction {
        let Some(follow_up) = self.watch.as_ref().and_then(|w| w.open().next().cloned()) else {
            self.message = Some("没有待说明的差评".into());
            return Reaction::redraw();
        };
        self.open_form(Form::answer_follow_up(&follow_up))
    }

    /// Enter on the board: the highlighted case, or the highlighted follow-up with every step.
    fn open_board_detail(&mut self) -> Reaction {
        let name = |id: &str| {
            self.center
                .as_ref()
                .and_then(|c| c.staff.iter().find(|s| s.id == id))
                .map_or_else(|| id.to_owned(), |s| format!("{}（{id}）", s.name))
        };
        let (title, lines) = if self.board_pane.on_cases {
            let Some(c) = self.board_pane.selected_case() else { return Reaction::default() };
            let when = if c.is_overdue() {
                format!("已超期 {} 个工作日", c.days_over)
            } else {
                "今明两个工作日内到期".to_owned()
            };
            let lines = vec![
                format!("办件编号：{}", c.case_number.as_deref().unwrap_or("（未受理）")),
                format!("事    项：{}", c.guide_name),
                format!("实施主体：{}", if c.department.is_empty() { "（未知）" } else { &c.department }),
                format!("窗    口：{} 号窗口", c.window),
                format!("经 办 人：{}", name(&c.clerk)),
                format!("承诺日期：{}（{when}）", c.due_on.format("%Y-%m-%d")),
            ];
            ("临期超期办件".to_owned(), lines)
        } else {
            let Some(f) = self.board_pane.selected_follow_up() else { return Reaction::default() };
            let mut lines = vec![
                format!(
                    "{} 号窗口 {} {}，{} 评",
                    f.window,
                    name(&f.staff),
                    f.level.label(),
                    f.opened_on.format("%m-%d")
                ),
                format!("整改期限：{}  交办给：{}", f.due_on.format("%Y-%m-%d"), name(&f.assignee)),
            ];
            if f.steps.is_empty() {
                lines.push("尚无处理记录".into());
            }
            for step in &f.steps {
                let at = crate::domain::time::to_china(step.at).format("%m-%d %H:%M");
                let what = match &step.action {
                    FollowUpAction::Assigned { to } => format!("交办给 {}", name(to)),
                    FollowUpAction::Answered { text } => format!("情况说明：{text}"),
                    FollowUpAction::ResolvedOnSpot { what } => format!("现场化解：{what}"),
                    FollowUpAction::Rectified { finding, rectification, feedback } => format!(
                        "核实整改：{}；{}；{} {} 由 {} 反馈",
                        finding.label(),
                        rectification,
                        feedback.on.format("%m-%d"),
                        feedback.channel.label(),
                        name(&feedback.given_by)
                    ),
                };
                lines.push(format!("{at} {}：{what}", name(&step.by)));
            }
            ("差评整改记录".to_owned(), lines)
        };
        self.open(super::app::Modal::Detail { title, lines })
    }

    /// A follow-up form submitted: the step, checked by the domain's rule; a closing step is
    /// asked y/n first (it cannot be taken back).
    pub(super) fn submit_follow_up_form(
        &mut self,
        purpose: Purpose,
        values: &Values,
    ) -> Result<Vec<AppCommand>, String> {
        let today: NaiveDate = china_date(self.now);
        let (rating_id, action) = match purpose {
            Purpose::AnswerFollowUp { rating_id } => {
                let text = clean_line(values.get(FieldId::Note)).trim().to_owned();
                let follow_up = self
                    .watch
                    .as_ref()
                    .and_then(|w| w.open().find(|f| f.rating_id == rating_id).cloned())
                    .ok_or("这条差评已不在待说明之列")?;
                let me = self.me.as_ref().ok_or("请先登录")?;
                let windows: Vec<u32> = me.posts.iter().map(|p| p.window).collect();
                let action = FollowUpAction::Answered { text };
                let actor = FollowUpActor::Clerk { id: &me.staff.id, windows: &windows };
                follow_up.check_step(actor, &action, today).map_err(|e| e.message)?;
                self.message = Some("正在提交…".into());
                return Ok(vec![AppCommand::FollowUpStep { rating_id, action }]);
            }
            Purpose::AssignFollowUp { rating_id } => {
                (rating_id, FollowUpAction::Assigned { to: clean_line(values.get(FieldId::StaffId)).trim().to_owned() })
            }
            Purpose::CloseFollowUp { rating_id, on_spot: true } => (
                rating_id,
                FollowUpAction::ResolvedOnSpot { what: clean_line(values.get(FieldId::Note)).trim().to_owned() },
            ),
            Purpose::CloseFollowUp { rating_id, on_spot: false } => {
                let finding = pick(values.get(FieldId::Finding), &FINDINGS, "核实结论")?;
                let channel = pick(values.get(FieldId::Channel), &CHANNELS, "反馈方式")?;
                let feedback = Feedback {
                    channel,
                    on: today,
                    given_by: clean_line(values.get(FieldId::StaffId)).trim().to_owned(),
                };
                let rectification = clean_line(values.get(FieldId::Rectification)).trim().to_owned();
                (rating_id, FollowUpAction::Rectified { finding, rectification, feedback })
            }
            _ => return Ok(Vec::new()),
        };
        let follow_up = self
            .board_pane
            .follow_ups()
            .into_iter()
            .find(|f| f.rating_id == rating_id)
            .cloned()
            .ok_or("这条差评整改已不在看板上，请刷新")?;
        let me = self.me.as_ref().map(|m| m.staff.id.clone()).unwrap_or_default();
        follow_up.check_step(FollowUpActor::Director(&me), &action, today).map_err(|e| e.message)?;
        let command = AppCommand::FollowUpStep { rating_id, action: action.clone() };
        if action.closes() {
            let question = format!(
                "{} 号窗口的差评以“{}”办结，办结后不能再修改。确认？（y 确认 / n 取消）",
                follow_up.window,
                action.label()
            );
            self.ask(question, Pending::Send(command));
            return Ok(Vec::new());
        }
        self.message = Some("正在提交…".into());
        Ok(vec![command])
    }
}

/// The option numbered `text` of `options`; what to choose when it is none of them.
fn pick<T: Copy>(text: &str, options: &[(&str, T)], what: &str) -> Result<T, String> {
    options.iter().find(|(k, _)| *k == text.trim()).map(|(_, v)| *v).ok_or_else(|| format!("请选择{what}（输入编号）"))
}

/// The help of the board.
pub fn board_help() -> Vec<super::help::HelpRow> {
    [
        ("上下方向键", "在差评整改（或临期超期办件）中移动"),
        ("Tab", "在差评整改与临期超期办件之间切换"),
        ("Enter", "查看选中的差评整改记录或办件"),
        ("a", "交办选中的差评整改"),
        ("x", "现场化解并办结（先确认）"),
        ("r", "核实整改并办结（先确认）"),
        ("e", "导出本月报表（HTML 与 CSV，存入数据目录的 reports/）"),
        ("F1", "显示或关闭帮助"),
        ("Ctrl+R", "立即刷新"),
        ("Ctrl+O", "退出登录"),
        ("q / Ctrl+C", "退出"),
    ]
    .into_iter()
    .map(|(k, w)| super::help::row(k, w))
    .collect()
}
