//! The terminal's state and how events change it. Pure: no I/O, no clock reads. Side effects are
//! returned as [`Command`]s for the event loop to hand to the backend task.

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::api::{CenterInfo, GuideSummary, Me, WindowOverview};
use crate::domain::center::Post;

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
    /// The server cannot be reached; the reason is for the status line.
    Offline(String),
}

/// What the backend task reports.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendEvent {
    Progress(String),
    SignedIn(Me),
    Center(Box<CenterInfo>),
    Overview(Box<WindowOverview>),
    Guides(Vec<GuideSummary>),
    /// A request failed. `offline`: the server was unreachable, as opposed to refusing.
    Failed {
        message: String,
        offline: bool,
    },
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Refresh,
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
        let before = (self.link.clone(), self.overview.clone(), self.message.clone());
        match event {
            BackendEvent::Progress(text) => self.link = Link::Connecting(text),
            BackendEvent::SignedIn(me) => {
                self.me = Some(me);
                self.link = Link::Online;
            }
            BackendEvent::Center(center) => {
                self.center = Some(*center);
                self.link = Link::Online;
                return Outcome::redraw();
            }
            BackendEvent::Overview(overview) => {
                self.overview = Some(*overview);
                self.link = Link::Online;
                if matches!(self.message.as_deref(), Some(m) if m.starts_with("离线")) {
                    self.message = None;
                }
            }
            BackendEvent::Guides(guides) => {
                self.guides = guides;
                self.guide_selected = self.guide_selected.min(self.guides.len().saturating_sub(1));
                self.link = Link::Online;
                return Outcome::redraw();
            }
            BackendEvent::Failed { message, offline } => {
                if offline {
                    // Quiet while offline: the status bar says so; no dialog.
                    self.link = Link::Offline(message);
                } else {
                    self.message = Some(message);
                }
            }
        }
        let after = (self.link.clone(), self.overview.clone(), self.message.clone());
        Outcome { redraw: before != after, commands: Vec::new() }
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
    ("Ctrl+R", "立即刷新"),
    ("q / Ctrl+C", "退出"),
];

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
        let failed = BackendEvent::Failed { message: "无法连接服务器".into(), offline: true };
        assert!(a.update(AppEvent::Backend(failed.clone())).redraw);
        assert!(!a.update(AppEvent::Backend(failed)).redraw, "same state, no frame");
    }

    #[test]
    fn unknown_keys_cost_nothing() {
        let mut a = app();
        assert_eq!(a.update(press(KeyCode::Char('x'))), Outcome::default());
    }
}
