//! Wire types shared by the client and the server: what crosses HTTP, and nothing else. The
//! server and the client both depend on this module; it depends only on `domain`.

pub mod accounts;
pub mod follow_up;
pub mod hall;
pub mod queue;
pub mod report;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Invalid;
use crate::domain::case::Case;
use crate::domain::center::{Center, Post, Window};
use crate::domain::guide::{Handling, ItemType, ServiceGuide};
use crate::domain::handover::{DutyState, Handover};
use crate::domain::staff::Staff;
use crate::domain::ticket::{QueueCategory, Ticket};

/// Version of this API. The major part changes only with incompatible changes; a client refuses
/// to talk to a server with another major version instead of retrying forever.
pub const API_VERSION: &str = "1.0";
pub const API_MAJOR: u32 = 1;
/// Response header carrying [`API_VERSION`] on every reply.
pub const VERSION_HEADER: &str = "bianmin-api-version";
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// The major version in a version header value such as `1.0`.
pub fn major_of(version: &str) -> Option<u32> {
    version.split('.').next()?.trim().parse().ok()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub api_version: String,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct SignIn {
    pub staff_id: String,
    pub password: String,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn").field("staff_id", &self.staff_id).finish_non_exhaustive()
    }
}

/// A window the signed-in staff member holds a post at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostAssignment {
    pub window: u32,
    pub post: Post,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct SessionGranted {
    /// Bearer token for `Authorization: Bearer ...`. The server keeps only its hash.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub me: Me,
}

impl std::fmt::Debug for SessionGranted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionGranted")
            .field("expires_at", &self.expires_at)
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub staff: Staff,
    /// Windows where this staff member holds the A or B post (A first, as the server sends
    /// it; a terminal puts the post it works for first, see [`Me::work_at`]).
    pub posts: Vec<PostAssignment>,
}

/// Which of a clerk's posts a terminal works for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostChoice {
    /// The post at this window.
    At(PostAssignment),
    /// Several posts and nothing to choose by: ask the clerk.
    Ask(Vec<PostAssignment>),
    /// No post at any window (the guidance desk, or an account without one).
    NoPost,
}

impl Me {
    /// A PC sits at one window (`terminal.window`): a clerk holding a post there works in it.
    /// Otherwise a clerk with one post works at it, and one with several (s003 holds A at one
    /// window and B at another) is asked. A configured window where the clerk holds no post is
    /// ignored: the clerk still works somewhere, and says where.
    pub fn choose_post(&self, configured_window: Option<u32>) -> PostChoice {
        if let Some(here) = configured_window.and_then(|w| self.posts.iter().find(|p| p.window == w)) {
            return PostChoice::At(here.clone());
        }
        match self.posts.as_slice() {
            [] => PostChoice::NoPost,
            [only] => PostChoice::At(only.clone()),
            several => PostChoice::Ask(several.to_vec()),
        }
    }

    /// Works at `window` from now on: its post goes first (the terminal works for the first
    /// post). False when the clerk holds no post there.
    pub fn work_at(&mut self, window: u32) -> bool {
        match self.posts.iter().position(|p| p.window == window) {
            Some(i) => {
                let post = self.posts.remove(i);
                self.posts.insert(0, post);
                true
            }
            None => false,
        }
    }
}

/// The center and how it is laid out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CenterInfo {
    pub center: Center,
    pub windows: Vec<Window>,
    pub categories: Vec<QueueCategory>,
    pub staff: Vec<Staff>,
}

/// Everything the window terminal shows about its window, in one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowOverview {
    pub window: Window,
    pub a_holder: Staff,
    pub b_holder: Staff,
    pub duty: DutyState,
    /// Tickets waiting in the categories this window calls from.
    pub waiting: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_ticket: Option<Ticket>,
    pub open_cases: Vec<Case>,
    /// Visits (来访登记) and paper tickets recorded at the window today (China time). Sent as
    /// `walk_ins_today`, its name before "walk-in" came to mean serving without a ticket.
    #[serde(rename = "walk_ins_today")]
    pub visits_today: u32,
    /// Latest catalogue change sequence, so the terminal knows whether its copy is current.
    pub catalogue_seq: i64,
    /// The newest handover the signed-in viewer still has to acknowledge (接收确认): the flag in
    /// the status bar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unacknowledged_handover: Option<Handover>,
    /// The window's newest handovers (at most [`OVERVIEW_HANDOVERS`]), newest first.
    #[serde(default)]
    pub last_handovers: Vec<Handover>,
    /// Changes to the window's cases that were kept as conflicts and no clerk here has marked
    /// seen yet, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub case_conflicts: Vec<CaseConflict>,
}

/// A case snapshot the server kept without applying it: another version came first, or the
/// case had moved to another window (see `domain::access::order_case_change`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseConflict {
    /// The record that was kept.
    pub record_id: uuid::Uuid,
    pub case_id: uuid::Uuid,
    pub window: u32,
    pub guide_name: String,
    pub reason: ConflictReason,
    /// The version the snapshot said it was, and the one the server held.
    pub version: u32,
    pub held_version: u32,
    /// Who wrote it (the record's author).
    pub author: String,
    pub received_at: DateTime<Utc>,
    /// What it said that the held version does not: the edits that did not apply.
    pub edits: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConflictReason {
    /// Another terminal's change to the same version came first.
    #[serde(rename = "stale")]
    Stale,
    /// The case had moved to another window (转办 or taken over).
    #[serde(rename = "moved")]
    Moved,
}

impl CaseConflict {
    /// What the clerk reads: which case, and which of their edits did not apply.
    pub fn message(&self) -> String {
        let why = match self.reason {
            ConflictReason::Stale => format!("另一终端已先修改（现为第{}版）", self.held_version),
            ConflictReason::Moved => "办件已转至其他窗口".to_owned(),
        };
        let edits = if self.edits.is_empty() { "无实质改动".to_owned() } else { self.edits.join("、") };
        format!("办件冲突：{}（第{}版）{why}，以下修改未生效：{edits}", self.guide_name, self.version)
    }
}

/// `POST /api/v1/cases/search`: a returning applicant's case, by one of these (in the body, never
/// in the URL, since they are personal data).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSearch {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notice_number: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub case_number: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id_number: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phone: String,
}

/// At most this many cases answer one search.
pub const MAX_FOUND_CASES: usize = 20;

/// A case found for a returning applicant, with the numbers of its one-time notices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundCase {
    pub case: Case,
    #[serde(default)]
    pub notices: Vec<String>,
}

/// Handovers the window overview carries; the whole history is `GET .../handovers`.
pub const OVERVIEW_HANDOVERS: usize = 5;

/// `PUT /api/v1/windows/{n}/holders` (admin): the window's A and B post holders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetHolders {
    pub a_holder: String,
    pub b_holder: String,
}

/// One line of the catalogue, for lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuideSummary {
    pub code: String,
    pub name: String,
    pub department: String,
    pub item_type: ItemType,
    pub handling: Handling,
    pub promised_limit_days: u32,
    pub revision: u32,
}

impl From<&ServiceGuide> for GuideSummary {
    fn from(g: &ServiceGuide) -> Self {
        Self {
            code: g.code.clone(),
            name: g.name.clone(),
            department: g.department.clone(),
            item_type: g.item_type,
            handling: g.handling,
            promised_limit_days: g.promised_limit_days,
            revision: g.revision,
        }
    }
}

/// Reply of `GET /api/v1/guides?since=SEQ`: the guides changed after `since`, and the sequence to
/// ask from next time. `since=0` is the whole catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuideChanges {
    pub seq: i64,
    pub guides: Vec<ServiceGuide>,
    /// Codes of guides the terminal no longer has (hidden at its center); absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
}

/// How many guides a terminal asks for per page of its catalogue sync (`limit`), and the most a
/// server hands out in one page whatever the terminal asks: a page of ~1000 generated guides is
/// about 2.4 MB of JSON (about a tenth of that gzipped), quick to build and to store in one local
/// transaction even on a slow PC.
pub const GUIDE_PAGE: u32 = 1000;
pub const MAX_GUIDE_PAGE: u32 = 5000;
/// A page also stops before its guides' JSON passes this many bytes (at least one guide is always
/// sent), so a catalogue of unusually long guides still comes in bounded pages.
pub const MAX_GUIDE_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// Reply of `GET /api/v1/guides?since=SEQ&limit=N`: the guides whose change sequence is above
/// `since`, in sequence order, at most `limit` of them; `seq` is the sequence of the last one
/// included, so a terminal that stored the page asks `since=seq` next, and `more` says whether
/// more follow. Without `limit` the page is the whole rest of the catalogue and `more` is false:
/// the same JSON as [`GuideChanges`] plus `more`, so a terminal that predates pages reads it as
/// before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuidePage {
    pub seq: i64,
    pub guides: Vec<ServiceGuide>,
    /// An older server sends no `more` (and ignores `limit`): its one page is all there is.
    #[serde(default)]
    pub more: bool,
    /// Codes of guides changed in this page's range that the terminal's center hides: the
    /// terminal drops them. Absent when none, so a center without overlays gets the page as
    /// before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
}

impl GuidePage {
    /// The page as the catalogue delta the local store applies.
    pub fn into_changes(self) -> (GuideChanges, bool) {
        (GuideChanges { seq: self.seq, guides: self.guides, removed: self.removed }, self.more)
    }

    /// The page as a center with these overlays sees it ([`crate::domain::overlay`]): its
    /// hidden guides moved to `removed`, the others with its aliases, window and phones. The
    /// sequence and `more` stay: they describe the county catalogue's range.
    pub fn overlaid(self, overlays: &std::collections::HashMap<String, crate::domain::overlay::GuideOverlay>) -> Self {
        if overlays.is_empty() {
            return self;
        }
        let mut guides = Vec::with_capacity(self.guides.len());
        let mut removed = self.removed;
        for guide in self.guides {
            match overlays.get(&guide.code) {
                None => guides.push(guide),
                Some(overlay) => match overlay.apply(&guide) {
                    Some(shown) => guides.push(shown),
                    None => removed.push(guide.code),
                },
            }
        }
        Self { guides, removed, ..self }
    }
}

/// Body of every error reply (RFC 9457 problem details), with a stable machine `code` and a
/// Chinese `title` the terminal can show as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Invalid>,
}

/// The record schema this build writes. 1: kinds and states as Chinese labels, no `schema`
/// field (terminals before the field existed). 2: stable ASCII codes for every kind and state in
/// the body (see docs/record-format.md); the Chinese labels are for display only.
pub const RECORD_SCHEMA: u32 = 2;

fn record_schema_1() -> u32 {
    1
}

/// One record of a device's log as it crosses the wire. The body stays JSON here: a server keeps
/// records of kinds it does not know yet (from newer terminals) instead of refusing them.
///
/// A record is identified by its place `(device, stream, idx)` and its `id`, never by its bytes:
/// the same record may be stored in one schema and re-sent in another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordEnvelope {
    /// The schema of the body; absent (1) in records of terminals older than the field.
    #[serde(default = "record_schema_1")]
    pub schema: u32,
    pub device: uuid::Uuid,
    pub stream: String,
    /// Position in the device's stream, from 1, without gaps.
    pub idx: u64,
    /// UUIDv7, made when the record was written at the window.
    pub id: uuid::Uuid,
    pub created_at: DateTime<Utc>,
    /// Staff id of the clerk who made it.
    pub author: String,
    pub window: u32,
    /// The post the author held; `B` marks the record as B岗代办.
    pub post: Post,
    pub body: serde_json::Value,
}

impl RecordEnvelope {
    /// Rewrites a schema-1 body in the current schema: its Chinese state values become the ASCII
    /// codes. Only bodies this build can read are touched, and only schema 1, whose fields this
    /// build knows in full (re-encoding a newer body would drop fields it does not know). Returns
    /// whether anything changed.
    pub fn upgrade(&mut self) -> bool {
        if self.schema >= RECORD_SCHEMA {
            return false;
        }
        let Ok(body) = serde_json::from_value::<crate::domain::record::RecordBody>(self.body.clone()) else {
            return false;
        };
        let Ok(body) = serde_json::to_value(&body) else {
            return false;
        };
        self.body = body;
        self.schema = RECORD_SCHEMA;
        true
    }
}

/// How far one (device, stream) log is complete: every idx from 1 to `last` is present.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StreamStatus {
    pub device: uuid::Uuid,
    pub stream: String,
    pub last: u64,
}

/// `POST /api/v1/records`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadBatch {
    pub records: Vec<RecordEnvelope>,
}

/// The most records one upload may carry.
pub const MAX_UPLOAD_RECORDS: usize = 200;
/// The most records one download returns.
pub const MAX_DOWNLOAD_RECORDS: usize = 500;

/// Reply to an upload: the status of every (device, stream) the batch touched, after storing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadReply {
    pub streams: Vec<StreamStatus>,
    /// Case snapshots of this upload that were kept as conflicts, not applied (a replay says so
    /// again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<CaseConflict>,
    /// Ratings of this upload that the server did not count (the ticket has its rating already,
    /// or was not served at the window): kept in the log, so the device's outbox moves on, and
    /// named here with the reason (a replay says so again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<RefusedRecord>,
}

/// A record kept in the log whose content the server refused to count, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedRecord {
    pub record_id: uuid::Uuid,
    /// `already_rated`, `validation_failed`, ...
    pub code: String,
    /// The reason, in Chinese, for the person at the device.
    pub message: String,
}

/// `GET /api/v1/sync/status?window=N&device=D`: the logs of window N, and every log of device D.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    pub streams: Vec<StreamStatus>,
}

/// `GET /api/v1/calendar`: the working-day calendar and its change sequence. The ETag is
/// `"cal-SEQ"`; a terminal whose copy is current gets a 304.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarReply {
    pub seq: i64,
    pub calendar: crate::domain::calendar::WorkCalendar,
}

impl CalendarReply {
    pub fn etag(seq: i64) -> String {
        format!("\"cal-{seq}\"")
    }
}

/// `GET /api/v1/lexicon`: the guidance desk's colloquial lexicon and its change sequence. The
/// ETag is `"lex-SEQ"`; a terminal whose copy is current gets a 304.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LexiconReply {
    pub seq: i64,
    pub lexicon: crate::domain::lexicon::Lexicon,
}

impl LexiconReply {
    pub fn etag(seq: i64) -> String {
        format!("\"lex-{seq}\"")
    }
}

/// Paths of the API, in one place so client and server cannot drift apart.
pub mod paths {
    pub const HEALTH: &str = "/healthz";
    pub const SESSION: &str = "/api/v1/session";
    pub const ME: &str = "/api/v1/me";
    pub const CENTER: &str = "/api/v1/center";
    pub const GUIDES: &str = "/api/v1/guides";
    pub const RECORDS: &str = "/api/v1/records";
    pub const SYNC_STATUS: &str = "/api/v1/sync/status";
    pub const CALENDAR: &str = "/api/v1/calendar";
    pub const LEXICON: &str = "/api/v1/lexicon";
    /// Today's public evaluation summary (好差评, clause 8.2.1.4).
    pub const RATINGS_TODAY: &str = "/api/v1/ratings/today";
    /// 差评整改: `GET` the follow-ups the caller may see.
    pub const FOLLOW_UPS: &str = "/api/v1/follow-ups";
    /// `POST` a step to the follow-up of the rating in the path.
    pub const FOLLOW_UP_STEPS: &str = "/api/v1/follow-ups/{rating_id}/steps";

    /// The director's board: the center now (`GET`).
    pub const BOARD: &str = "/api/v1/board";
    /// The supervision report of a period as text, CSV or HTML (`GET`, see
    /// [`crate::api::report::ReportQuery`]).
    pub const REPORT: &str = "/api/v1/report";
    /// A clerk's terminal at the window in the path says it is there (`POST`, no body).
    pub const PRESENCE: &str = "/api/v1/windows/{number}/presence";

    pub fn presence(window: u32) -> String {
        format!("/api/v1/windows/{window}/presence")
    }

    pub fn follow_up_steps(rating_id: uuid::Uuid) -> String {
        format!("{FOLLOW_UPS}/{rating_id}/steps")
    }

    pub fn guide(code: &str) -> String {
        format!("{GUIDES}/{code}")
    }

    pub const CASE_SEARCH: &str = "/api/v1/cases/search";

    pub fn case_conflict_seen(window: u32, record: uuid::Uuid) -> String {
        format!("/api/v1/windows/{window}/case-conflicts/{record}/seen")
    }

    pub fn window_overview(window: u32) -> String {
        format!("/api/v1/windows/{window}/overview")
    }

    /// `PUT`: set the window's duty (a `DutyState`).
    pub fn window_duty(window: u32) -> String {
        format!("/api/v1/windows/{window}/duty")
    }

    /// `GET`: the window's handover history, newest first.
    pub fn window_handovers(window: u32) -> String {
        format!("/api/v1/windows/{window}/handovers")
    }

    /// `PUT` (admin): the window's A and B holders.
    pub fn window_holders(window: u32) -> String {
        format!("/api/v1/windows/{window}/holders")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_version_parsing() {
        assert_eq!(major_of("1.0"), Some(1));
        assert_eq!(major_of("2"), Some(2));
        assert_eq!(major_of("x.1"), None);
    }

    #[test]
    fn sign_in_debug_hides_the_password() {
        let s = SignIn { staff_id: "s001".into(), password: "hunter2".into() };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}

#[cfg(test)]
mod post_tests {
    use super::*;
    use crate::domain::staff::{Role, Staff};

    fn me(posts: &[(u32, Post)]) -> Me {
        Me {
            staff: Staff { id: "s003".into(), name: "张敏".into(), role: Role::WindowClerk, active: true },
            posts: posts.iter().map(|&(window, post)| PostAssignment { window, post }).collect(),
        }
    }

    #[test]
    fn the_configured_window_decides_and_several_posts_without_it_ask() {
        let s003 = me(&[(2, Post::A), (3, Post::B)]);
        assert_eq!(s003.choose_post(Some(3)), PostChoice::At(PostAssignment { window: 3, post: Post::B }));
        assert_eq!(s003.choose_post(Some(2)), PostChoice::At(PostAssignment { window: 2, post: Post::A }));
        assert!(matches!(s003.choose_post(None), PostChoice::Ask(options) if options.len() == 2));
        assert!(matches!(s003.choose_post(Some(5)), PostChoice::Ask(_)), "no post at 5: ask, do not guess");
        let s001 = me(&[(1, Post::A)]);
        assert_eq!(s001.choose_post(None), PostChoice::At(PostAssignment { window: 1, post: Post::A }));
        assert_eq!(me(&[]).choose_post(Some(1)), PostChoice::NoPost);
        let mut moved = s003.clone();
        assert!(moved.work_at(3));
        assert_eq!(moved.posts[0], PostAssignment { window: 3, post: Post::B });
        assert!(!moved.work_at(9));
    }
}
