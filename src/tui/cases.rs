//! The checklist pane's keys: work the current case (check materials, enter the applicant, give
//! the one-time notice, accept) or pick a case from the window's open cases. The rules live in
//! `domain::intake`; this only applies them to the app's copy and asks the backend to commit.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use uuid::Uuid;

use super::app::{App, AppCommand, CaseStep, Modal, Pending, Reaction};
use super::form::{FieldId, Form, Purpose, Values};
use crate::domain::applicant::{Agent, Applicant, IdNumber, Phone};
use crate::domain::case::{Case, CaseStatus, CaseTransfer, EndKind, MaterialCheck, TransferKind};
use crate::domain::intake;
use crate::domain::text::clean_line;
use crate::domain::ticket::TicketNumber;

impl App {
    pub fn case(&self, id: Uuid) -> Option<&Case> {
        self.case_pane.list.iter().find(|c| c.id == id)
    }

    /// The case being worked, if one is open in the checklist pane.
    pub fn working_case(&self) -> Option<&Case> {
        self.case_pane.current.and_then(|id| self.case(id))
    }

    /// The checklist follows the ticket at the window: a newly called ticket's open case, or
    /// the list when it has none. The last applicant's case stays in the list.
    pub(super) fn follow_ticket(&mut self, ticket: Option<TicketNumber>) {
        let linked = ticket.and_then(|t| self.case_pane.list.iter().find(|c| c.ticket == Some(t)).map(|c| c.id));
        if self.case_pane.current != linked {
            self.case_pane.current = linked;
            self.case_pane.item_selected = 0;
        }
    }

    /// Whether a step for this case is with the backend (notice, acceptance...): its reply
    /// replaces the case, so an edit made before it comes would be lost. Says so to the clerk.
    fn case_is_busy(&mut self, id: Uuid) -> bool {
        let busy = self.case_pane.busy.contains(&id);
        if busy {
            self.message = Some("正在处理上一步，请稍候再操作".into());
        }
        busy
    }

    /// Applies a change to a copy of a case; on success keeps it and asks the backend to commit.
    fn change_case(&mut self, id: Uuid, change: impl FnOnce(&mut Case) -> Result<(), String>) -> Reaction {
        if self.case_is_busy(id) {
            return Reaction::redraw();
        }
        let Some(mut case) = self.case(id).cloned() else { return Reaction::default() };
        match change(&mut case) {
            Ok(()) => {
                // Each change written is the next version of the case, made from this copy's.
                case.new_version(Uuid::now_v7());
                if let Some(slot) = self.case_pane.list.iter_mut().find(|c| c.id == id) {
                    *slot = case.clone();
                }
                Reaction { redraw: true, commands: vec![AppCommand::SaveCase(Box::new(case))] }
            }
            Err(message) => {
                self.message = Some(message);
                Reaction::redraw()
            }
        }
    }

    /// The cases found for a returning applicant: arrows move, Enter continues the highlighted
    /// one at this window (the checklist pane shows it), Esc closes.
    pub(super) fn on_found_cases_key(&mut self, key: KeyEvent) -> Reaction {
        let Some(Modal::FoundCases { found, selected }) = &mut self.modal else { return Reaction::default() };
        let last = found.len().saturating_sub(1);
        match key.code {
            KeyCode::Up => *selected = selected.saturating_sub(1),
            KeyCode::Down => *selected = (*selected + 1).min(last),
            KeyCode::Esc => self.modal = None,
            KeyCode::Enter => {
                let Some(hit) = found.get(*selected) else { return Reaction::default() };
                let mut case = hit.case.clone();
                if !matches!(case.status, CaseStatus::Intake | CaseStatus::AwaitingMaterials) {
                    self.message = Some(format!("办件已{}，不能接续收件", case.status.label()));
                    return Reaction::redraw();
                }
                // The case follows the applicant's new ticket at this window.
                if let Some(ticket) = self.ticket_here().map(|t| t.number) {
                    case.ticket = Some(ticket);
                }
                self.modal = None;
                self.focus = super::app::Pane::Checklist;
                self.message = Some("正在接续办件…".into());
                return Reaction { redraw: true, commands: vec![AppCommand::ContinueCase(Box::new(case))] };
            }
            _ => return Reaction::default(),
        }
        Reaction::redraw()
    }

    pub(super) fn on_case_key(&mut self, key: KeyEvent) -> Reaction {
        // Ctrl+B 补打, in the list and in a case: the case's own number when it has one.
        if key.code == KeyCode::Char('b') && key.modifiers.contains(KeyModifiers::CONTROL) {
            let number = self
                .working_case()
                .and_then(|c| c.case_number.clone().or_else(|| c.ending.as_ref().and_then(|e| e.notice_number.clone())))
                .unwrap_or_default();
            return self.open_form(Form::reprint(&number));
        }
        match self.working_case().cloned() {
            Some(case) => self.on_working_case_key(case, key),
            None => self.on_case_list_key(key),
        }
    }

    /// The open cases the list shows: those matching what the clerk typed over it (guide name
    /// or code, ticket or case number; letters in any case).
    pub fn visible_cases(&self) -> Vec<&Case> {
        let filter = self.case_pane.filter.trim().to_lowercase();
        self.case_pane
            .list
            .iter()
            .filter(|c| {
                filter.is_empty()
                    || c.guide_name.to_lowercase().contains(&filter)
                    || c.guide_code.to_lowercase().contains(&filter)
                    || c.ticket.is_some_and(|t| t.to_string().to_lowercase().contains(&filter))
                    || c.case_number.as_deref().is_some_and(|n| n.to_lowercase().contains(&filter))
            })
            .collect()
    }

    /// The open-case list: arrows move, Enter opens the case, typing filters. No letter acts
    /// on a case here (`dibao` typed into the list once dispatched one via `d`): steps are taken
    /// inside the opened case, and ask first.
    pub(super) fn on_case_list_key(&mut self, key: KeyEvent) -> Reaction {
        let last = self.visible_cases().len().saturating_sub(1);
        let before = self.case_pane.selected;
        match key.code {
            KeyCode::Up => self.case_pane.selected = before.saturating_sub(1),
            KeyCode::Down => self.case_pane.selected = (before + 1).min(last),
            KeyCode::Enter => {
                if let Some(id) = self.visible_cases().get(self.case_pane.selected).map(|c| c.id) {
                    self.case_pane.current = Some(id);
                    self.case_pane.item_selected = 0;
                    return Reaction::redraw();
                }
            }
            KeyCode::Char(c) if !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => {
                self.case_pane.filter.push(c);
                self.case_pane.selected = 0;
                return Reaction::redraw();
            }
            KeyCode::Backspace if !self.case_pane.filter.is_empty() => {
                self.case_pane.filter.pop();
                self.case_pane.selected = 0;
                return Reaction::redraw();
            }
            KeyCode::Esc if !self.case_pane.filter.is_empty() => {
                self.case_pane.filter.clear();
                self.case_pane.selected = 0;
                return Reaction::redraw();
            }
            _ => return Reaction::default(),
        }
        Reaction { redraw: before != self.case_pane.selected, commands: Vec::new() }
    }

    fn on_working_case_key(&mut self, case: Case, key: KeyEvent) -> Reaction {
        let item = case.checklist.items.get(self.case_pane.item_selected).cloned();
        let last = case.checklist.items.len().saturating_sub(1);
        match key.code {
            KeyCode::Esc => {
                self.case_pane.current = None;
                Reaction::redraw()
            }
            KeyCode::Up => {
                self.case_pane.item_selected = self.case_pane.item_selected.saturating_sub(1);
                Reaction::redraw()
            }
            KeyCode::Down => {
                self.case_pane.item_selected = (self.case_pane.item_selected + 1).min(last);
                Reaction::redraw()
            }
            // A 容缺 item brought in after acceptance.
            KeyCode::Char('y')
                if item.as_ref().is_some_and(|i| i.state == MaterialCheck::Deferred)
                    && !matches!(case.status, CaseStatus::Intake | CaseStatus::AwaitingMaterials) =>
            {
                let Some(item) = item else { return Reaction::default() };
                let outcome = self.change_case(case.id, |case| {
                    intake::receive_deferred(case, &item.material_id).map_err(|e| e.message)
                });
                if !outcome.commands.is_empty() {
                    self.message = Some(format!("容缺材料已补交：{}", item.name));
                }
                outcome
            }
            KeyCode::Char(c @ ('y' | 'n' | 'x' | 'l')) => {
                let Some(item) = item else { return Reaction::default() };
                let state = match c {
                    'y' => MaterialCheck::Received,
                    'n' => MaterialCheck::Missing,
                    'l' => MaterialCheck::Deferred,
                    _ => MaterialCheck::NotApplicable,
                };
                let outcome = self.change_case(case.id, |case| {
                    intake::set_material(case, &item.material_id, state, None).map_err(|e| e.message)
                });
                // Move on to the next item: checking a list top to bottom is the common case.
                self.case_pane.item_selected = (self.case_pane.item_selected + 1).min(last);
                outcome
            }
            KeyCode::Char('e') => {
                let Some(item) = item else { return Reaction::default() };
                self.open_form(Form::material_note(case.id, item.material_id, &item.note))
            }
            KeyCode::Char('p') => self.open_form(Form::applicant(case.id)),
            KeyCode::Char('w') => self.open_form(Form::agent(case.id)),
            KeyCode::Char('c') if self.case_is_busy(case.id) => Reaction::redraw(),
            KeyCode::Char('c') => {
                if !matches!(case.status, CaseStatus::Intake | CaseStatus::AwaitingMaterials) {
                    self.message = Some(format!("办件已{}，不能终止", case.status.label()));
                    return Reaction::redraw();
                }
                self.open_form(Form::end_case(case.id))
            }
            KeyCode::Char('g' | 'a' | 'd' | 'r' | 'o' | 'm') if self.case_is_busy(case.id) => Reaction::redraw(),
            KeyCode::Char('m') => self.open_form(Form::transfer_case(case.id)),
            KeyCode::Char('g') => {
                if case.status == CaseStatus::AwaitingMaterials {
                    // Told once already: the law asks for a reason before telling again.
                    return self.open_form(Form::repeat_notice(case.id));
                }
                Reaction {
                    redraw: false,
                    commands: vec![AppCommand::GiveNotice { case: Box::new(case), repeat_reason: None }],
                }
            }
            KeyCode::Char('a') => {
                // Acceptance starts the legal clock and freezes the materials: ask first.
                let question = format!("确认受理“{}”？受理后不能再改材料和申请人（y 确认 / n 取消）", case.guide_name);
                self.ask(question, Pending::Case(AppCommand::Accept(Box::new(case))))
            }
            KeyCode::Char(c @ ('d' | 'r' | 'o')) => self.advance(case, c),
            _ => Reaction::default(),
        }
    }

    fn advance(&mut self, case: Case, key: char) -> Reaction {
        let (step, allowed) = match key {
            'd' => (CaseStep::Dispatch, intake::dispatch(&mut case.clone())),
            'r' => (CaseStep::RecordResult, intake::record_result(&mut case.clone())),
            _ => (CaseStep::Deliver, intake::deliver(&mut case.clone())),
        };
        match allowed {
            Ok(()) => {
                let what = match step {
                    CaseStep::Dispatch => "分办到部门",
                    CaseStep::RecordResult => "登记办理结果",
                    CaseStep::Deliver => "出件并办结",
                };
                let question = format!("确认{what}：{}？（y 确认 / n 取消）", case.guide_name);
                self.ask(question, Pending::Case(AppCommand::Advance { case: Box::new(case), step }))
            }
            Err(e) => {
                self.message = Some(e.message);
                Reaction::redraw()
            }
        }
    }

    /// A confirmed case step goes with the case as it stands now.
    pub(super) fn confirmed_case_step(&mut self, command: AppCommand) -> Reaction {
        let fresh = |app: &Self, case: Box<Case>| app.case(case.id).cloned().map(Box::new);
        let command = match command {
            AppCommand::Accept(case) => fresh(self, case).map(AppCommand::Accept),
            AppCommand::Advance { case, step } => fresh(self, case).map(|case| AppCommand::Advance { case, step }),
            AppCommand::EndCase { case, kind, reason } => {
                fresh(self, case).map(|case| AppCommand::EndCase { case, kind, reason })
            }
            other => Some(other),
        };
        match command {
            Some(command) => Reaction { redraw: true, commands: vec![command] },
            None => {
                self.message = Some("办件已不存在".into());
                Reaction::redraw()
            }
        }
    }

    pub(super) fn submit_case_form(&mut self, purpose: Purpose, values: &Values) -> Result<Vec<AppCommand>, String> {
        let value = |id: FieldId| values.get(id);
        let (case_id, change): (Uuid, Box<CaseChange>) = match purpose {
            Purpose::MaterialNote { case_id, material_id } => {
                let note = value(FieldId::Note).to_owned();
                let state = self
                    .case(case_id)
                    .and_then(|c| c.checklist.items.iter().find(|i| i.material_id == material_id))
                    .map(|i| i.state)
                    .ok_or("办件已不存在")?;
                let change = move |case: &mut Case| {
                    intake::set_material(case, &material_id, state, Some(&note)).map_err(|e| e.message)
                };
                (case_id, Box::new(change))
            }
            Purpose::Applicant { case_id } => {
                let applicant = applicant_from(value(FieldId::Name), value(FieldId::IdNumber), value(FieldId::Phone))?;
                let change = move |case: &mut Case| {
                    if !matches!(case.status, CaseStatus::Intake | CaseStatus::AwaitingMaterials) {
                        return Err(format!("办件已{}，不能再修改申请人", case.status.label()));
                    }
                    case.applicant = Some(applicant);
                    Ok(())
                };
                (case_id, Box::new(change))
            }
            Purpose::RepeatNotice { case_id } => {
                let reason = clean_line(value(FieldId::Reason)).trim().to_owned();
                if reason.is_empty() {
                    return Err("请填写再次告知的原因".into());
                }
                if self.case_is_busy(case_id) {
                    return Err(self.message.take().unwrap_or_default());
                }
                let case = self.case(case_id).cloned().ok_or("办件已不存在")?;
                return Ok(vec![AppCommand::GiveNotice { case: Box::new(case), repeat_reason: Some(reason) }]);
            }
            Purpose::TransferCase { case_id } => {
                let to_window: u32 =
                    clean_line(value(FieldId::Window)).trim().parse().map_err(|_| "请填写窗口号，如 4".to_owned())?;
                let reason = clean_line(value(FieldId::Reason)).trim().to_owned();
                if reason.is_empty() || reason.chars().count() > 100 {
                    return Err("请填写转办原因（100 字以内）".into());
                }
                if self.case_is_busy(case_id) {
                    return Err(self.message.take().unwrap_or_default());
                }
                let case = self.case(case_id).cloned().ok_or("办件已不存在")?;
                // The server's rule, checked here first so the clerk hears why at once.
                let windows = self.center.as_ref().map(|c| c.windows.as_slice()).unwrap_or_default();
                let transfer = CaseTransfer {
                    case_id,
                    from_window: case.window,
                    to_window,
                    step: TransferKind::Transfer,
                    by: String::new(),
                    at: chrono::DateTime::<chrono::Utc>::MIN_UTC,
                    reason: reason.clone(),
                };
                let to = windows.iter().find(|w| w.number == to_window);
                crate::domain::access::check_case_transfer(&transfer, Some((case.window, case.status)), to)
                    .map_err(|e| e.message)?;
                self.case_pane.current = None;
                self.message = Some(format!("正在转办至 {to_window} 号窗口…"));
                return Ok(vec![AppCommand::TransferCase { case: Box::new(case), to_window, reason }]);
            }
            Purpose::FindCase => {
                let search = case_search_from(values.get(FieldId::Lookup))?;
                self.message = Some("正在查找办件…".into());
                return Ok(vec![AppCommand::FindCases(search)]);
            }
            Purpose::Agent { case_id } => {
                let agent = Agent::parse(value(FieldId::Name), value(FieldId::IdNumber), value(FieldId::Relation))
                    .map_err(|e| e.message)?;
                let change = move |case: &mut Case| {
                    if !matches!(case.status, CaseStatus::Intake | CaseStatus::AwaitingMaterials) {
                        return Err(format!("办件已{}，不能再修改代办人", case.status.label()));
                    }
                    case.agent = Some(agent);
                    Ok(())
                };
                (case_id, Box::new(change))
            }
            Purpose::EndCase { case_id } => {
                let kind = match value(FieldId::EndKind).trim() {
                    "1" => EndKind::Cancelled,
                    "2" => EndKind::Withdrawn,
                    "3" => EndKind::Refused,
                    _ => return Err("方式请填 1（误开撤销）、2（申请人撤回）或 3（不予受理）".into()),
                };
                let reason = clean_line(value(FieldId::Reason)).trim().to_owned();
                let case = self.case(case_id).cloned().ok_or("办件已不存在")?;
                // The domain's refusal now, before the question (a placeholder number: the
                // backend gives the real one).
                let number = (kind == EndKind::Refused).then(String::new);
                intake::end_case(&mut case.clone(), kind, &reason, &case.opened_by, chrono::Utc::now(), number)
                    .map_err(|e| e.message)?;
                let what = match kind {
                    EndKind::Refused => "不予受理并打印告知书",
                    EndKind::Withdrawn => "按申请人撤回终止",
                    EndKind::Cancelled => "作为误开撤销",
                };
                let question = format!("确认将“{}”{what}？终止后不能恢复（y 确认 / n 取消）", case.guide_name);
                self.ask(question, Pending::Case(AppCommand::EndCase { case: Box::new(case), kind, reason }));
                return Ok(Vec::new());
            }
            Purpose::Reprint => {
                let number = clean_line(value(FieldId::Number)).trim().to_owned();
                if number.is_empty() {
                    return Err("请输入告知单、受理凭证或告知书的编号".into());
                }
                self.message = Some(format!("正在补打 {number}…"));
                return Ok(vec![AppCommand::Reprint { number }]);
            }
            // The other forms are not about a case.
            _ => return Ok(Vec::new()),
        };
        let outcome = self.change_case(case_id, change);
        if outcome.commands.is_empty() {
            return Err(self.message.take().unwrap_or_else(|| "办件已不存在".into()));
        }
        Ok(outcome.commands)
    }
}

/// What the clerk typed to find a returning applicant's case: a notice number (GZ…), a case
/// number (SL…), an ID number, or a name and a phone separated by a space.
fn case_search_from(text: &str) -> Result<crate::api::CaseSearch, String> {
    use crate::api::CaseSearch;
    let text = clean_line(text).trim().to_owned();
    let upper = text.to_uppercase();
    if text.is_empty() {
        return Err("请输入告知单编号、办件编号、身份证号，或姓名加电话".into());
    }
    if upper.starts_with("GZ") {
        return Ok(CaseSearch { notice_number: upper, ..CaseSearch::default() });
    }
    if upper.starts_with("SL") {
        return Ok(CaseSearch { case_number: upper, ..CaseSearch::default() });
    }
    if let Some((name, phone)) = text.split_once(char::is_whitespace) {
        Phone::parse(phone.trim()).map_err(|e| e.message)?;
        return Ok(CaseSearch {
            name: name.trim().to_owned(),
            phone: phone.trim().to_owned(),
            ..CaseSearch::default()
        });
    }
    IdNumber::parse(&text).map_err(|e| format!("{}（或输入告知单编号、办件编号、姓名 电话）", e.message))?;
    Ok(CaseSearch { id_number: upper, ..CaseSearch::default() })
}

/// A change to a case that may be refused, with the reason.
type CaseChange = dyn FnOnce(&mut Case) -> Result<(), String>;

/// Checks what the clerk typed for the applicant; every problem in one message.
fn applicant_from(name: &str, id_number: &str, phone: &str) -> Result<Applicant, String> {
    let name = clean_line(name).trim().to_owned();
    let mut problems = Vec::new();
    if name.is_empty() || name.chars().count() > 30 {
        problems.push("姓名应为 1 至 30 个字".to_owned());
    }
    let id_number = IdNumber::parse(id_number).map_err(|e| problems.push(e.message)).ok();
    let phone =
        if phone.trim().is_empty() { None } else { Phone::parse(phone).map_err(|e| problems.push(e.message)).ok() };
    match id_number {
        Some(id_number) if problems.is_empty() => Ok(Applicant { name, id_number, phone }),
        _ => Err(problems.join("；")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applicant_problems_are_reported_together() {
        let e = applicant_from("", "110105194912310021", "12").unwrap_err();
        assert!(e.contains("姓名") && e.contains("校验位") && e.contains("电话"), "{e}");
        let ok = applicant_from(" 张三 ", "11010519491231002x", "").unwrap();
        assert_eq!(ok.masked_name(), "张*");
        assert_eq!(ok.id_number.masked(), "1101**********002X");
    }
}

#[cfg(test)]
mod key_tests {
    use chrono::DateTime;
    use ratatui::crossterm::event::KeyModifiers;

    use super::*;
    use crate::domain::center::Post;
    use crate::domain::intake::Opening;
    use crate::tui::app::{AppEvent, BackendEvent};

    fn press(app: &mut App, c: char) -> Reaction {
        app.update(AppEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)))
    }

    /// An app working a freshly opened case, as the backend reported it.
    fn app_with_an_open_case() -> (App, Case) {
        let guide =
            crate::assets::bundled_catalogue().unwrap().guides.into_iter().find(|g| g.code == "HB-QS-0004").unwrap();
        let opening = Opening { window: 1, post: Post::A, staff_id: "s001", ticket: None };
        let case = intake::open_case(&guide, None, &opening, Uuid::now_v7(), DateTime::UNIX_EPOCH).unwrap();
        let mut app = App::new(DateTime::UNIX_EPOCH, None);
        app.update(AppEvent::Backend(BackendEvent::CaseOpened(Box::new(case.clone()))));
        (app, case)
    }

    fn states(app: &App) -> Vec<MaterialCheck> {
        app.working_case().unwrap().checklist.items.iter().map(|i| i.state).collect()
    }

    #[test]
    fn a_list_built_before_the_last_keys_does_not_undo_them() {
        let (mut app, opened) = app_with_an_open_case();
        let mut saves = Vec::new();
        for c in ['y', 'n', 'n', 'y'] {
            saves.extend(press(&mut app, c).commands);
        }
        let typed = states(&app);
        assert_eq!(
            typed[..4],
            [MaterialCheck::Received, MaterialCheck::Missing, MaterialCheck::Missing, MaterialCheck::Received]
        );
        // The periodic refresh, built before any of those keys were committed, then the reply to
        // the first save: both older than what the clerk sees.
        app.update(AppEvent::Backend(BackendEvent::Cases(vec![opened.clone()])));
        assert_eq!(states(&app), typed, "the refresh must not undo the checks");
        let AppCommand::SaveCase(first) = &saves[0] else { panic!("{saves:?}") };
        app.update(AppEvent::Backend(BackendEvent::Cases(vec![(**first).clone()])));
        app.update(AppEvent::Backend(BackendEvent::CaseDone { id: opened.id, step: false }));
        assert_eq!(states(&app), typed);
        // Once every save is done, the backend's list is the truth again.
        for _ in 1..saves.len() {
            app.update(AppEvent::Backend(BackendEvent::CaseDone { id: opened.id, step: false }));
        }
        app.update(AppEvent::Backend(BackendEvent::Cases(vec![opened.clone()])));
        assert_eq!(states(&app), states_of(&opened));
    }

    fn states_of(case: &Case) -> Vec<MaterialCheck> {
        case.checklist.items.iter().map(|i| i.state).collect()
    }

    #[test]
    fn no_edit_while_the_backend_completes_a_step() {
        let (mut app, opened) = app_with_an_open_case();
        let notice = press(&mut app, 'g');
        assert!(matches!(notice.commands[..], [AppCommand::GiveNotice { .. }]));
        let late = press(&mut app, 'y');
        assert!(late.commands.is_empty(), "the notice's reply would overwrite this check");
        assert!(app.message.as_deref().unwrap_or_default().contains("稍候"));
        assert_eq!(states(&app), states_of(&opened));
        app.update(AppEvent::Backend(BackendEvent::CaseDone { id: opened.id, step: true }));
        assert!(matches!(press(&mut app, 'y').commands[..], [AppCommand::SaveCase(_)]));
    }

    fn ticket_at_window_1(number: &str, id: u128) -> crate::domain::ticket::Ticket {
        use crate::domain::queue::{TicketRequest, issue};
        use crate::domain::ticket::{Priority, TicketStatus};
        let request =
            TicketRequest { category: 'A', priority: Priority::Normal, guide_code: None, note: None, slot: None };
        let mut t = issue(Uuid::from_u128(id), number.parse().unwrap(), &request, "d001", DateTime::UNIX_EPOCH);
        t.status = TicketStatus::Called;
        t.window = Some(1);
        t
    }

    fn queue_with(app: &mut App, rev: u64, tickets: Vec<crate::domain::ticket::Ticket>) {
        use crate::api::queue::{QueueEvent, QueueSnapshot};
        let snapshot = QueueSnapshot {
            rev,
            day: crate::domain::time::china_date(DateTime::UNIX_EPOCH),
            tickets,
            done: 0,
            windows: Vec::new(),
        };
        app.update(AppEvent::Backend(BackendEvent::Queue(Box::new(QueueEvent::Snapshot(snapshot)))));
    }

    #[test]
    fn calling_the_next_ticket_leaves_the_last_case_in_the_list_and_follows_the_new_ticket() {
        let (mut app, mut first) = app_with_an_open_case();
        app.me = Some(crate::api::Me {
            staff: crate::domain::staff::Staff {
                id: "s001".into(),
                name: "王丽".into(),
                role: crate::domain::staff::Role::WindowClerk,
                active: true,
            },
            posts: vec![crate::api::PostAssignment { window: 1, post: Post::A }],
        });
        app.link = crate::tui::app::Link::Online;
        first.ticket = Some("A001".parse().unwrap());
        app.update(AppEvent::Backend(BackendEvent::CaseOpened(Box::new(first.clone()))));
        queue_with(&mut app, 1, vec![ticket_at_window_1("A001", 1)]);
        assert_eq!(app.case_pane.current, Some(first.id));
        press(&mut app, 'a');
        let accept = press(&mut app, 'y');
        assert!(matches!(accept.commands[..], [AppCommand::Accept(_)]));

        // F6: the next applicant. Keys typed before the server answers act on nobody's case.
        let call = app.update(AppEvent::Key(KeyEvent::new(KeyCode::F(6), KeyModifiers::NONE)));
        assert!(matches!(call.commands[..], [AppCommand::Queue(crate::tui::app::QueueOp::CallNext)]));
        assert_eq!(app.case_pane.current, None);
        for c in ['y', 'n', 'a', 'g'] {
            assert!(press(&mut app, c).commands.is_empty(), "{c} must not act on the last applicant's case");
        }
        // The acceptance's reply arrives late: it updates the list, it does not come back.
        let mut accepted = first.clone();
        accepted.status = crate::domain::case::CaseStatus::Accepted;
        app.update(AppEvent::Backend(BackendEvent::CaseUpdated(Box::new(accepted))));
        app.update(AppEvent::Backend(BackendEvent::CaseDone { id: first.id, step: true }));
        assert_eq!(app.case_pane.current, None);
        assert!(app.case_pane.list.iter().any(|c| c.id == first.id), "the last case stays in the open-case list");

        // A ticket that already has a case (a returning applicant's) brings it up when called.
        let mut second = first.clone();
        second.id = Uuid::now_v7();
        second.status = crate::domain::case::CaseStatus::Intake;
        second.ticket = Some("A002".parse().unwrap());
        let mut cases = app.case_pane.list.clone();
        cases.push(second.clone());
        app.update(AppEvent::Backend(BackendEvent::Cases(cases)));
        assert_eq!(app.case_pane.current, None);
        queue_with(&mut app, 2, vec![ticket_at_window_1("A002", 2)]);
        assert_eq!(app.case_pane.current, Some(second.id));
    }

    #[test]
    fn typing_over_the_case_list_filters_it_and_never_acts() {
        let (mut app, case) = app_with_an_open_case();
        let mut accepted = case.clone();
        accepted.status = crate::domain::case::CaseStatus::Accepted;
        let mut other = accepted.clone();
        other.id = Uuid::now_v7();
        other.guide_name = "最低生活保障申请".into();
        app.update(AppEvent::Backend(BackendEvent::Cases(vec![accepted.clone(), other.clone()])));
        app.update(AppEvent::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
        assert_eq!(app.case_pane.current, None);
        for c in "dibao".chars() {
            assert!(press(&mut app, c).commands.is_empty(), "{c} typed over the list is text");
        }
        assert!(!app.confirming());
        assert_eq!(app.case_pane.filter, "dibao");
        assert!(app.visible_cases().is_empty());
        app.update(AppEvent::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
        for c in "最低".chars() {
            press(&mut app, c);
        }
        assert_eq!(app.visible_cases().iter().map(|c| c.id).collect::<Vec<_>>(), vec![other.id]);
        app.update(AppEvent::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
        assert_eq!(app.case_pane.current, Some(other.id));
        // Inside the case, dispatch asks first.
        assert!(press(&mut app, 'd').commands.is_empty());
        assert!(app.confirming());
        assert!(matches!(press(&mut app, 'y').commands[..], [AppCommand::Advance { step: CaseStep::Dispatch, .. }]));
    }

    #[test]
    fn acceptance_asks_first() {
        let (mut app, _) = app_with_an_open_case();
        assert!(press(&mut app, 'a').commands.is_empty());
        assert!(press(&mut app, 'n').commands.is_empty(), "n declines; it does not mark an item");
        assert!(matches!(press(&mut app, 'a').commands[..], []));
        assert!(matches!(press(&mut app, 'y').commands[..], [AppCommand::Accept(_)]));
    }

    fn typed(app: &mut App, text: &str) -> Reaction {
        for c in text.chars() {
            press(app, c);
        }
        app.update(AppEvent::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)))
    }

    fn form_error(app: &App) -> Option<String> {
        match &app.modal {
            Some(crate::tui::app::Modal::Form(form)) => form.error.clone(),
            _ => None,
        }
    }

    #[test]
    fn ending_a_case_asks_how_and_why_then_confirms_and_the_case_leaves_the_list() {
        let (mut app, case) = app_with_an_open_case();
        assert!(press(&mut app, 'c').commands.is_empty());
        typed(&mut app, "3");
        assert!(typed(&mut app, "").commands.is_empty());
        assert!(form_error(&app).unwrap().contains("不予受理须写明理由"), "{:?}", form_error(&app));
        let asked = typed(&mut app, "不属于本中心受理范围");
        assert!(asked.commands.is_empty(), "nothing ends before the clerk says y");
        assert!(app.confirming());
        let ended = press(&mut app, 'y');
        let [AppCommand::EndCase { case: sent, kind, reason }] = &ended.commands[..] else {
            panic!("{:?}", ended.commands)
        };
        assert_eq!((sent.id, *kind, reason.as_str()), (case.id, EndKind::Refused, "不属于本中心受理范围"));
        assert!(press(&mut app, 'y').commands.is_empty(), "busy until the backend is done");
        let mut done = case.clone();
        intake::end_case(&mut done, EndKind::Refused, "x", "s001", DateTime::UNIX_EPOCH, Some("BY01".into())).unwrap();
        app.update(AppEvent::Backend(BackendEvent::CaseUpdated(Box::new(done))));
        app.update(AppEvent::Backend(BackendEvent::CaseDone { id: case.id, step: true }));
        assert_eq!(app.case_pane.current, None);
        assert!(app.case_pane.list.is_empty(), "the ended case left the open list");
    }

    #[test]
    fn an_unknown_way_to_end_and_n_at_the_question_change_nothing() {
        let (mut app, _) = app_with_an_open_case();
        press(&mut app, 'c');
        typed(&mut app, "9");
        typed(&mut app, "");
        assert!(form_error(&app).unwrap().contains("方式请填"));
        app.update(AppEvent::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
        press(&mut app, 'c');
        typed(&mut app, "2");
        typed(&mut app, "");
        assert!(app.confirming());
        assert!(press(&mut app, 'n').commands.is_empty());
        assert_eq!(app.working_case().unwrap().status, CaseStatus::Intake);
    }

    #[test]
    fn not_applicable_only_where_the_guide_makes_an_item_conditional() {
        let (mut app, _) = app_with_an_open_case();
        assert!(press(&mut app, 'x').commands.is_empty());
        assert!(app.message.as_deref().unwrap_or_default().contains("必交材料"), "{:?}", app.message);
        assert_eq!(app.working_case().unwrap().checklist.items[0].state, MaterialCheck::Unchecked);
        // No item of this guide may be deferred either.
        app.case_pane.item_selected = 0;
        assert!(press(&mut app, 'l').commands.is_empty());
        assert!(app.message.as_deref().unwrap_or_default().contains("未允许"));
    }

    #[test]
    fn an_agent_is_entered_checked_and_saved_with_the_case() {
        let (mut app, _) = app_with_an_open_case();
        press(&mut app, 'w');
        typed(&mut app, "李四");
        typed(&mut app, "440524188001010014");
        let saved = typed(&mut app, "子女");
        let [AppCommand::SaveCase(case)] = &saved.commands[..] else { panic!("{:?}", saved.commands) };
        let agent = case.agent.as_ref().unwrap();
        assert_eq!((agent.name.as_str(), agent.relation.as_str()), ("李四", "子女"));
        press(&mut app, 'w');
        typed(&mut app, "李四");
        typed(&mut app, "440524188001010015");
        assert!(typed(&mut app, "").commands.is_empty());
        let error = form_error(&app).unwrap();
        assert!(error.contains("代办人身份证号校验位") && error.contains("关系"), "{error}");
    }

    #[test]
    fn ctrl_b_reprints_by_number_from_the_list_or_the_case() {
        let (mut app, _) = app_with_an_open_case();
        app.update(AppEvent::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
        assert!(
            app.update(AppEvent::Key(KeyEvent::new(KeyCode::Char('b'), KeyModifiers::CONTROL))).commands.is_empty()
        );
        assert!(app.case_pane.filter.is_empty(), "Ctrl+B is no letter for the filter");
        assert!(typed(&mut app, "").commands.is_empty());
        let sent = typed(&mut app, "GZ01-20261205-0001");
        assert!(matches!(&sent.commands[..], [AppCommand::Reprint { number }] if number == "GZ01-20261205-0001"));
    }
}
