//! Who may call which route: one table, checked centrally for every request before its handler
//! runs. Handlers keep their finer checks (the window of each uploaded record, a log's window).
//!
//! A route that is in the router but not in [`TABLE`] is refused (fail closed), and
//! `tests/access.rs` compares the table with the router's routes, so a new route without a rule
//! fails the tests.

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, request::Parts};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::auth::SignedIn;
use super::problem::ApiError;
use crate::domain::staff::Role;

/// Where a route names its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowFrom {
    /// A path parameter, e.g. `number` in `/api/v1/windows/{number}/overview`.
    Path(&'static str),
    /// A query parameter, e.g. `window` in `/api/v1/sync/status?window=1`.
    Query(&'static str),
    /// The window of a log stream named in the query, e.g. `stream=w1/cases`.
    Stream,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// No sign-in: the health check and sign-in itself.
    Public,
    /// Any signed-in staff member, whatever the role.
    Staff,
    /// Signed in with one of these roles.
    Roles(&'static [Role]),
    /// A window clerk holding the A or B post of the window the request names, or an admin. The
    /// guidance desk never: this is where case contents and applicants' data are.
    WindowHolder(WindowFrom),
    /// 管理员 only.
    Admin,
}

/// The roles that issue tickets and check in appointments: the guidance desk, window clerks,
/// admins (clause 4.2.2).
pub const ISSUERS: &[Role] = &[Role::GuidanceDesk, Role::WindowClerk, Role::Admin];
/// The roles that work at windows. The handler checks the window of what is sent or asked for.
pub const WINDOW_STAFF: &[Role] = &[Role::WindowClerk, Role::Admin];
/// The roles that keep a device log: window clerks, and the guidance desk for its inquiries on
/// window 0 (`DESK_WINDOW`). The handler checks each record's window.
pub const LOG_WRITERS: &[Role] = &[Role::WindowClerk, Role::GuidanceDesk, Role::Admin];

const WINDOW: Rule = Rule::WindowHolder(WindowFrom::Path("number"));

/// One route and its rule. `method` is upper case; HEAD goes with GET.
#[derive(Debug, Clone, Copy)]
pub struct Access {
    pub method: &'static str,
    pub path: &'static str,
    pub rule: Rule,
}

const fn at(method: &'static str, path: &'static str, rule: Rule) -> Access {
    Access { method, path, rule }
}

/// Every route of the server and who may call it.
pub static TABLE: &[Access] = &[
    at("GET", "/healthz", Rule::Public),
    at("POST", "/api/v1/session", Rule::Public),
    at("DELETE", "/api/v1/session", Rule::Staff),
    at("GET", "/api/v1/me", Rule::Staff),
    // The center, its windows, categories and staff names: no applicant data.
    at("GET", "/api/v1/center", Rule::Staff),
    at("GET", "/api/v1/guides", Rule::Staff),
    at("GET", "/api/v1/guides/{code}", Rule::Staff),
    at("GET", "/api/v1/calendar", Rule::Staff),
    // The desk's colloquial lexicon: words, no applicant data.
    at("GET", "/api/v1/lexicon", Rule::Staff),
    at("PUT", "/api/v1/calendar/years/{year}", Rule::Admin),
    // Open cases with applicants.
    at("GET", "/api/v1/windows/{number}/overview", WINDOW),
    // Records carry cases; the handler checks the window of every record sent or log read.
    at("POST", "/api/v1/records", Rule::Roles(LOG_WRITERS)),
    at("GET", "/api/v1/records", Rule::WindowHolder(WindowFrom::Stream)),
    at("GET", "/api/v1/sync/status", Rule::WindowHolder(WindowFrom::Query("window"))),
    // The queue as the hall display shows it: numbers, categories, guide codes, short notes
    // without personal data.
    at("GET", "/api/v1/queue", Rule::Staff),
    at("GET", "/api/v1/queue/events", Rule::Staff),
    at("GET", "/api/v1/queue/stats", Rule::Staff),
    at("POST", "/api/v1/queue/tickets", Rule::Roles(ISSUERS)),
    at("POST", "/api/v1/queue/tickets/{number}/check-in", Rule::Roles(ISSUERS)),
    at("POST", "/api/v1/queue/tickets/{number}/return", Rule::Roles(ISSUERS)),
    at("POST", "/api/v1/windows/{number}/call-next", WINDOW),
    at("POST", "/api/v1/windows/{number}/call", WINDOW),
    at("POST", "/api/v1/windows/{number}/recall", WINDOW),
    at("POST", "/api/v1/windows/{number}/no-show", WINDOW),
    at("POST", "/api/v1/windows/{number}/start", WINDOW),
    at("POST", "/api/v1/windows/{number}/finish", WINDOW),
    at("POST", "/api/v1/windows/{number}/transfer", WINDOW),
    at("POST", "/api/v1/windows/{number}/park", WINDOW),
    at("POST", "/api/v1/windows/{number}/call-back", WINDOW),
    at("POST", "/api/v1/windows/{number}/walk-in", WINDOW),
    at("POST", "/api/v1/windows/{number}/pause", WINDOW),
    at("POST", "/api/v1/windows/{number}/resume", WINDOW),
    // A/B posts: duty and handovers of the window; the roster is the admin's.
    at("PUT", "/api/v1/windows/{number}/duty", WINDOW),
    at("GET", "/api/v1/windows/{number}/handovers", WINDOW),
    at("PUT", "/api/v1/windows/{number}/holders", Rule::Admin),
    // Accounts.
    at("DELETE", "/api/v1/sessions/{staff_id}", Rule::Admin),
    at("GET", "/api/v1/audit", Rule::Admin),
];

/// What the table says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Rule(Rule),
    /// The path is in the table with other methods only.
    OtherMethod,
    /// The path is not in the table at all.
    Missing,
}

pub fn lookup(method: &str, path_pattern: &str) -> Lookup {
    let method = if method == "HEAD" { "GET" } else { method };
    let mut path_known = false;
    for a in TABLE {
        if a.path == path_pattern {
            if a.method == method {
                return Lookup::Rule(a.rule);
            }
            path_known = true;
        }
    }
    if path_known { Lookup::OtherMethod } else { Lookup::Missing }
}

/// The refusal of a route that has no rule.
pub fn no_rule() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "no_access_rule", "此接口未配置访问权限，已拒绝")
}

/// Puts the access check on every route of `routes` (call it after the last route is added).
pub fn guard(routes: Router<AppState>, state: AppState) -> Router<AppState> {
    routes.route_layer(middleware::from_fn_with_state(state, enforce))
}

async fn enforce(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(pattern) = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()) else {
        return next.run(request).await;
    };
    let rule = match lookup(request.method().as_str(), &pattern) {
        Lookup::Rule(rule) => rule,
        Lookup::OtherMethod => {
            return ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "接口不支持此请求方法")
                .into_response();
        }
        Lookup::Missing => {
            tracing::error!(method = %request.method(), path = %pattern, "route has no access rule in server/access.rs");
            return no_rule().into_response();
        }
    };
    if rule == Rule::Public {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let who = match SignedIn::authenticate(&parts, &state).await {
        Ok(who) => who,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = check(rule, &state, &who, &parts, &pattern).await {
        tracing::info!(staff_id = %who.staff.id, method = %parts.method, path = %pattern, code = e.code, "access refused");
        return e.into_response();
    }
    parts.extensions.insert(who);
    next.run(Request::from_parts(parts, body)).await
}

fn role_refused(role: Role) -> ApiError {
    ApiError::forbidden(format!("{}不能使用此功能", role.label()))
}

async fn check(rule: Rule, state: &AppState, who: &SignedIn, parts: &Parts, pattern: &str) -> Result<(), ApiError> {
    let role = who.staff.role;
    match rule {
        Rule::Public | Rule::Staff => Ok(()),
        Rule::Roles(roles) if roles.contains(&role) => Ok(()),
        Rule::Roles(_) => Err(role_refused(role)),
        Rule::Admin if role == Role::Admin => Ok(()),
        Rule::Admin => Err(ApiError::forbidden("只有管理员可以使用此功能")),
        Rule::WindowHolder(from) => {
            let number = match from {
                WindowFrom::Path(name) => {
                    path_param(pattern, parts.uri.path(), name).and_then(|t| t.parse::<u32>().ok())
                }
                WindowFrom::Query(name) => query_param(parts.uri.query(), name).and_then(|t| t.parse::<u32>().ok()),
                WindowFrom::Stream => query_param(parts.uri.query(), "stream")
                    .map(|s| s.replace("%2F", "/").replace("%2f", "/"))
                    .and_then(|s| crate::domain::record::stream_window(&s)),
            };
            let Some(number) = number else {
                return Err(match from {
                    WindowFrom::Path(_) => ApiError::not_found("没有这个窗口"),
                    WindowFrom::Query(name) => {
                        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("请求须指明窗口号（{name}）"))
                    }
                    WindowFrom::Stream => {
                        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "请求须指明记录流（stream）")
                    }
                });
            };
            // The guidance desk keeps its own log on window 0 (its inquiries), and sees no other.
            if role == Role::GuidanceDesk && number == crate::domain::record::DESK_WINDOW {
                return Ok(());
            }
            if !WINDOW_STAFF.contains(&role) {
                return Err(ApiError::forbidden(format!("{}不能查看或操作窗口的办件", role.label())));
            }
            let windows = state.store.windows().await?;
            let window = windows
                .iter()
                .find(|w| w.number == number)
                .ok_or_else(|| ApiError::not_found(format!("没有 {number} 号窗口")))?;
            // Whether B may act only while A is away is the handover rules' to say (the handlers
            // check duty); here, holding either post is enough.
            if role == Role::Admin || window.post_of(&who.staff.id).is_some() {
                Ok(())
            } else {
                Err(ApiError::forbidden(format!("你不是 {number} 号窗口的A岗或B岗")))
            }
        }
    }
}

/// The value of `{name}` in `path` matched by `pattern`.
fn path_param<'p>(pattern: &str, path: &'p str, name: &str) -> Option<&'p str> {
    let wanted = format!("{{{name}}}");
    let index = pattern.split('/').position(|segment| segment == wanted)?;
    path.split('/').nth(index)
}

/// The first value of `name` in a query string (window numbers need no decoding; anything
/// encoded fails to parse and is refused).
fn query_param<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?.split('&').find_map(|pair| pair.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v))
}

/// The `(method, path)` of every route of a router, read from its debug form (axum has no other
/// way to list them). For the test that holds the table to the router; the list is empty if a
/// future axum prints differently, which that test reports.
pub fn routes_of<S>(router: &Router<S>) -> Vec<(String, String)> {
    let debug = format!("{router:?}");
    // `node: Node { paths: {RouteId(3): "/api/v1/me", ...} }` and
    // `routes: {RouteId(3): MethodRouter(MethodRouter { get: ..., head: None, ... }), ...}`.
    let mut out = Vec::new();
    let Some(paths_at) = debug.find("paths: {") else { return out };
    let paths = &debug[paths_at..];
    let mut rest = paths;
    while let Some(i) = rest.find("RouteId(") {
        rest = &rest[i + "RouteId(".len()..];
        let Some(end) = rest.find(')') else { break };
        let id = &rest[..end];
        let Some(q1) = rest.find('"') else { break };
        let after = &rest[q1 + 1..];
        let Some(q2) = after.find('"') else { break };
        let path = &after[..q2];
        rest = &after[q2 + 1..];
        for method in methods_of(&debug[..paths_at], id) {
            out.push((method, path.to_owned()));
        }
        // The map of the router's own paths ends here; the fallback router's follows.
        if !rest.trim_start().starts_with(',') {
            break;
        }
    }
    out.sort();
    out.dedup();
    out
}

fn methods_of(routes: &str, id: &str) -> Vec<String> {
    let key = format!("RouteId({id}): MethodRouter(MethodRouter {{");
    let Some(start) = routes.find(&key) else { return Vec::new() };
    let body = &routes[start + key.len()..];
    let body = &body[..body.find("fallback:").unwrap_or(body.len())];
    let mut methods = Vec::new();
    for field in body.split(", ") {
        if let Some((name, value)) = field.trim().split_once(": ")
            && value.trim() != "None"
            && name != "head"
        {
            methods.push(name.trim().to_ascii_uppercase());
        }
    }
    methods
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_each_route_once() {
        for (i, a) in TABLE.iter().enumerate() {
            assert!(
                !TABLE[..i].iter().any(|b| b.method == a.method && b.path == a.path),
                "{} {} twice",
                a.method,
                a.path
            );
        }
        assert_eq!(lookup("HEAD", "/healthz"), Lookup::Rule(Rule::Public));
        assert_eq!(lookup("PUT", "/api/v1/session"), Lookup::OtherMethod);
        assert_eq!(lookup("GET", "/api/v1/secret"), Lookup::Missing);
    }

    #[test]
    fn window_numbers_come_from_the_path_or_the_query() {
        assert_eq!(
            path_param("/api/v1/windows/{number}/overview", "/api/v1/windows/12/overview", "number"),
            Some("12")
        );
        assert_eq!(path_param("/a/{x}", "/a/1", "number"), None);
        assert_eq!(query_param(Some("device=d&window=3&window=4"), "window"), Some("3"));
        assert_eq!(query_param(Some("windows=3"), "window"), None);
        assert_eq!(query_param(None, "window"), None);
    }
}
