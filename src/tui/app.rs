//! The terminal's state and how events change it. Pure: no I/O, no clock reads. Side effects are
//! returned as [`AppCommand`]s for the event loop to hand to the backend task; the messages
//! themselves are in [`super::message`].

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use uuid::Uuid;

use super::form::{FieldId, Form, FormAction, Purpose, Values};
use super::handover::HandoverEditor;
pub use super::message::{AppCommand, AppEvent, BackendEvent, CaseStep, QueueOp, Reaction};
use super::panes::checklist::CasePane;
use super::panes::guides::{GuidePane, search_box};
use super::panes::handover::HandoverPane;
use super::panes::queue::QueuePane;
use crate::api::queue::QueueEvent;

use crate::api::{CenterInfo, Me, WindowOverview};
use crate::domain::calendar::WorkCalendar;
use crate::domain::center::Post;
use crate::domain::record::Visit;

/// The four panes, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Queue,
    Checklist,
    Guides,
    Handover,
}

impl Pane {
    pub const ALL: [Pane; 4] = [Pane::Queue, Pane::Checklist, Pane::Guides, Pane::Handover];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Queue => "当前叫号",
            Pane::Checklist => "一次性告知",
            Pane::Guides => "办事指南",
            Pane::Handover => "AB岗交接",
        }
    }

    /// The function key that focuses this pane (F1 is help).
    pub fn key(self) -> u8 {
        match self {
            Pane::Queue => 2,
            Pane::Checklist => 3,
            Pane::Guides => 4,
            Pane::Handover => 5,
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    fn step(self, by: isize) -> Pane {
        let n = Self::ALL.len() as isize;
        Self::ALL[(self.index() as isize + by).rem_euclid(n) as usize]
    }
}

/// How the terminal stands with the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Starting the embedded server or making the first contact.
    Connecting(String),
    Online,
    /// Uploading what was recorded here, or downloading what others recorded.
    Syncing,
    /// The server cannot be reached; the reason is for the status line.
    Offline(String),
}

/// What a yes to a [`Modal::Leave`] question does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leave {
    Quit,
    DiscardHandover,
}

/// A step waiting for the clerk's y before it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    Queue(QueueOp),
    /// A case step; the case is taken afresh from the app when confirmed.
    Case(AppCommand),
    /// A step sent as it is: a follow-up's on the board (closing one), the desk's 取消预约.
    Send(AppCommand),
}

/// What has the keys in front of the panes. At most one at a time, so key dispatch and drawing
/// follow the same order by construction: the one open takes every key and is drawn on top.
#[derive(Debug, Clone)]
pub enum Modal {
    /// The F1 overlay, scrolled to `scroll` (its first line shown).
    Help { scroll: u16 },
    /// Choosing the business situation before a case opens: the highlighted one.
    SituationPicker { selected: usize },
    /// The handover being written.
    HandoverEditor(Box<HandoverEditor>),
    /// A form; it takes every key until closed.
    Form(Box<Form>),
    /// A question to answer with y or n before a step that cannot be taken back (a no-show, a
    /// finish, an acceptance, a dispatch...).
    Confirm { question: String, pending: Pending },
    /// A question to answer with y or n before leaving something behind (quitting with records
    /// waiting or a ticket in service, throwing away a half-written handover). It is asked over
    /// whatever was open, which `n` brings back (and `y` to [`Leave::DiscardHandover`] drops).
    Leave { question: String, leave: Leave, under: Box<Option<Modal>> },
    /// A returning applicant's cases as the server found them: Enter continues the highlighted
    /// one here.
    FoundCases { found: Vec<crate::api::FoundCase>, selected: usize },
    /// Something opened on the board to read (a case near its date, a follow-up's steps): a
    /// title and its lines. Esc or Enter closes it; nothing acts from it.
    Detail { title: String, lines: Vec<String> },
}

impl Modal {
    /// The modal that owns the screen beneath a [`Modal::Leave`] question (itself otherwise).
    pub fn beneath(&self) -> Option<&Modal> {
        match self {
            Modal::Leave { under, .. } => under.as_ref().as_ref(),
            other => Some(other),
        }
    }

    /// The question on the message line, if this modal asks one.
    pub fn question(&self) -> Option<&str> {
        match self {
            Modal::Leave { question, .. } | Modal::Confirm { question, .. } => Some(question),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct App {
    pub focus: Pane,
    /// The help overlay, a form, the handover editor, a question...: what has the keys.
    pub modal: Option<Modal>,
    pub should_quit: bool,
    pub link: Link,
    /// Records written here and not yet acknowledged by the server.
    pub pending_uploads: usize,
    pub now: DateTime<Utc>,
    /// Where the terminal connects: `None` standalone.
    pub server_label: Option<String>,
    pub me: Option<Me>,
    pub center: Option<CenterInfo>,
    pub overview: Option<WindowOverview>,
    /// The last message for the clerk, shown above the key hints.
    pub message: Option<String>,
    pub calendar: Option<WorkCalendar>,
    /// The search-first screen of the guidance desk (咨询导办) instead of the four panes.
    pub desk: bool,
    /// The director's board instead of the four panes (`bianmin board`; a 中心负责人 account
    /// gets it whatever was asked for).
    pub board_mode: bool,
    pub board_pane: super::board::BoardPane,
    /// The clerk's window as the server last saw it, and the follow-ups about it.
    pub watch: Option<super::board::WindowWatch>,
    /// The terminal's size, once known: below the minimum the screen asks for a larger window
    /// and no key acts behind that message.
    pub size: Option<(u16, u16)>,
    /// The places left in today's appointment slots, as last fetched for the desk's booking
    /// form (F11 fetches them again).
    pub free_places: Option<crate::api::queue::FreePlaces>,
    // Each pane's own state, in focus order.
    /// The queue pane's live queue, its figures and the keys of its operations.
    pub queue_pane: QueuePane,
    /// The checklist pane's cases, the one being worked and the commands in flight for them.
    pub case_pane: CasePane,
    /// The guide pane's catalogue, search box and opened guide.
    pub guide_pane: GuidePane,
    /// The handover pane's history of the window.
    pub handover_pane: HandoverPane,
}

impl App {
    pub fn new(now: DateTime<Utc>, server_label: Option<String>) -> Self {
        Self {
            focus: Pane::Queue,
            modal: None,
            should_quit: false,
            link: Link::Connecting("正在启动".into()),
            pending_uploads: 0,
            now,
            server_label,
            me: None,
            center: None,
            overview: None,
            message: None,
            desk: false,
            board_mode: false,
            board_pane: super::board::BoardPane::default(),
            watch: None,
            calendar: None,
            size: None,
            free_places: None,
            queue_pane: QueuePane::new(),
            case_pane: CasePane::default(),
            guide_pane: GuidePane::new(),
            handover_pane: HandoverPane::default(),
        }
    }

    /// The window this terminal works for and the post the signed-in clerk holds there.
    pub fn window_post(&self) -> Option<(u32, Post)> {
        self.me.as_ref()?.posts.first().map(|p| (p.window, p.post))
    }

    pub fn update(&mut self, event: AppEvent) -> Reaction {
        let outcome = match event {
            AppEvent::Key(key) => self.on_key(key),
            AppEvent::Resize(columns, rows) => {
                self.size = Some((columns, rows));
                Reaction::redraw()
            }
            AppEvent::Clock(now) => {
                self.now = now;
                Reaction::redraw()
            }
            // What the server sent enters the app's state here, and only cleaned.
            AppEvent::Backend(event) => self.on_backend(super::screen_text::sanitized(event)),
        };
        self.track_case_commands(&outcome.commands);
        outcome
    }

    /// Counts the case commands leaving for the backend, so its replies are read in order.
    fn track_case_commands(&mut self, commands: &[AppCommand]) {
        for command in commands {
            let (id, step) = match command {
                AppCommand::SaveCase(case) => (case.id, false),
                AppCommand::GiveNotice { case, .. }
                | AppCommand::Accept(case)
                | AppCommand::Advance { case, .. }
                | AppCommand::ContinueCase(case)
                | AppCommand::EndCase { case, .. }
                | AppCommand::TransferCase { case, .. } => (case.id, true),
                _ => continue,
            };
            *self.case_pane.in_flight.entry(id).or_default() += 1;
            if step {
                self.case_pane.busy.insert(id);
            }
        }
    }

    fn on_backend(&mut self, event: BackendEvent) -> Reaction {
        // Replies that change nothing visible cost no redraw: the periodic refresh mostly
        // brings back what is already on screen.
        let changed = match event {
            BackendEvent::Link(link) => replace(&mut self.link, link),
            BackendEvent::Pending(n) => replace(&mut self.pending_uploads, n),
            BackendEvent::SignedIn(me) => {
                if self.form().is_some_and(|f| f.purpose == Purpose::SignIn) {
                    *self.modal_beneath() = None;
                }
                // Guidance-desk staff get the desk screen whatever was asked for.
                if me.staff.role == crate::domain::staff::Role::GuidanceDesk {
                    self.desk = true;
                }
                // 正在登录 is no longer true.
                if self.message.as_deref() == Some("正在登录") {
                    self.message = None;
                }
                let before = self.window_post().map(|(window, _)| window);
                let changed = replace(&mut self.me, Some(me));
                if before.is_some() && self.window_post().map(|(window, _)| window) != before {
                    // Another window: nothing of the last one stays on screen.
                    self.overview = None;
                    self.case_pane.list.clear();
                    self.case_pane.current = None;
                    self.case_pane.filter.clear();
                    self.handover_pane.list.clear();
                }
                changed
            }
            BackendEvent::Center(center) => replace(&mut self.center, Some(*center)),
            BackendEvent::Overview(overview) => replace(&mut self.overview, Some(*overview)),
            BackendEvent::Guides(guides) => {
                let changed = replace(&mut self.guide_pane.list, guides);
                self.guide_pane.selected = self.guide_pane.selected.min(self.guide_pane.list.len().saturating_sub(1));
                changed
            }
            BackendEvent::Message(text) => replace(&mut self.message, Some(text)),
            BackendEvent::Board(board) => self.board_pane.take(*board),
            BackendEvent::FreePlaces(places) => {
                let note = super::desk::free_places_note(&places);
                self.free_places = Some(*places);
                if let Some(Modal::Form(form)) = self.modal_beneath()
                    && form.purpose == super::form::Purpose::Book
                {
                    form.note = Some(note);
                }
                true
            }
            BackendEvent::Watch(watch) => replace(&mut self.watch, Some(*watch)),
            BackendEvent::Calendar(calendar) => replace(&mut self.calendar, Some(*calendar)),
            BackendEvent::ChoosePost(options) => {
                *self.modal_beneath() = Some(Modal::Form(Box::new(Form::choose_post(&options, false))));
                true
            }
            BackendEvent::NeedSignIn(reason) => {
                // Nobody is signed in: nothing of the window stays on screen behind the form.
                self.me = None;
                self.overview = None;
                self.case_pane.list.clear();
                self.case_pane.current = None;
                self.handover_pane.list.clear();
                self.guide_pane.detail = None;
                // A fresh form each time (the password typed before is gone). After a refused
                // attempt the staff id stays and the caret waits in the password field.
                let staff_id = match self.form() {
                    Some(form) if form.purpose == Purpose::SignIn => form.value(FieldId::StaffId),
                    _ => String::new(),
                };
                let staff_id = if reason.is_some() { staff_id } else { String::new() };
                // It replaces whatever was open: a half-written handover or a step waiting for
                // y was the last clerk's, not the next one's.
                let form = Form::sign_in(reason.as_deref(), self.server_label.as_deref(), &staff_id);
                *self.modal_beneath() = Some(Modal::Form(Box::new(form)));
                true
            }
            BackendEvent::FoundCases(found) => {
                let slot = self.modal_beneath();
                if slot.is_none() {
                    *slot = Some(Modal::FoundCases { found, selected: 0 });
                } else {
                    self.message = Some(format!("找到 {} 个办件；请先关闭当前窗口，再按 Ctrl+F 查看", found.len()));
                }
                true
            }
            BackendEvent::Handovers(handovers) => {
                let changed = replace(&mut self.handover_pane.list, handovers);
                self.handover_pane.selected =
                    self.handover_pane.selected.min(self.handover_pane.list.len().saturating_sub(1));
                changed
            }
            BackendEvent::Queue(event) => {
                let before = self.ticket_here().map(|t| t.number);
                match (*event, &mut self.queue_pane.snapshot) {
                    (QueueEvent::Snapshot(snapshot), _) => self.queue_pane.snapshot = Some(snapshot),
                    (QueueEvent::Change(change), Some(queue)) => queue.apply(&change),
                    // A change before any snapshot: the feed sends a snapshot first, so this only
                    // happens after a reconnect race; the next snapshot settles it.
                    (QueueEvent::Change(_), None) => return Reaction::default(),
                    // The backend acts on these (it syncs); nothing to show.
                    (QueueEvent::RecordsChanged { .. }, _) => return Reaction::default(),
                }
                let now = self.ticket_here().map(|t| t.number);
                if now.is_some() && now != before {
                    self.follow_ticket(now);
                }
                true
            }
            BackendEvent::QueueStats(stats) => replace(&mut self.queue_pane.stats, Some(*stats)),
            BackendEvent::SearchResults { query, rows } => {
                // A late answer to an older query is dropped: the box has moved on.
                if query != self.search_text() {
                    return Reaction::default();
                }
                self.guide_pane.selected = 0;
                replace(&mut self.guide_pane.search_rows, if query.trim().is_empty() { None } else { Some(rows) })
            }
            BackendEvent::GuideDetail(guide) => {
                self.guide_pane.scroll = 0;
                replace(&mut self.guide_pane.detail, Some(guide))
            }
            BackendEvent::Cases(mut cases) => {
                // The backend built this list before it had all the edits made here: those it
                // has not finished with stay as the clerk left them.
                for id in self.case_pane.in_flight.keys() {
                    let Some(mine) = self.case_pane.list.iter().find(|c| c.id == *id) else { continue };
                    match cases.iter_mut().find(|c| c.id == *id) {
                        Some(slot) => *slot = mine.clone(),
                        None => cases.push(mine.clone()),
                    }
                }
                let changed = replace(&mut self.case_pane.list, cases);
                self.case_pane.selected = self.case_pane.selected.min(self.case_pane.list.len().saturating_sub(1));
                // A case that left the list (delivered, or closed elsewhere) is no longer worked.
                if self.case_pane.current.is_some_and(|id| !self.case_pane.list.iter().any(|c| c.id == id)) {
                    self.case_pane.current = None;
                }
                changed
            }
            BackendEvent::CaseOpened(case) => {
                if self.case_pane.current != Some(case.id) {
                    self.case_pane.item_selected = 0;
                }
                self.case_pane.current = Some(case.id);
                self.focus = Pane::Checklist;
                match self.case_pane.list.iter_mut().find(|c| c.id == case.id) {
                    Some(slot) => *slot = *case,
                    None => self.case_pane.list.push(*case),
                }
                true
            }
            // An ended case leaves the open list at once (and the checklist, if it was there).
            BackendEvent::CaseUpdated(case) if case.status == crate::domain::case::CaseStatus::Ended => {
                self.case_pane.list.retain(|c| c.id != case.id);
                self.case_pane.selected = self.case_pane.selected.min(self.case_pane.list.len().saturating_sub(1));
                if self.case_pane.current == Some(case.id) {
                    self.case_pane.current = None;
                }
                true
            }
            BackendEvent::CaseUpdated(case) => match self.case_pane.list.iter_mut().find(|c| c.id == case.id) {
                Some(slot) => replace(slot, *case),
                None => {
                    self.case_pane.list.push(*case);
                    true
                }
            },
            BackendEvent::CaseDone { id, step } => {
                if let Some(n) = self.case_pane.in_flight.get_mut(&id) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.case_pane.in_flight.remove(&id);
                    }
                }
                if step {
                    self.case_pane.busy.remove(&id);
                }
                false
            }
        };
        Reaction { redraw: changed, commands: Vec::new() }
    }

    fn on_key(&mut self, key: KeyEvent) -> Reaction {
        // Windows reports releases and repeats as well; act on presses only.
        if key.kind != KeyEventKind::Press {
            return Reaction::default();
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if let Some(Modal::Leave { leave, under, .. }) = self.modal.take_if(|m| matches!(m, Modal::Leave { .. })) {
            // n (or any other key) goes back to what was open beneath the question.
            self.modal = *under;
            if matches!(key.code, KeyCode::Char('y' | 'Y') | KeyCode::Enter) {
                match leave {
                    Leave::Quit => self.should_quit = true,
                    Leave::DiscardHandover => self.modal = None,
                }
            }
            return Reaction::redraw();
        }
        if ctrl && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('C')) {
            self.request_quit();
            return Reaction::redraw();
        }
        // A message is read once: the next key clears it (a reply to this key may set a new one).
        let had_message = self.message.take().is_some();
        let mut outcome = self.dispatch_key(key, ctrl);
        outcome.redraw |= had_message;
        outcome
    }

    /// Quits at once when nothing is left behind; otherwise asks first, saying what stays on
    /// this PC.
    fn request_quit(&mut self) {
        let mut behind = Vec::new();
        if self.handover_editor().is_some_and(|e| e.has_text()) {
            behind.push("未保存的交接内容将丢弃".to_owned());
        }
        if self.pending_uploads > 0 {
            behind.push(format!("{} 条记录尚未上传，已保存在本机，下次打开联网后自动上传", self.pending_uploads));
        }
        if let Some(ticket) = self.ticket_here().filter(|t| t.status == crate::domain::ticket::TicketStatus::Serving) {
            behind.push(format!("{} 号正在办理，尚未办结", ticket.number));
        }
        if behind.is_empty() {
            self.should_quit = true;
        } else {
            let question = format!("{}。确认退出？（y 退出 / n 取消）", behind.join("；"));
            self.ask_leave(question, Leave::Quit);
        }
    }

    /// Whether the screen is too small to show the panes (see [`super::view::MIN_WIDTH`]).
    pub fn too_small(&self) -> bool {
        self.size.is_some_and(|(w, h)| w < super::view::MIN_WIDTH || h < super::view::MIN_HEIGHT)
    }

    fn dispatch_key(&mut self, key: KeyEvent, ctrl: bool) -> Reaction {
        // The clerk cannot see what a key would do: no key acts on the queue or a case; q
        // (and Ctrl+C, handled before) still quit.
        if self.too_small() {
            if key.code == KeyCode::Char('q') {
                self.should_quit = true;
            }
            return Reaction::default();
        }
        // What is open takes every key: nothing acts behind it. (A leave question was answered
        // before this.)
        match &self.modal {
            Some(Modal::Form(_)) => return self.on_form_key(key),
            Some(Modal::HandoverEditor(_)) => return self.on_handover_editor_key(key),
            Some(Modal::SituationPicker { .. }) => return self.on_picker_key(key),
            Some(Modal::Confirm { .. }) => return self.on_confirm_key(key),
            Some(Modal::Help { .. }) => return self.on_help_key(key),
            Some(Modal::FoundCases { .. }) => return self.on_found_cases_key(key),
            Some(Modal::Detail { .. }) => {
                if matches!(key.code, KeyCode::Esc | KeyCode::Enter) {
                    self.modal = None;
                    return Reaction::redraw();
                }
                return Reaction::default();
            }
            Some(Modal::Leave { .. }) | None => {}
        }
        if ctrl && matches!(key.code, KeyCode::Char('o')) {
            return Reaction { redraw: true, commands: vec![AppCommand::SignOut] };
        }
        if ctrl && matches!(key.code, KeyCode::Char('p')) {
            return self.switch_window();
        }
        if ctrl && matches!(key.code, KeyCode::Char('r')) {
            return Reaction { redraw: true, commands: vec![AppCommand::Refresh] };
        }
        if self.on_board() {
            if let Some(outcome) = self.on_board_key(key) {
                return outcome;
            }
            return match key.code {
                KeyCode::Char('q') => {
                    self.request_quit();
                    Reaction::redraw()
                }
                KeyCode::F(1) | KeyCode::Char('?') => self.open(Modal::Help { scroll: 0 }),
                _ => Reaction::default(),
            };
        }
        if self.desk {
            if let Some(outcome) = self.on_desk_key(key) {
                return outcome;
            }
            if is_text_key(&key) {
                return self.on_search_key(key);
            }
            return match key.code {
                KeyCode::F(1) => self.open(Modal::Help { scroll: 0 }),
                KeyCode::Esc if self.guide_pane.detail.is_some() && self.search_text().is_empty() => {
                    self.guide_pane.detail = None;
                    Reaction::redraw()
                }
                _ => {
                    // The list keeps the keys while a guide is open beside it.
                    let detail = self.guide_pane.detail.take();
                    let outcome = self.on_guides_key(key);
                    if self.guide_pane.detail.is_none() {
                        self.guide_pane.detail = detail;
                    }
                    outcome
                }
            };
        }
        if ctrl && matches!(key.code, KeyCode::Char('e')) && self.window_post().is_some() {
            return self.answer_oldest_follow_up();
        }
        if ctrl && matches!(key.code, KeyCode::Char('f')) && self.window_post().is_some() {
            return self.open_form(Form::find_case());
        }
        if ctrl && matches!(key.code, KeyCode::Char('k')) && self.focus == Pane::Checklist {
            let seen: Vec<Uuid> =
                self.overview.iter().flat_map(|o| o.case_conflicts.iter().map(|c| c.record_id)).collect();
            if seen.is_empty() {
                return Reaction::default();
            }
            return Reaction { redraw: true, commands: vec![AppCommand::ConflictsSeen(seen)] };
        }
        if let Some(outcome) = self.on_queue_hotkey(key) {
            return outcome;
        }
        if self.focus == Pane::Guides && self.guide_pane.detail.is_none() && is_text_key(&key) {
            return self.on_search_key(key);
        }
        // Letters typed over the open-case list filter it (q and w included, as in the guide
        // search); `?` still opens the help.
        if self.focus == Pane::Checklist
            && self.working_case().is_none()
            && is_text_key(&key)
            && key.code != KeyCode::Char('?')
        {
            return self.on_case_list_key(key);
        }
        match key.code {
            KeyCode::Char('q') => self.request_quit(),
            KeyCode::Char('w') if self.window_post().is_some() => return self.open_form(Form::visit()),
            KeyCode::Char('?') | KeyCode::F(1) => return self.open(Modal::Help { scroll: 0 }),
            KeyCode::Tab => self.focus = self.focus.step(1),
            KeyCode::BackTab => self.focus = self.focus.step(-1),
            KeyCode::F(n) if let Some(p) = Pane::ALL.iter().find(|p| p.key() == n) => self.focus = *p,
            _ if self.focus == Pane::Guides => return self.on_guides_key(key),
            _ if self.focus == Pane::Checklist => return self.on_case_key(key),
            _ if self.focus == Pane::Handover => return self.on_handover_pane_key(key),
            _ => return Reaction::default(),
        }
        Reaction::redraw()
    }

    /// Ctrl+P: work at another of the clerk's windows (s003 holds A at window 2, B at 3).
    fn switch_window(&mut self) -> Reaction {
        let Some(me) = &self.me else { return Reaction::default() };
        match me.posts.as_slice() {
            [] => self.message = Some("本账号不在任何窗口任职".into()),
            [only] => self.message = Some(format!("您只在 {} 号窗口任职（{}）", only.window, only.post.label())),
            several => return self.open_form(Form::choose_post(several, true)),
        }
        Reaction::redraw()
    }

    fn submit_work_at(&mut self, switching: bool, values: &Values) -> Result<Vec<AppCommand>, String> {
        let value = |id: FieldId| crate::domain::text::clean_line(values.get(id));
        let window: u32 = value(FieldId::Window).trim().parse().map_err(|_| "请填写窗口号，如 2".to_owned())?;
        let holds = self.me.as_ref().is_some_and(|me| me.posts.iter().any(|p| p.window == window));
        if !holds {
            return Err(format!("您不在 {window} 号窗口任职"));
        }
        let reason = value(FieldId::Reason).trim().to_owned();
        if switching && reason.is_empty() {
            return Err("请填写切换窗口的原因".into());
        }
        let reason = if reason.is_empty() { "登录时选择".to_owned() } else { reason };
        Ok(vec![AppCommand::WorkAt { window, reason }])
    }

    /// The help overlay scrolls (it is longer than a 24-line screen) and closes.
    fn on_help_key(&mut self, key: KeyEvent) -> Reaction {
        let last = self.help_rows().len().saturating_sub(1) as u16;
        let Some(Modal::Help { scroll }) = &mut self.modal else { return Reaction::default() };
        let before = *scroll;
        match key.code {
            KeyCode::Esc | KeyCode::F(1) | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter => {
                self.modal = None;
                return Reaction::redraw();
            }
            KeyCode::Down => *scroll = (*scroll + 1).min(last),
            KeyCode::Up => *scroll = scroll.saturating_sub(1),
            KeyCode::PageDown => *scroll = (*scroll + 10).min(last),
            KeyCode::PageUp => *scroll = scroll.saturating_sub(10),
            _ => {}
        }
        Reaction { redraw: before != *scroll, commands: Vec::new() }
    }

    fn on_form_key(&mut self, key: KeyEvent) -> Reaction {
        let Some(Modal::Form(form)) = &mut self.modal else { return Reaction::default() };
        match form.handle(key) {
            FormAction::Edited => Reaction::redraw(),
            // Without a session there is nothing behind the sign-in form to go back to: Esc
            // starts it over.
            FormAction::Cancel if form.purpose == Purpose::SignIn => {
                form.clear();
                Reaction::redraw()
            }
            FormAction::Cancel => {
                self.modal = None;
                Reaction::redraw()
            }
            FormAction::Submit => {
                let (purpose, values) = (form.purpose.clone(), form.named_values());
                let signing_in = purpose == Purpose::SignIn;
                match self.submit_form(purpose, &values) {
                    Ok(commands) => {
                        // The sign-in screen stays until the server says yes.
                        if signing_in {
                            if let Some(Modal::Form(form)) = &mut self.modal {
                                form.error = Some("正在登录".into());
                            }
                        } else if matches!(self.modal, Some(Modal::Form(_))) {
                            self.modal = None;
                        }
                        Reaction { redraw: true, commands }
                    }
                    Err(message) => {
                        if let Some(Modal::Form(form)) = &mut self.modal {
                            // The caret goes to the first empty field: that is what to fix.
                            if signing_in && let Some(empty) = form.first_empty() {
                                form.focused = empty;
                            }
                            form.error = Some(message);
                        }
                        Reaction::redraw()
                    }
                }
            }
        }
    }

    fn submit_form(&mut self, purpose: Purpose, values: &Values) -> Result<Vec<AppCommand>, String> {
        let value = |id: FieldId| values.get(id);
        match purpose {
            Purpose::Visit => {
                let visit = Visit::new(value(FieldId::PaperTicket), value(FieldId::Matter)).map_err(|e| e.message)?;
                // 已保存 comes from the backend once the record is committed.
                self.message = Some("正在保存来访登记…".into());
                Ok(vec![AppCommand::RecordVisit(visit)])
            }
            Purpose::Transfer | Purpose::CallNumber | Purpose::Pause | Purpose::CheckIn => {
                self.submit_queue_form(purpose, values)
            }
            Purpose::Inquiry { action, guide_code } => self.submit_inquiry(action, guide_code, values),
            Purpose::Book => self.submit_booking(values),
            Purpose::CancelBooking => self.submit_cancel_booking(values),
            Purpose::ChoosePost { switching } => self.submit_work_at(switching, values),
            Purpose::Acknowledge { handover_id } => self.submit_acknowledgement(handover_id, values),
            Purpose::AssignFollowUp { .. } | Purpose::CloseFollowUp { .. } | Purpose::AnswerFollowUp { .. } => {
                self.submit_follow_up_form(purpose, values)
            }
            Purpose::SignIn => {
                let staff_id = crate::domain::text::clean_line(value(FieldId::StaffId)).trim().to_owned();
                let password = value(FieldId::Password).to_owned();
                if staff_id.is_empty() || password.is_empty() {
                    return Err("请输入工号和密码".into());
                }
                self.message = Some("正在登录".into());
                Ok(vec![AppCommand::SignIn { staff_id, password }])
            }
            other => self.submit_case_form(other, values),
        }
    }

    fn on_guides_key(&mut self, key: KeyEvent) -> Reaction {
        if let Some(guide) = &self.guide_pane.detail {
            return match key.code {
                KeyCode::Esc | KeyCode::Backspace => {
                    self.guide_pane.detail = None;
                    Reaction::redraw()
                }
                KeyCode::Down => self.scroll_detail(1),
                KeyCode::Up => self.scroll_detail(-1),
                KeyCode::PageDown => self.scroll_detail(8),
                KeyCode::PageUp => self.scroll_detail(-8),
                KeyCode::Home => self.scroll_detail(-10_000),
                KeyCode::Char('f') => {
                    self.guide_pane.faq_open = !self.guide_pane.faq_open;
                    Reaction::redraw()
                }
                KeyCode::Char('s') if self.window_post().is_some() => {
                    if guide.situations.is_empty() {
                        let ticket = self.ticket_here().map(|t| t.number);
                        let command =
                            AppCommand::OpenCase { guide_code: guide.code.clone(), situation_id: None, ticket };
                        Reaction { redraw: false, commands: vec![command] }
                    } else {
                        self.open(Modal::SituationPicker { selected: 0 })
                    }
                }
                _ => Reaction::default(),
            };
        }
        match key.code {
            KeyCode::Enter => match self.selected_guide_code() {
                Some(code) => Reaction { redraw: false, commands: vec![AppCommand::OpenGuide(code)] },
                None => Reaction::default(),
            },
            KeyCode::Esc if !self.search_text().is_empty() => {
                self.guide_pane.search = search_box();
                self.guide_pane.search_rows = None;
                self.guide_pane.selected = 0;
                Reaction { redraw: true, commands: vec![AppCommand::Search(String::new())] }
            }
            code @ (KeyCode::Up
            | KeyCode::Down
            | KeyCode::PageUp
            | KeyCode::PageDown
            | KeyCode::Home
            | KeyCode::End) => self.move_guide_selection(code),
            _ => Reaction::default(),
        }
    }

    pub fn search_text(&self) -> String {
        self.guide_pane.search.lines().join("")
    }

    /// Entries of the guide list as shown: search results, or the whole catalogue.
    pub fn guide_list_len(&self) -> usize {
        self.guide_pane.search_rows.as_ref().map_or(self.guide_pane.list.len(), Vec::len)
    }

    fn selected_guide_code(&self) -> Option<String> {
        match &self.guide_pane.search_rows {
            Some(rows) => rows.get(self.guide_pane.selected).map(|r| r.code.clone()),
            None => self.guide_pane.list.get(self.guide_pane.selected).map(|g| g.code.clone()),
        }
    }

    fn on_search_key(&mut self, key: KeyEvent) -> Reaction {
        let before = self.search_text();
        self.guide_pane.search.input(key);
        let after = self.search_text();
        if before == after {
            return Reaction::redraw();
        }
        if after.trim().is_empty() {
            self.guide_pane.search_rows = None;
        }
        // At the desk a new question means a new guide: the old one must not be recorded.
        if self.desk {
            self.guide_pane.detail = None;
        }
        self.guide_pane.selected = 0;
        Reaction { redraw: true, commands: vec![AppCommand::Search(after)] }
    }

    fn scroll_detail(&mut self, by: i32) -> Reaction {
        let before = self.guide_pane.scroll;
        self.guide_pane.scroll = (i32::from(self.guide_pane.scroll) + by).clamp(0, i32::from(u16::MAX)) as u16;
        Reaction { redraw: before != self.guide_pane.scroll, commands: Vec::new() }
    }

    fn on_picker_key(&mut self, key: KeyEvent) -> Reaction {
        let (Some(selected), Some(guide)) = (self.situation_picker(), &self.guide_pane.detail) else {
            self.modal = None;
            return Reaction::redraw();
        };
        let last = guide.situations.len().saturating_sub(1);
        match key.code {
            KeyCode::Esc => self.modal = None,
            KeyCode::Up => self.modal = Some(Modal::SituationPicker { selected: selected.saturating_sub(1) }),
            KeyCode::Down => self.modal = Some(Modal::SituationPicker { selected: (selected + 1).min(last) }),
            KeyCode::Enter => {
                self.modal = None;
                let situation_id = guide.situations.get(selected).map(|s| s.id.clone());
                let ticket = self.ticket_here().map(|t| t.number);
                return Reaction {
                    redraw: true,
                    commands: vec![AppCommand::OpenCase { guide_code: guide.code.clone(), situation_id, ticket }],
                };
            }
            _ => return Reaction::default(),
        }
        Reaction::redraw()
    }

    fn move_guide_selection(&mut self, code: KeyCode) -> Reaction {
        let last = self.guide_list_len().saturating_sub(1);
        let before = self.guide_pane.selected;
        self.guide_pane.selected = match code {
            KeyCode::Up => before.saturating_sub(1),
            KeyCode::Down => (before + 1).min(last),
            KeyCode::PageUp => before.saturating_sub(10),
            KeyCode::PageDown => (before + 10).min(last),
            KeyCode::Home => 0,
            _ => last,
        };
        Reaction { redraw: before != self.guide_pane.selected, commands: Vec::new() }
    }
}

/// What is open, seen from the outside (drawing, tests) and opened from the panes' keys.
impl App {
    /// Opens `modal` in front of the panes.
    pub(super) fn open(&mut self, modal: Modal) -> Reaction {
        self.modal = Some(modal);
        Reaction::redraw()
    }

    pub(super) fn open_form(&mut self, form: Form) -> Reaction {
        self.open(Modal::Form(Box::new(form)))
    }

    /// Asks before leaving something behind, over whatever is open (which `n` brings back).
    pub(super) fn ask_leave(&mut self, question: String, leave: Leave) {
        let under = Box::new(self.modal.take());
        self.modal = Some(Modal::Leave { question, leave, under });
    }

    /// The slot of what is open beneath a leave question (the whole modal when none is asked):
    /// where the backend's forms go, so an answer to the question still finds them.
    fn modal_beneath(&mut self) -> &mut Option<Modal> {
        match &mut self.modal {
            Some(Modal::Leave { under, .. }) => under,
            slot => slot,
        }
    }

    fn beneath(&self) -> Option<&Modal> {
        self.modal.as_ref()?.beneath()
    }

    /// The open form, also while a leave question is asked over it.
    pub fn form(&self) -> Option<&Form> {
        match self.beneath()? {
            Modal::Form(form) => Some(form),
            _ => None,
        }
    }

    /// The handover being written, also while a leave question is asked over it.
    pub fn handover_editor(&self) -> Option<&HandoverEditor> {
        match self.beneath()? {
            Modal::HandoverEditor(editor) => Some(editor),
            _ => None,
        }
    }

    /// The business situation highlighted while choosing one.
    pub fn situation_picker(&self) -> Option<usize> {
        match self.beneath()? {
            Modal::SituationPicker { selected } => Some(*selected),
            _ => None,
        }
    }

    /// Whether the F1 overlay is open.
    pub fn help_open(&self) -> bool {
        matches!(self.beneath(), Some(Modal::Help { .. }))
    }

    /// The y/n question on the message line: a leave question, else a step to confirm.
    pub fn question(&self) -> Option<&str> {
        self.modal.as_ref()?.question()
    }

    /// Whether a step waits for the clerk's y.
    pub fn confirming(&self) -> bool {
        matches!(self.beneath(), Some(Modal::Confirm { .. }))
    }
}

impl App {
    /// The F1 help as it stands: the desk's, or the window's with the key bindings in force.
    pub fn help_rows(&self) -> Vec<super::help::HelpRow> {
        if self.on_board() {
            super::board::board_help()
        } else if self.desk {
            super::help::desk_help()
        } else {
            super::help::window_help(&self.queue_pane.keys)
        }
    }
}

/// Keys that edit the search box rather than command the app: printable characters without
/// Ctrl or Alt, and the editing keys.
fn is_text_key(key: &KeyEvent) -> bool {
    let plain = !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    match key.code {
        KeyCode::Char(_) => plain,
        KeyCode::Backspace | KeyCode::Delete | KeyCode::Left | KeyCode::Right => plain,
        _ => false,
    }
}

/// Sets `slot` to `value`, saying whether that changed anything.
fn replace<T: PartialEq>(slot: &mut T, value: T) -> bool {
    if *slot == value {
        false
    } else {
        *slot = value;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::catalogue::SearchRow;

    fn press(code: KeyCode) -> AppEvent {
        AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn app() -> App {
        App::new(DateTime::UNIX_EPOCH, None)
    }

    #[test]
    fn quitting_with_records_waiting_asks_first_and_says_they_stay_here() {
        for quit in [press(KeyCode::Char('q')), AppEvent::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))]
        {
            let mut a = app();
            a.update(AppEvent::Backend(BackendEvent::Pending(3)));
            a.update(quit.clone());
            assert!(!a.should_quit, "asks first");
            let question = a.question().unwrap();
            assert!(question.contains("3 条记录尚未上传，已保存在本机"), "{question}");
            a.update(press(KeyCode::Char('n')));
            assert!(!a.should_quit && a.question().is_none(), "n keeps the terminal open");
            a.update(quit);
            a.update(press(KeyCode::Char('y')));
            assert!(a.should_quit);
        }
        // Nothing waiting: q quits at once.
        let mut a = app();
        a.update(press(KeyCode::Char('q')));
        assert!(a.should_quit);
    }

    #[test]
    fn esc_in_a_half_written_handover_asks_before_throwing_it_away() {
        let mut a = app();
        let mut editor = crate::tui::handover::HandoverEditor::new(crate::domain::handover::HandoverKind::AToB);
        editor.field = 3;
        a.modal = Some(Modal::HandoverEditor(Box::new(editor)));
        for c in "下午有培训".chars() {
            a.update(press(KeyCode::Char(c)));
        }
        a.update(press(KeyCode::Esc));
        assert!(a.handover_editor().is_some(), "not thrown away yet");
        assert!(a.question().unwrap().contains("放弃未保存的交接内容"));
        a.update(press(KeyCode::Char('n')));
        assert!(a.handover_editor().is_some(), "n goes back to writing");
        // Ctrl+C says the text goes with the terminal.
        a.update(AppEvent::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)));
        assert!(a.question().unwrap().contains("未保存的交接内容将丢弃"));
        a.update(press(KeyCode::Char('n')));
        a.update(press(KeyCode::Esc));
        a.update(press(KeyCode::Char('y')));
        assert!(a.handover_editor().is_none() && !a.should_quit);
        // An empty editor closes at once.
        a.modal = Some(Modal::HandoverEditor(Box::new(crate::tui::handover::HandoverEditor::new(
            crate::domain::handover::HandoverKind::AToB,
        ))));
        a.update(press(KeyCode::Esc));
        assert!(a.handover_editor().is_none() && a.question().is_none());
    }

    #[test]
    fn a_leave_question_over_a_form_gives_the_form_back_on_n() {
        let mut a = signed_in_app();
        a.update(AppEvent::Backend(BackendEvent::Pending(2)));
        a.update(press(KeyCode::Char('w')));
        type_text(&mut a, "A023");
        a.update(AppEvent::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)));
        assert!(a.question().unwrap().contains("2 条记录尚未上传"));
        assert!(a.form().is_some(), "the form stays on screen beneath the question");
        // The question has the keys: this y or n is no text for the form.
        a.update(press(KeyCode::Char('n')));
        assert!(a.question().is_none() && !a.should_quit);
        assert_eq!(a.form().unwrap().value(FieldId::PaperTicket), "A023", "n gives the form back as it was");
        type_text(&mut a, "4");
        assert_eq!(a.form().unwrap().value(FieldId::PaperTicket), "A0234", "and it takes the keys again");
    }

    #[test]
    fn signing_out_drops_what_the_last_clerk_had_open() {
        let mut a = signed_in_app();
        a.update(press(KeyCode::F(5)));
        a.update(press(KeyCode::Char('h')));
        type_text(&mut a, "x");
        assert!(a.handover_editor().is_some());
        a.update(AppEvent::Backend(BackendEvent::NeedSignIn(Some("登录已过期".into()))));
        assert!(a.handover_editor().is_none(), "the next clerk does not save the last one's handover");
        assert!(matches!(a.form().map(|f| &f.purpose), Some(Purpose::SignIn)));
    }

    #[test]
    fn tab_cycles_focus_both_ways() {
        let mut a = app();
        a.update(press(KeyCode::Tab));
        assert_eq!(a.focus, Pane::Checklist);
        a.update(press(KeyCode::BackTab));
        a.update(press(KeyCode::BackTab));
        assert_eq!(a.focus, Pane::Handover);
        a.update(press(KeyCode::F(4)));
        assert_eq!(a.focus, Pane::Guides);
    }

    /// Windows' console reports every key twice, pressed and released: the release of a key that
    /// acts (quit, a pane, help, a letter typed into a filter) must change nothing at all.
    #[test]
    fn key_releases_are_ignored() {
        let keys = [
            (KeyCode::Char('q'), KeyModifiers::NONE),
            (KeyCode::Char('c'), KeyModifiers::CONTROL),
            (KeyCode::Tab, KeyModifiers::NONE),
            (KeyCode::F(1), KeyModifiers::NONE),
            (KeyCode::F(4), KeyModifiers::NONE),
            (KeyCode::F(6), KeyModifiers::NONE),
            (KeyCode::Enter, KeyModifiers::NONE),
            (KeyCode::Esc, KeyModifiers::NONE),
            (KeyCode::Char('a'), KeyModifiers::NONE),
        ];
        for (code, modifiers) in keys {
            let mut a = app();
            let before = format!("{a:?}");
            let release = KeyEvent { kind: KeyEventKind::Release, ..KeyEvent::new(code, modifiers) };
            assert_eq!(a.update(AppEvent::Key(release)), Reaction::default(), "{code:?} released");
            assert_eq!(format!("{a:?}"), before, "{code:?} released changed the state");
        }
        // The same keys pressed do act: q quits, Tab moves the focus.
        let mut a = app();
        a.update(press(KeyCode::Tab));
        assert_ne!(a.focus, app().focus);
        let mut a = app();
        a.update(press(KeyCode::Char('q')));
        assert!(a.should_quit);
    }

    #[test]
    fn help_swallows_keys_until_closed() {
        let mut a = app();
        a.update(press(KeyCode::F(1)));
        assert!(a.help_open());
        a.update(press(KeyCode::Tab));
        assert_eq!(a.focus, Pane::Queue, "keys do not reach the panes behind the overlay");
        a.update(press(KeyCode::Esc));
        assert!(!a.help_open());
        a.update(press(KeyCode::Char('q')));
        assert!(a.should_quit);
    }

    #[test]
    fn unchanged_replies_do_not_redraw() {
        let mut a = app();
        let failed = BackendEvent::Link(Link::Offline("无法连接服务器".into()));
        assert!(a.update(AppEvent::Backend(failed.clone())).redraw);
        assert!(!a.update(AppEvent::Backend(failed)).redraw, "same state, no frame");
    }

    fn signed_in_app() -> App {
        let mut a = app();
        a.update(AppEvent::Backend(BackendEvent::SignedIn(Me {
            staff: crate::domain::staff::Staff {
                id: "s001".into(),
                name: "王丽".into(),
                role: crate::domain::staff::Role::WindowClerk,
                active: true,
            },
            posts: vec![crate::api::PostAssignment { window: 1, post: Post::A }],
        })));
        a
    }

    fn type_text(a: &mut App, text: &str) {
        for c in text.chars() {
            a.update(press(KeyCode::Char(c)));
        }
    }

    #[test]
    fn x_withdraws_my_unacknowledged_handover_after_asking_and_nobody_elses() {
        use crate::domain::handover::{AwayReason, HandoverDraft, HandoverKind, WindowAtHandover, handover_from};
        let mut a = signed_in_app();
        let window = crate::assets::CenterSeed::bundled().unwrap().windows.into_iter().find(|w| w.number == 1).unwrap();
        let at = WindowAtHandover { window: &window, open_cases: &[], tickets: &[] };
        let draft =
            HandoverDraft { notes: "去开会".into(), reason: Some(AwayReason::Meeting), ..HandoverDraft::default() };
        let mine = handover_from(&at, HandoverKind::AToB, "s001", draft.clone(), Uuid::from_u128(1), a.now).unwrap();
        a.update(AppEvent::Backend(BackendEvent::Handovers(vec![mine.clone()])));
        a.update(press(KeyCode::F(5)));
        assert!(a.update(press(KeyCode::Char('x'))).commands.is_empty(), "asks first");
        assert!(a.confirming());
        let sent = a.update(press(KeyCode::Char('y')));
        assert!(matches!(&sent.commands[..], [AppCommand::WithdrawHandover { handover }] if handover.id == mine.id));
        // B's hand back is B's to withdraw, not A's.
        let back = handover_from(&at, HandoverKind::HandBack, "s002", draft, Uuid::from_u128(2), a.now).unwrap();
        a.update(AppEvent::Backend(BackendEvent::Handovers(vec![back])));
        assert!(a.update(press(KeyCode::Char('x'))).commands.is_empty());
        assert!(!a.confirming());
        assert!(a.message.as_deref().unwrap_or_default().contains("只有填写人"), "{:?}", a.message);
    }

    #[test]
    fn walk_in_form_takes_every_key_and_submits_a_command() {
        let mut a = signed_in_app();
        a.update(press(KeyCode::Char('w')));
        assert!(a.form().is_some());
        type_text(&mut a, "qA023");
        assert!(!a.should_quit, "q is text inside the form");
        a.update(press(KeyCode::Enter));
        type_text(&mut a, "咨询低保");
        let outcome = a.update(press(KeyCode::Enter));
        let expected = Visit::new("qA023", "咨询低保").unwrap();
        assert_eq!(outcome.commands, vec![AppCommand::RecordVisit(expected)]);
        assert!(a.form().is_none());
    }

    #[test]
    fn an_empty_walk_in_is_refused_in_place() {
        let mut a = signed_in_app();
        a.update(press(KeyCode::Char('w')));
        a.update(press(KeyCode::Enter));
        let outcome = a.update(press(KeyCode::Enter));
        assert!(outcome.commands.is_empty());
        assert_eq!(a.form().unwrap().error.as_deref(), Some("请填写纸质号或办理事项"));
        a.update(press(KeyCode::Esc));
        assert!(a.form().is_none());
    }

    #[test]
    fn walk_in_needs_a_window() {
        let mut a = app();
        a.update(press(KeyCode::Char('w')));
        assert!(a.form().is_none(), "not signed in at a window: nothing to record against");
    }

    #[test]
    fn typing_in_the_guide_pane_searches_and_q_is_a_letter_there() {
        let mut a = signed_in_app();
        a.update(press(KeyCode::F(4)));
        let outcome = a.update(press(KeyCode::Char('q')));
        assert!(!a.should_quit);
        assert_eq!(outcome.commands, vec![AppCommand::Search("q".into())]);
        a.update(press(KeyCode::Backspace));
        let outcome = a.update(press(KeyCode::Char('c')));
        assert_eq!(outcome.commands, vec![AppCommand::Search("c".into())]);
        // An answer for an older query is dropped; the current one is shown.
        let stale = BackendEvent::SearchResults { query: "q".into(), rows: Vec::new() };
        assert!(!a.update(AppEvent::Backend(stale)).redraw);
        let row = SearchRow {
            code: "HB-QS-0029".into(),
            name: "残疾人证办理".into(),
            department: "残联".into(),
            promised_limit_days: 20,
            field: None,
            fuzzy: false,
            highlight: vec![0..3, 3..6],
            matched: vec!["cjrz".into()],
            missed: Vec::new(),
            guide: None,
        };
        let current = BackendEvent::SearchResults { query: "c".into(), rows: vec![row] };
        assert!(a.update(AppEvent::Backend(current)).redraw);
        assert_eq!(a.guide_list_len(), 1);
        let open = a.update(press(KeyCode::Enter));
        assert_eq!(open.commands, vec![AppCommand::OpenGuide("HB-QS-0029".into())]);
        let clear = a.update(press(KeyCode::Esc));
        assert_eq!(clear.commands, vec![AppCommand::Search(String::new())]);
        assert!(a.guide_pane.search_rows.is_none());
        // Elsewhere q still quits.
        a.update(press(KeyCode::F(2)));
        a.update(press(KeyCode::Char('q')));
        assert!(a.should_quit);
    }

    #[test]
    fn v_invites_the_applicant_to_rate_on_the_evaluator_instead_of_typing_a_rating() {
        let mut a = signed_in_app();
        a.link = Link::Online;
        a.update(press(KeyCode::F(2)));
        let outcome = a.update(press(KeyCode::Char('v')));
        assert!(a.form().is_none(), "the clerk types no rating");
        assert_eq!(outcome.commands, vec![AppCommand::Queue(QueueOp::InviteRating)]);
    }

    #[test]
    fn the_desk_books_a_slot_in_china_time_and_cancels_by_code() {
        use crate::api::queue::{BookAppointment, CancelBooking};
        let mut desk = app();
        desk.desk = true;
        desk.link = Link::Online;
        desk.update(press(KeyCode::F(11)));
        for text in ["a", "2026-12-07", "10:00"] {
            type_text(&mut desk, text);
            desk.update(press(KeyCode::Tab));
        }
        type_text(&mut desk, "138 0013 8000");
        let outcome = desk.update(press(KeyCode::Enter));
        let expected = BookAppointment {
            category: 'A',
            slot_start: "2026-12-07T02:00:00Z".parse().unwrap(),
            phone: Some("13800138000".into()),
            note: None,
        };
        assert_eq!(outcome.commands, vec![AppCommand::Book(expected)]);
        desk.update(press(KeyCode::F(12)));
        type_text(&mut desk, "482715");
        desk.update(press(KeyCode::Tab));
        type_text(&mut desk, "2026-12-07");
        let outcome = desk.update(press(KeyCode::Enter));
        assert!(outcome.commands.is_empty() && desk.confirming(), "a cancel is asked first");
        assert!(desk.update(press(KeyCode::Char('n'))).commands.is_empty());
        desk.update(press(KeyCode::F(12)));
        type_text(&mut desk, "482715");
        desk.update(press(KeyCode::Tab));
        type_text(&mut desk, "2026-12-07");
        desk.update(press(KeyCode::Enter));
        let outcome = desk.update(press(KeyCode::Char('y')));
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert_eq!(
            outcome.commands,
            vec![AppCommand::CancelBooking(CancelBooking { day, code: "482715".into(), phone: None })]
        );
    }

    #[test]
    fn the_desk_checks_in_appointments_and_the_window_serves_walk_ins() {
        let mut desk = app();
        desk.desk = true;
        desk.link = Link::Online;
        desk.update(press(KeyCode::F(10)));
        type_text(&mut desk, "a031");
        let outcome = desk.update(press(KeyCode::Enter));
        assert_eq!(outcome.commands, vec![AppCommand::Queue(QueueOp::CheckIn("A031".parse().unwrap()))]);
        // F10 also finds the booking by its code, or by the phone number booked with.
        use crate::api::queue::CheckInBooking;
        for (typed, expected) in [
            ("482 715", CheckInBooking { code: Some("482715".into()), phone: None }),
            ("138-0013-8000", CheckInBooking { code: None, phone: Some("13800138000".into()) }),
        ] {
            desk.update(press(KeyCode::F(10)));
            type_text(&mut desk, typed);
            let outcome = desk.update(press(KeyCode::Enter));
            assert_eq!(outcome.commands, vec![AppCommand::Queue(QueueOp::CheckInBooking(expected))], "{typed}");
        }
        desk.update(press(KeyCode::F(10)));
        type_text(&mut desk, "12345");
        assert!(desk.update(press(KeyCode::Enter)).commands.is_empty(), "neither a code nor a phone");
        assert!(desk.form().is_some(), "the form stays open, saying why");
        assert!(
            !format!("{:?}", QueueOp::CheckInBooking(CheckInBooking { code: None, phone: Some("13800138000".into()) }))
                .contains("138")
        );

        let mut window = signed_in_app();
        window.link = Link::Online;
        window.update(press(KeyCode::F(2)));
        window.update(press(KeyCode::Char('j')));
        let outcome = window.update(press(KeyCode::Char('y')));
        assert_eq!(outcome.commands, vec![AppCommand::Queue(QueueOp::WalkIn)]);
        window.link = Link::Offline("无法连接服务器".into());
        window.update(press(KeyCode::Char('j')));
        let offline = window.update(press(KeyCode::Char('y')));
        assert!(offline.commands.is_empty(), "server-owned: not offline");
        assert!(window.message.as_deref().unwrap_or_default().contains("离线"));
    }

    #[test]
    fn the_help_overlay_takes_every_key_and_messages_clear_on_the_next_key() {
        let mut a = signed_in_app();
        a.link = Link::Online;
        a.update(press(KeyCode::F(1)));
        assert!(a.update(press(KeyCode::F(6))).commands.is_empty(), "no call behind the overlay");
        a.update(press(KeyCode::F(4)));
        assert_eq!(a.search_text(), "", "no typing into the hidden search box");
        a.update(press(KeyCode::Esc));
        a.message = Some("已受理".into());
        assert!(a.update(press(KeyCode::Char('x'))).redraw, "clearing the message is a visible change");
        assert_eq!(a.message, None);
        let ctrl_o = a.update(AppEvent::Key(KeyEvent::new(KeyCode::Char('o'), KeyModifiers::CONTROL)));
        assert_eq!(ctrl_o.commands, vec![AppCommand::SignOut]);
    }

    #[test]
    fn signing_out_clears_the_window_from_the_screen_until_someone_signs_in() {
        let mut a = signed_in_app();
        a.update(AppEvent::Backend(BackendEvent::NeedSignIn(None)));
        assert!(a.me.is_none() && a.case_pane.list.is_empty() && a.overview.is_none());
        assert!(matches!(a.form().map(|f| &f.purpose), Some(Purpose::SignIn)));
        a.update(press(KeyCode::Esc));
        assert!(a.form().is_some(), "the sign-in screen cannot be dismissed");
        type_text(&mut a, "s001");
        a.update(press(KeyCode::Enter));
        type_text(&mut a, "pw");
        let outcome = a.update(press(KeyCode::Enter));
        assert_eq!(outcome.commands, vec![AppCommand::SignIn { staff_id: "s001".into(), password: "pw".into() }]);
        assert!(a.form().is_some(), "it stays until the server says yes");
        a.update(AppEvent::Backend(BackendEvent::SignedIn(signed_in_app().me.unwrap())));
        assert!(a.form().is_none());
        assert_eq!(a.message, None, "正在登录 is no longer true");
    }

    #[test]
    fn a_new_question_at_the_desk_drops_the_guide_of_the_last_one() {
        let mut a = app();
        a.desk = true;
        let guide =
            crate::assets::bundled_catalogue().unwrap().guides.into_iter().find(|g| g.code == "HB-QS-0004").unwrap();
        a.update(AppEvent::Backend(BackendEvent::GuideDetail(Box::new(guide))));
        type_text(&mut a, "dibao");
        assert!(a.guide_pane.detail.is_none());
    }

    #[test]
    fn the_too_small_screen_ignores_action_keys() {
        let mut a = signed_in_app();
        a.link = Link::Online;
        a.update(AppEvent::Resize(40, 12));
        assert!(a.update(press(KeyCode::F(6))).commands.is_empty(), "F6 at 40x12 must not call a ticket");
        assert!(a.update(press(KeyCode::Char('j'))).commands.is_empty() && !a.confirming());
        a.update(AppEvent::Resize(80, 24));
        assert_eq!(a.update(press(KeyCode::F(6))).commands, vec![AppCommand::Queue(QueueOp::CallNext)]);
    }

    #[test]
    fn a_walk_in_asks_first_and_queue_letters_act_only_in_the_queue_pane() {
        let mut a = signed_in_app();
        a.link = Link::Online;
        a.update(press(KeyCode::F(4)));
        assert_eq!(a.update(press(KeyCode::Char('j'))).commands, vec![AppCommand::Search("j".into())], "text here");
        a.update(press(KeyCode::F(5)));
        assert!(a.update(press(KeyCode::Char('j'))).commands.is_empty());
        assert!(!a.confirming(), "j is the queue pane's key only");
        a.update(press(KeyCode::F(2)));
        assert!(a.update(press(KeyCode::Char('j'))).commands.is_empty(), "asked first");
        assert!(a.confirming());
        assert!(a.update(press(KeyCode::Char('n'))).commands.is_empty());
        a.update(press(KeyCode::Char('j')));
        assert_eq!(a.update(press(KeyCode::Char('y'))).commands, vec![AppCommand::Queue(QueueOp::WalkIn)]);
    }

    #[test]
    fn the_sign_in_form_keeps_the_staff_id_after_a_refusal_and_esc_starts_over() {
        let mut a = app();
        a.server_label = Some("https://bianmin.example:8443".into());
        a.update(AppEvent::Backend(BackendEvent::NeedSignIn(None)));
        assert_eq!(a.form().unwrap().note.as_deref(), Some("服务器：https://bianmin.example:8443"));
        type_text(&mut a, "s001");
        a.update(press(KeyCode::Enter));
        // Enter on an empty password: the caret stays where the gap is.
        a.update(press(KeyCode::Enter));
        let form = a.form().unwrap();
        assert_eq!((form.focused, form.error.as_deref()), (1, Some("请输入工号和密码")));
        type_text(&mut a, "wrong");
        a.update(press(KeyCode::Enter));
        a.update(AppEvent::Backend(BackendEvent::NeedSignIn(Some("工号或密码不正确".into()))));
        let form = a.form().unwrap();
        assert_eq!((form.value(FieldId::StaffId), form.value(FieldId::Password)), ("s001".to_owned(), String::new()));
        assert_eq!(form.focused, 1, "the password is what to type again");
        a.update(press(KeyCode::Esc));
        let form = a.form().unwrap();
        assert_eq!((form.values(), form.focused), (vec![String::new(), String::new()], 0));
    }

    fn s003() -> Me {
        Me {
            staff: crate::domain::staff::Staff {
                id: "s003".into(),
                name: "张敏".into(),
                role: crate::domain::staff::Role::WindowClerk,
                active: true,
            },
            posts: vec![
                crate::api::PostAssignment { window: 2, post: Post::A },
                crate::api::PostAssignment { window: 3, post: Post::B },
            ],
        }
    }

    #[test]
    fn a_clerk_with_two_windows_is_asked_and_switches_with_a_reason() {
        let mut a = app();
        a.update(AppEvent::Backend(BackendEvent::SignedIn(s003())));
        a.update(AppEvent::Backend(BackendEvent::ChoosePost(s003().posts)));
        let form = a.form().unwrap();
        assert!(form.note.as_deref().unwrap().contains("2 号窗口（A岗）、3 号窗口（B岗）"));
        type_text(&mut a, "3");
        a.update(press(KeyCode::Enter));
        let chosen = a.update(press(KeyCode::Enter));
        assert_eq!(chosen.commands, vec![AppCommand::WorkAt { window: 3, reason: "登录时选择".into() }]);
        // The backend answers with the clerk working at window 3; window 2's cases go.
        let guide =
            crate::assets::bundled_catalogue().unwrap().guides.into_iter().find(|g| g.code == "HB-QS-0004").unwrap();
        let opening = crate::domain::intake::Opening { window: 2, post: Post::A, staff_id: "s003", ticket: None };
        a.case_pane.list.push(crate::domain::intake::open_case(&guide, None, &opening, Uuid::nil(), a.now).unwrap());
        let mut at_3 = s003();
        at_3.posts.reverse();
        a.update(AppEvent::Backend(BackendEvent::SignedIn(at_3)));
        assert_eq!(a.window_post(), Some((3, Post::B)));
        assert!(a.case_pane.list.is_empty(), "window 2's cases are not shown at window 3");
        // Switching later needs a reason.
        let ctrl_p = KeyEvent::new(KeyCode::Char('p'), KeyModifiers::CONTROL);
        a.update(AppEvent::Key(ctrl_p));
        type_text(&mut a, "2");
        a.update(press(KeyCode::Enter));
        assert!(a.update(press(KeyCode::Enter)).commands.is_empty());
        assert_eq!(a.form().unwrap().error.as_deref(), Some("请填写切换窗口的原因"));
        type_text(&mut a, "顶替同事");
        let switched = a.update(press(KeyCode::Enter));
        assert_eq!(switched.commands, vec![AppCommand::WorkAt { window: 2, reason: "顶替同事".into() }]);
    }

    #[test]
    fn a_clerk_who_handed_over_cannot_call() {
        use crate::domain::handover::{AwayReason, DutyState};
        let mut a = signed_in_app();
        a.link = Link::Online;
        let seed = crate::assets::CenterSeed::bundled().unwrap();
        let staff = |id: &str| {
            let s = seed.staff.iter().find(|s| s.id == id).unwrap();
            crate::domain::staff::Staff { id: s.id.clone(), name: s.name.clone(), role: s.role, active: true }
        };
        let window = seed.windows[0].clone();
        let mut overview = WindowOverview {
            a_holder: staff(&window.a_holder),
            b_holder: staff(&window.b_holder),
            window,
            duty: DutyState::BCovering { reason: AwayReason::Meeting, expected_return: None },
            waiting: 1,
            current_ticket: None,
            open_cases: Vec::new(),
            visits_today: 0,
            catalogue_seq: 0,
            unacknowledged_handover: None,
            last_handovers: Vec::new(),
            case_conflicts: Vec::new(),
        };
        a.update(AppEvent::Backend(BackendEvent::Overview(Box::new(overview.clone()))));
        assert!(a.update(press(KeyCode::F(6))).commands.is_empty());
        let message = a.message.clone().unwrap_or_default();
        assert!(message.contains("不在岗") && message.contains("李强"), "{message}");
        overview.duty = DutyState::AOnDuty;
        a.update(AppEvent::Backend(BackendEvent::Overview(Box::new(overview))));
        assert_eq!(a.update(press(KeyCode::F(6))).commands, vec![AppCommand::Queue(QueueOp::CallNext)]);
    }

    #[test]
    fn unknown_keys_cost_nothing() {
        let mut a = app();
        assert_eq!(a.update(press(KeyCode::Char('x'))), Reaction::default());
    }
}
