//! The terminal's state and how events change it. Pure: no I/O, no clock reads. Side effects are
//! returned as [`Command`]s for the event loop to hand to the backend task.

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use ratatui_textarea::TextArea;

use crate::api::{CenterInfo, GuideSummary, Me, WindowOverview};
use crate::domain::calendar::WorkCalendar;
use crate::domain::center::Post;
use crate::domain::record::WalkIn;

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

/// What the backend task reports. Data events never change [`Link`]: the backend says where it
/// stands with the server explicitly, so cached data shown at start-up does not look live.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendEvent {
    Link(Link),
    /// Records in the outbox.
    Pending(usize),
    SignedIn(Me),
    Center(Box<CenterInfo>),
    Overview(Box<WindowOverview>),
    Guides(Vec<GuideSummary>),
    /// The working-day calendar, for deadlines.
    Calendar(Box<WorkCalendar>),
    /// Something the clerk should read: an error, or a confirmation.
    Message(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum AppEvent {
    Key(KeyEvent),
    Resize,
    /// The wall clock reached a new minute.
    Clock(DateTime<Utc>),
    Backend(BackendEvent),
}

/// Work for the backend task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Refresh,
    /// Commit a walk-in to the device log, then upload it when the server can be reached.
    RecordWalkIn(WalkIn),
}

/// The 来访登记 form: a walk-in, or a paper ticket handed out while the queue server was away.
#[derive(Debug, Clone)]
pub struct WalkInForm {
    pub paper_ticket: TextArea<'static>,
    pub note: TextArea<'static>,
    /// Which field has the caret: false the paper ticket, true the note.
    pub on_note: bool,
    pub error: Option<String>,
}

impl WalkInForm {
    fn new() -> Self {
        let mut paper_ticket = TextArea::default();
        paper_ticket.set_placeholder_text("如 A023，无则留空");
        let mut note = TextArea::default();
        note.set_placeholder_text("办理事项，如 咨询低保");
        Self { paper_ticket, note, on_note: false, error: None }
    }

    pub fn focused_mut(&mut self) -> &mut TextArea<'static> {
        if self.on_note { &mut self.note } else { &mut self.paper_ticket }
    }
}

/// What handling an event asks of the loop.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub redraw: bool,
    pub commands: Vec<Command>,
}

impl Outcome {
    fn redraw() -> Self {
        Self { redraw: true, commands: Vec::new() }
    }
}

#[derive(Debug, Clone)]
pub struct App {
    pub focus: Pane,
    pub help_open: bool,
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
    pub guides: Vec<GuideSummary>,
    pub guide_selected: usize,
    /// The last message for the clerk, shown above the key hints.
    pub message: Option<String>,
    pub calendar: Option<WorkCalendar>,
    /// An open form; it takes every key until closed.
    pub walk_in: Option<WalkInForm>,
}

impl App {
    pub fn new(now: DateTime<Utc>, server_label: Option<String>) -> Self {
        Self {
            focus: Pane::Queue,
            help_open: false,
            should_quit: false,
            link: Link::Connecting("正在启动".into()),
            pending_uploads: 0,
            now,
            server_label,
            me: None,
            center: None,
            overview: None,
            guides: Vec::new(),
            guide_selected: 0,
            message: None,
            walk_in: None,
            calendar: None,
        }
    }

    /// The window this terminal works for and the post the signed-in clerk holds there.
    pub fn window_post(&self) -> Option<(u32, Post)> {
        self.me.as_ref()?.posts.first().map(|p| (p.window, p.post))
    }

    pub fn update(&mut self, event: AppEvent) -> Outcome {
        match event {
            AppEvent::Key(key) => self.on_key(key),
            AppEvent::Resize => Outcome::redraw(),
            AppEvent::Clock(now) => {
                self.now = now;
                Outcome::redraw()
            }
            AppEvent::Backend(event) => self.on_backend(event),
        }
    }

    fn on_backend(&mut self, event: BackendEvent) -> Outcome {
        // Replies that change nothing visible cost no redraw: the periodic refresh mostly
        // brings back what is already on screen.
        let changed = match event {
            BackendEvent::Link(link) => replace(&mut self.link, link),
            BackendEvent::Pending(n) => replace(&mut self.pending_uploads, n),
            BackendEvent::SignedIn(me) => replace(&mut self.me, Some(me)),
            BackendEvent::Center(center) => replace(&mut self.center, Some(*center)),
            BackendEvent::Overview(overview) => replace(&mut self.overview, Some(*overview)),
            BackendEvent::Guides(guides) => {
                let changed = replace(&mut self.guides, guides);
                self.guide_selected = self.guide_selected.min(self.guides.len().saturating_sub(1));
                changed
            }
            BackendEvent::Message(text) => replace(&mut self.message, Some(text)),
            // Nothing on screen shows the calendar itself; deadlines computed from it do.
            BackendEvent::Calendar(calendar) => {
                self.calendar = Some(*calendar);
                false
            }
        };
        Outcome { redraw: changed, commands: Vec::new() }
    }

    fn on_key(&mut self, key: KeyEvent) -> Outcome {
        // Windows reports releases and repeats as well; act on presses only.
        if key.kind != KeyEventKind::Press {
            return Outcome::default();
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('C')) {
            self.should_quit = true;
            return Outcome::redraw();
        }
        if self.walk_in.is_some() {
            return self.on_walk_in_key(key);
        }
        if self.help_open {
            if matches!(
                key.code,
                KeyCode::Esc | KeyCode::F(1) | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter
            ) {
                self.help_open = false;
                return Outcome::redraw();
            }
            return Outcome::default();
        }
        match key.code {
            KeyCode::Char('q') => self.should_quit = true,
            KeyCode::Char('w') if self.window_post().is_some() => self.walk_in = Some(WalkInForm::new()),
            KeyCode::Char('?') | KeyCode::F(1) => self.help_open = true,
            KeyCode::Tab => self.focus = self.focus.step(1),
            KeyCode::BackTab => self.focus = self.focus.step(-1),
            KeyCode::F(n) if let Some(p) = Pane::ALL.iter().find(|p| p.key() == n) => self.focus = *p,
            KeyCode::Char('r') if ctrl => {
                return Outcome { redraw: true, commands: vec![Command::Refresh] };
            }
            KeyCode::Up | KeyCode::Down | KeyCode::PageUp | KeyCode::PageDown | KeyCode::Home | KeyCode::End
                if self.focus == Pane::Guides =>
            {
                return self.move_guide_selection(key.code);
            }
            _ => return Outcome::default(),
        }
        Outcome::redraw()
    }

    fn on_walk_in_key(&mut self, key: KeyEvent) -> Outcome {
        let Some(form) = self.walk_in.as_mut() else { return Outcome::default() };
        match key.code {
            KeyCode::Esc => self.walk_in = None,
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down => form.on_note = !form.on_note,
            KeyCode::Enter if !form.on_note => form.on_note = true,
            KeyCode::Enter => {
                let ticket = form.paper_ticket.lines().join("");
                let note = form.note.lines().join("");
                match WalkIn::new(&ticket, &note) {
                    Ok(walk_in) => {
                        self.walk_in = None;
                        self.message = Some("来访登记已保存".into());
                        return Outcome { redraw: true, commands: vec![Command::RecordWalkIn(walk_in)] };
                    }
                    Err(invalid) => form.error = Some(invalid.message),
                }
            }
            _ => {
                form.error = None;
                form.focused_mut().input(key);
            }
        }
        Outcome::redraw()
    }

    fn move_guide_selection(&mut self, code: KeyCode) -> Outcome {
        let last = self.guides.len().saturating_sub(1);
        let before = self.guide_selected;
        self.guide_selected = match code {
            KeyCode::Up => before.saturating_sub(1),
            KeyCode::Down => (before + 1).min(last),
            KeyCode::PageUp => before.saturating_sub(10),
            KeyCode::PageDown => (before + 10).min(last),
            KeyCode::Home => 0,
            _ => last,
        };
        Outcome { redraw: before != self.guide_selected, commands: Vec::new() }
    }
}

/// Every key binding, for the help overlay and the footer.
pub const KEY_HELP: &[(&str, &str)] = &[
    ("F1 / ?", "显示或关闭帮助"),
    ("Tab / Shift+Tab", "切换面板"),
    ("F2", "当前叫号"),
    ("F3", "一次性告知"),
    ("F4", "办事指南"),
    ("F5", "AB岗交接"),
    ("上下方向键 PgUp PgDn", "在列表中移动"),
    ("w", "来访登记（纸质号，离线可用）"),
    ("Ctrl+R", "立即刷新"),
    ("q / Ctrl+C", "退出"),
];

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

    fn press(code: KeyCode) -> AppEvent {
        AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn app() -> App {
        App::new(DateTime::UNIX_EPOCH, None)
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

    #[test]
    fn key_releases_are_ignored() {
        let mut a = app();
        let release = KeyEvent { kind: KeyEventKind::Release, ..KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE) };
        assert_eq!(a.update(AppEvent::Key(release)), Outcome::default());
        assert!(!a.should_quit);
    }

    #[test]
    fn help_swallows_keys_until_closed() {
        let mut a = app();
        a.update(press(KeyCode::F(1)));
        assert!(a.help_open);
        a.update(press(KeyCode::Tab));
        assert_eq!(a.focus, Pane::Queue, "keys do not reach the panes behind the overlay");
        a.update(press(KeyCode::Esc));
        assert!(!a.help_open);
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
    fn walk_in_form_takes_every_key_and_submits_a_command() {
        let mut a = signed_in_app();
        a.update(press(KeyCode::Char('w')));
        assert!(a.walk_in.is_some());
        type_text(&mut a, "qA023");
        assert!(!a.should_quit, "q is text inside the form");
        a.update(press(KeyCode::Enter));
        type_text(&mut a, "咨询低保");
        let outcome = a.update(press(KeyCode::Enter));
        let expected = WalkIn::new("qA023", "咨询低保").unwrap();
        assert_eq!(outcome.commands, vec![Command::RecordWalkIn(expected)]);
        assert!(a.walk_in.is_none());
    }

    #[test]
    fn an_empty_walk_in_is_refused_in_place() {
        let mut a = signed_in_app();
        a.update(press(KeyCode::Char('w')));
        a.update(press(KeyCode::Enter));
        let outcome = a.update(press(KeyCode::Enter));
        assert!(outcome.commands.is_empty());
        assert_eq!(a.walk_in.as_ref().unwrap().error.as_deref(), Some("请填写纸质号或办理事项"));
        a.update(press(KeyCode::Esc));
        assert!(a.walk_in.is_none());
    }

    #[test]
    fn walk_in_needs_a_window() {
        let mut a = app();
        a.update(press(KeyCode::Char('w')));
        assert!(a.walk_in.is_none(), "not signed in at a window: nothing to record against");
    }

    #[test]
    fn unknown_keys_cost_nothing() {
        let mut a = app();
        assert_eq!(a.update(press(KeyCode::Char('x'))), Outcome::default());
    }
}
