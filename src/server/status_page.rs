//! The ticket's public status page (clause 7.1.1 排队状态提醒): `GET /q/{day}/{number}?t=TOKEN`
//! (day as `20260302`),
//! opened from the QR code on the kiosk's slip on the hall's Wi-Fi. A small HTML page with no
//! applicant data at all (the number, its place in line, the estimated wait, the window once
//! called), no JavaScript, refreshing itself. The token is random per ticket and only printed on
//! the slip; a wrong or missing one gets the same bare 404 as a path that does not exist, and
//! requests are limited per client address.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use maud::{DOCTYPE, Markup, html};

use super::AppState;
use super::problem::ApiError;
use super::throttle::ClientAddress;
use crate::domain::queue_stats::minutes_label;
use crate::domain::ticket::{Ticket, TicketNumber, TicketStatus};

/// Requests one client address may make in [`LIMIT_WINDOW_SECS`]: a phone refreshing every
/// [`REFRESH_SECS`] makes 3 a minute; guessing a token at this rate is hopeless.
pub const MAX_REQUESTS: u32 = 60;
pub const LIMIT_WINDOW_SECS: i64 = 60;
/// How often the page reloads itself.
pub const REFRESH_SECS: u32 = 20;
/// Decimal digits of a token: about 66 bits (at [`MAX_REQUESTS`] a minute, guessing one is out of
/// reach), and digits keep the slip's QR code small (numeric mode): with a LAN address the whole
/// URL fits a version-3 code, 29 modules, on a 32-column slip.
const TOKEN_DIGITS: usize = 20;

/// A fresh status-page token: [`TOKEN_DIGITS`] decimal digits from the operating system's RNG.
pub fn new_token() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut token = String::with_capacity(TOKEN_DIGITS);
    while token.len() < TOKEN_DIGITS {
        // Rejection sampling keeps every digit uniform.
        let byte = (OsRng.next_u32() & 0xff) as u8;
        if byte < 250 {
            token.push(char::from(b'0' + byte % 10));
        }
    }
    token
}

/// Requests per key (a client address, an account) in the current fixed window (in memory: a
/// restart only forgives).
pub struct Limiter {
    max: u32,
    window_secs: i64,
    seen: Mutex<HashMap<String, (i64, u32)>>,
}

impl Default for Limiter {
    /// The status page's limit: [`MAX_REQUESTS`] per [`LIMIT_WINDOW_SECS`] per address.
    fn default() -> Self {
        Self::new(MAX_REQUESTS, LIMIT_WINDOW_SECS)
    }
}

impl Limiter {
    /// At most `max` requests per key in each window of `window_secs`.
    pub fn new(max: u32, window_secs: i64) -> Self {
        Self { max, window_secs, seen: Mutex::default() }
    }

    /// Counts a request from `key` at `now` (Unix seconds); false when it is over the limit.
    pub fn admit(&self, key: &str, now: i64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Forget keys whose window is over, so the map stays small.
        if seen.len() > 10_000 {
            seen.retain(|_, (start, _)| now - *start < self.window_secs);
        }
        let entry = seen.entry(key.to_owned()).or_insert((now, 0));
        if now - entry.0 >= self.window_secs {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.max
    }
}

/// The same reply as for a path that does not exist: nothing tells a wrong token from a ticket
/// that is not there.
fn not_found() -> ApiError {
    ApiError::not_found("没有这个接口")
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `GET /q/{day}/{number}?t=TOKEN`.
pub(super) async fn page(
    State(state): State<AppState>,
    addr: ClientAddress,
    Path((day, number)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    if !state.status_limits.admit(&addr.0, state.clock.now().timestamp()) {
        tracing::warn!(addr = %addr.0, "status page: too many requests");
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", "请求过于频繁，请稍后再试"));
    }
    let (Ok(day), Ok(number)) =
        (NaiveDate::parse_from_str(&day, crate::domain::hall::STATUS_DAY_FORMAT), number.parse::<TicketNumber>())
    else {
        return Err(not_found());
    };
    let Some(given) = query.get("t") else { return Err(not_found()) };
    // The URL names no center (the slips printed so far stay valid): the ticket is the one of
    // that day and number whose random token matches, in whichever center holds it.
    let mut found = None;
    for center in state.store.centers().await? {
        let bound = state.for_center(&center.id);
        if let Some((ticket, token)) = bound.store.ticket_with_status_token(day, number).await?
            && same(given, &token)
        {
            found = Some((bound, ticket));
            break;
        }
    }
    let Some((state, ticket)) = found else { return Err(not_found()) };
    let place = match ticket.status {
        TicketStatus::Waiting => Some(super::hall_routes::place_in_line(&state, &ticket).await?),
        _ => None,
    };
    let view = StatusView::of(&ticket, place.as_ref().map(|p| (p.ahead, p.estimated_wait_s)));
    let mut response = axum::response::Html(render(&view).into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    Ok(response)
}

/// What the page says: the number, a headline and details. Nothing about the applicant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusView {
    pub number: String,
    pub headline: String,
    pub details: Vec<String>,
}

impl StatusView {
    /// `place`: people ahead and the estimated wait, for a waiting ticket.
    pub fn of(ticket: &Ticket, place: Option<(u32, Option<u32>)>) -> Self {
        let window = ticket.window.map_or_else(|| "窗口".to_owned(), |w| format!("{w} 号窗口"));
        let (headline, details) = match ticket.status {
            TicketStatus::Waiting => {
                let (ahead, wait) = place.unwrap_or((0, None));
                let wait = match wait {
                    Some(0) => "马上".to_owned(),
                    Some(s) => format!("约 {}", minutes_label(s)),
                    None => "请留意叫号".to_owned(),
                };
                ("等候中".to_owned(), vec![format!("前面还有 {ahead} 人"), format!("预计等候：{wait}")])
            }
            TicketStatus::Called => (format!("请到 {window}"), vec!["已叫到您的号，请尽快前往".to_owned()]),
            TicketStatus::Serving => (format!("正在 {window} 办理"), vec![]),
            TicketStatus::Parked => ("暂停办理".to_owned(), vec!["请留意叫号，窗口会再次叫您".to_owned()]),
            TicketStatus::NoShow => ("已过号".to_owned(), vec!["请到咨询导办台重新排队".to_owned()]),
            TicketStatus::Done => ("已办结".to_owned(), vec!["感谢您的耐心".to_owned()]),
            TicketStatus::Booked => ("已预约".to_owned(), vec!["请到取号机或导办台签到".to_owned()]),
            TicketStatus::Expired => ("已作废".to_owned(), vec![]),
        };
        Self { number: ticket.number.to_string(), headline, details }
    }
}

/// The page: plain HTML, one inline style, a meta refresh, no script.
pub fn render(view: &StatusView) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="refresh" content=(REFRESH_SECS);
                meta name="robots" content="noindex";
                title { "排队进度 " (view.number) }
                style { "body{font-family:sans-serif;text-align:center;margin:2em 1em}.n{font-size:3.5em;font-weight:bold}.h{font-size:2em;margin:.5em 0}p{font-size:1.2em}small{color:#666}" }
            }
            body {
                div class="n" { (view.number) }
                div class="h" { (view.headline) }
                @for line in &view.details {
                    p { (line) }
                }
                small { "本页每 " (REFRESH_SECS) " 秒自动刷新" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_20_random_digits() {
        let a = new_token();
        assert_eq!(a.len(), TOKEN_DIGITS);
        assert!(a.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(a, new_token());
    }

    #[test]
    fn the_limit_counts_per_address_and_forgives_after_its_window() {
        let limits = Limiter::default();
        for _ in 0..MAX_REQUESTS {
            assert!(limits.admit("10.0.0.2", 100));
        }
        assert!(!limits.admit("10.0.0.2", 100));
        assert!(limits.admit("10.0.0.3", 100), "another address is not affected");
        assert!(limits.admit("10.0.0.2", 100 + LIMIT_WINDOW_SECS));
    }

    #[test]
    fn comparing_tokens() {
        assert!(same("123", "123"));
        assert!(!same("123", "124"));
        assert!(!same("123", "1234"));
    }
}
