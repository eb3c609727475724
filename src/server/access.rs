//! Who may call which route. Every route is declared once, with its rule ([`Route`]): the router
//! is built from the declaration and the access check reads the same list, so a route cannot be
//! served without a rule, and `tests/access.rs` calls every declared route as every kind of caller.
//!
//! The check runs for every request before its handler. What it resolves is left in the request
//! as typed extensions the handlers take: [`SignedIn`] for every signed-in route, [`AtWindow`]
//! for a window's routes (the window, its duty and how the caller stands there), [`AtLog`] for a
//! log's routes and [`Admin`] for the admin's. Who may act at a window is the domain's
//! [`check_window_act`]; nothing here restates it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, MatchedPath, Query, RawPathParams, Request, State};
use axum::handler::Handler;
use axum::http::{StatusCode, request::Parts};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};

use super::AppState;
use super::auth::SignedIn;
use super::problem::ApiError;
use crate::domain::access::{Place, Standing, WindowAct, check_window_act};
use crate::domain::center::Window;
use crate::domain::handover::DutyState;
use crate::domain::record::{DESK_WINDOW, stream_window};
use crate::domain::staff::Role;

pub use crate::domain::access::{
    BOARD_VIEWERS, BOOKERS, CATALOGUE_EDITORS, COUNTY_MANAGERS, FOLLOW_UP_ROLES, FREE_PLACE_READERS, LOG_WRITERS,
    PEOPLE, QUEUE_WATCHERS, RECORD_UPLOADERS, REPORT_READERS, SLOT_READERS, TICKET_DESK, TICKET_ISSUERS as ISSUERS,
    WINDOW_STAFF,
};

/// Where a log route names its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFrom {
    /// A query parameter, e.g. `window` in `/api/v1/sync/status?window=1`.
    Query(&'static str),
    /// The window of a log stream named in the query, e.g. `stream=w1/cases`.
    Stream,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// No sign-in: the health check and sign-in itself.
    Public,
    /// Any signed-in person, whatever the role ([`PEOPLE`]); not a device.
    Staff,
    /// Any signed-in account, devices too: the session itself (sign-out, who am I) and the
    /// center's public description (windows, categories, staff names).
    Anyone,
    /// Signed in with one of these roles.
    Roles(&'static [Role]),
    /// A holder of the A or B post of the window in the path (`{number}`), or an admin: the
    /// domain's [`WindowAct::Read`] for a GET (the 中心负责人 too), [`WindowAct::Record`] for a
    /// change. The guidance desk never: this is where case contents and
    /// applicants' data are.
    WindowHolder,
    /// The one acting for the window in the path by its duty, or an admin: the domain's
    /// [`WindowAct::Serve`] (the queue operations).
    WindowActing,
    /// The evaluator device facing the window in the path (the domain's `check_evaluator`):
    /// what the applicant sees, and the rating they give. Nobody else, not even an admin.
    WindowEvaluator,
    /// A window's logs, named in the query: its post holders, an admin, and the guidance desk
    /// for its own log (window 0).
    Log(LogFrom),
    /// 管理员 only.
    Admin,
    /// The county's managers ([`COUNTY_MANAGERS`]: 县级管理员) acting for the center the path
    /// names (`{center}`), which must exist: the handler then acts as a center admin would
    /// there ([`Admin`], with [`SignedIn::acting_for`] set).
    County,
}

/// The HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
            Self::Put => MethodFilter::PUT,
            Self::Delete => MethodFilter::DELETE,
        }
    }
}

/// One route and its rule (HEAD goes with GET).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub method: &'static str,
    pub path: &'static str,
    pub rule: Rule,
}

/// One declared route: method, path, rule and handler, stated together.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub rule: Rule,
    handler: MethodRouter<AppState>,
}

impl Route {
    pub fn access(&self) -> Access {
        Access { method: self.method.as_str(), path: self.path, rule: self.rule }
    }

    /// A body limit of its own (a batch of records is larger than any other request).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.handler = self.handler.layer(axum::extract::DefaultBodyLimit::max(bytes));
        self
    }
}

/// Declares a route.
pub fn route<H, T>(method: Method, path: &'static str, rule: Rule, handler: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    Route { method, path, rule, handler: axum::routing::on(method.filter(), handler) }
}

/// What the table says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Rule(Rule),
    /// The path is in the table with other methods only.
    OtherMethod,
    /// The path is not in the table at all.
    Missing,
}

pub fn lookup(table: &[Access], method: &str, path_pattern: &str) -> Lookup {
    let method = if method == "HEAD" { "GET" } else { method };
    let mut path_known = false;
    for a in table {
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

#[derive(Clone)]
struct Guard {
    state: AppState,
    table: Arc<[Access]>,
}

/// The router of `routes`, every one of them behind the access check with its own rule.
pub fn build(routes: Vec<Route>, state: AppState) -> Router<AppState> {
    let table: Arc<[Access]> = routes.iter().map(Route::access).collect();
    let mut router = Router::new();
    for r in routes {
        router = router.route(r.path, r.handler);
    }
    router.route_layer(middleware::from_fn_with_state(Guard { state, table }, enforce))
}

async fn enforce(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let Some(pattern) = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()) else {
        return next.run(request).await;
    };
    let rule = match lookup(&guard.table, request.method().as_str(), &pattern) {
        Lookup::Rule(rule) => rule,
        Lookup::OtherMethod => {
            return ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "接口不支持此请求方法")
                .into_response();
        }
        Lookup::Missing => {
            tracing::error!(method = %request.method(), path = %pattern, "route has no access rule");
            return no_rule().into_response();
        }
    };
    if rule == Rule::Public {
        return next.run(request).await;
    }
    let state = &guard.state;
    let (mut parts, body) = request.into_parts();
    // A window route reads the caller's session and the window in one statement.
    let path_window = match rule {
        Rule::WindowHolder | Rule::WindowActing | Rule::WindowEvaluator => window_in_path(&mut parts).await,
        _ => PathWindow::default(),
    };
    let (who, read) = match path_window.number {
        Some(number) => match SignedIn::authenticate_at_window(&parts, state, number).await {
            Ok((who, place)) => (who, Some(PlaceRead { number, place })),
            Err(e) => return e.into_response(),
        },
        None => match SignedIn::authenticate(&parts, state).await {
            Ok(who) => (who, None),
            Err(e) => return e.into_response(),
        },
    };
    if let Some(actor) = parts.extensions.get::<super::audit::Actor>() {
        actor.set(&who.staff.id, who.center.as_deref());
    }
    if let Err(e) = resolve(rule, state, &who, &mut parts, &path_window, read).await {
        tracing::info!(staff_id = %who.staff.id, method = %parts.method, path = %pattern, code = e.code, "access refused");
        return e.into_response();
    }
    parts.extensions.insert(who);
    next.run(Request::from_parts(parts, body)).await
}

fn role_refused(role: Role) -> ApiError {
    ApiError::forbidden(format!("{}不能使用此功能", role.label()))
}

/// A window of the center, as the request found it: the window, its duty, and how the signed-in
/// caller stands there (checked with the route's act). Handlers of window routes take this
/// instead of reading the window number from the path.
#[derive(Debug, Clone)]
pub struct AtWindow {
    pub window: Window,
    pub duty: DutyState,
    pub standing: Standing,
}

impl AtWindow {
    pub fn number(&self) -> u32 {
        self.window.number
    }
}

/// The window of a log route, checked for the caller.
#[derive(Debug, Clone, Copy)]
pub struct AtLog {
    pub window: u32,
}

/// A signed-in admin.
#[derive(Debug, Clone)]
pub struct Admin(pub SignedIn);

macro_rules! from_extension {
    ($t:ty) => {
        impl FromRequestParts<AppState> for $t {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
                parts.extensions.get::<$t>().cloned().ok_or_else(|| {
                    tracing::error!(
                        path = parts.uri.path(),
                        what = stringify!($t),
                        "a handler needs what its route's rule does not resolve"
                    );
                    no_rule()
                })
            }
        }
    };
}

from_extension!(AtWindow);
from_extension!(AtLog);
from_extension!(Admin);

/// Where the window `number` is, for [`check_window_act`]: the desk's log, or a counter window
/// with its duty now. `None`: there is no such window.
async fn place_of(state: &AppState, number: u32) -> Result<Option<(Window, DutyState)>, ApiError> {
    Ok(state.store.place(number).await?)
}

/// The window in a window route's path (`{number}`), read once per request: by [`enforce`]
/// to read the session with the window, by [`resolve`] to check the caller there.
#[derive(Debug, Default)]
struct PathWindow {
    /// As given (for the message when there is no such window).
    text: String,
    /// The window it names, if it is a number.
    number: Option<u32>,
}

impl PathWindow {
    /// The window it names, or the refusal of a window that does not exist.
    fn number(&self) -> Result<u32, ApiError> {
        self.number.ok_or_else(|| self.missing())
    }

    fn missing(&self) -> ApiError {
        ApiError::not_found(format!("没有 {} 号窗口", self.text))
    }
}

async fn window_in_path(parts: &mut Parts) -> PathWindow {
    let Ok(params) = RawPathParams::from_request_parts(parts, &()).await else { return PathWindow::default() };
    let text = params.iter().find(|(name, _)| *name == "number").map(|(_, v)| v.to_owned()).unwrap_or_default();
    PathWindow { number: text.parse::<u32>().ok(), text }
}

/// A window read with the caller's session, in the same statement, for this request.
struct PlaceRead {
    number: u32,
    place: Option<(Window, DutyState)>,
}

/// Window `number` of the center `who` acts for, with its duty now: the one read with the
/// session when that was this window, else read now.
async fn place_read(
    state: &AppState,
    who: &SignedIn,
    number: u32,
    read: Option<PlaceRead>,
) -> Result<Option<(Window, DutyState)>, ApiError> {
    match read {
        Some(read) if read.number == number => {
            // As `place_for`: only for a caller acting for a center (read with their center).
            who.acting_center()?;
            Ok(read.place)
        }
        _ => place_for(state, who, number).await,
    }
}

/// Window `number` of the center `who` acts for, with its duty now.
async fn place_for(state: &AppState, who: &SignedIn, number: u32) -> Result<Option<(Window, DutyState)>, ApiError> {
    place_of(&state.for_caller(who)?, number).await
}

fn refused(e: crate::domain::Invalid) -> ApiError {
    ApiError { errors: vec![e.clone()], ..ApiError::forbidden(e.message) }
}

/// Whether `who` may read or write the logs of window `number` (window 0: the desk's own log).
/// The one check for every uploaded record's window, every log read and every sync status.
pub async fn check_log(state: &AppState, who: &SignedIn, number: u32, act: WindowAct<'_>) -> Result<(), ApiError> {
    let (id, role) = (who.staff.id.as_str(), who.staff.role);
    if number == DESK_WINDOW {
        return check_window_act(id, role, Place::Desk, act).map(drop).map_err(refused);
    }
    let Some((window, duty)) = place_for(state, who, number).await? else {
        return check_window_act(id, role, Place::Unknown(number), act).map(drop).map_err(refused);
    };
    check_window_act(id, role, Place::Counter { window: &window, duty: &duty }, act).map(drop).map_err(refused)
}

async fn resolve(
    rule: Rule,
    state: &AppState,
    who: &SignedIn,
    parts: &mut Parts,
    path_window: &PathWindow,
    read: Option<PlaceRead>,
) -> Result<(), ApiError> {
    let role = who.staff.role;
    match rule {
        Rule::Public | Rule::Anyone => Ok(()),
        Rule::Staff if PEOPLE.contains(&role) => Ok(()),
        Rule::Staff => Err(role_refused(role)),
        Rule::Roles(roles) if roles.contains(&role) => Ok(()),
        Rule::Roles(_) => Err(role_refused(role)),
        Rule::Admin if role == Role::Admin => {
            parts.extensions.insert(Admin(who.clone()));
            Ok(())
        }
        Rule::Admin => Err(ApiError::forbidden("只有管理员可以使用此功能")),
        Rule::County if COUNTY_MANAGERS.contains(&role) => {
            let params = RawPathParams::from_request_parts(parts, &()).await.map_err(|_| ApiError::internal())?;
            let code = params.iter().find(|(name, _)| *name == "center").map(|(_, v)| v.to_owned()).unwrap_or_default();
            if !state.store.centers().await?.iter().any(|c| c.id == code) {
                let shown: String = crate::domain::text::clean_line(&code).chars().take(32).collect();
                return Err(ApiError::not_found(format!("没有代码为 {shown} 的中心")));
            }
            parts.extensions.insert(Admin(SignedIn { acting_for: Some(code), ..who.clone() }));
            Ok(())
        }
        Rule::County => Err(ApiError::forbidden("只有县级管理员可以使用此功能")),
        Rule::WindowHolder | Rule::WindowActing => {
            let number = path_window.number()?;
            let (window, duty) = place_read(state, who, number, read).await?.ok_or_else(|| path_window.missing())?;
            // A read of the window, or a change the post holders make (the duty, a conflict seen):
            // the domain tells them apart for who may only read (中心负责人).
            let act = match rule {
                Rule::WindowActing => WindowAct::Serve,
                _ if parts.method == axum::http::Method::GET => WindowAct::Read,
                _ => WindowAct::Record,
            };
            let standing = check_window_act(&who.staff.id, role, Place::Counter { window: &window, duty: &duty }, act)
                .map_err(refused)?;
            parts.extensions.insert(AtWindow { window, duty, standing });
            Ok(())
        }
        Rule::WindowEvaluator => {
            let number = path_window.number()?;
            let standing = crate::domain::access::check_evaluator(&who.staff, number).map_err(refused)?;
            let (window, duty) = place_read(state, who, number, read).await?.ok_or_else(|| path_window.missing())?;
            parts.extensions.insert(AtWindow { window, duty, standing });
            Ok(())
        }
        Rule::Log(from) => {
            let query = Query::<HashMap<String, String>>::try_from_uri(&parts.uri).map(|q| q.0).unwrap_or_default();
            let number = match from {
                LogFrom::Query(name) => query.get(name).and_then(|t| t.parse::<u32>().ok()),
                LogFrom::Stream => query.get("stream").and_then(|s| stream_window(s)),
            };
            let Some(number) = number else {
                return Err(match from {
                    LogFrom::Query(name) => {
                        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("请求须指明窗口号（{name}）"))
                    }
                    LogFrom::Stream => {
                        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "请求须指明记录流（stream）")
                    }
                });
            };
            check_log(state, who, number, WindowAct::Read).await?;
            parts.extensions.insert(AtLog { window: number });
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_looked_up_by_method_and_pattern() {
        let table = [
            Access { method: "GET", path: "/healthz", rule: Rule::Public },
            Access { method: "POST", path: "/api/v1/session", rule: Rule::Public },
        ];
        assert_eq!(lookup(&table, "HEAD", "/healthz"), Lookup::Rule(Rule::Public));
        assert_eq!(lookup(&table, "PUT", "/api/v1/session"), Lookup::OtherMethod);
        assert_eq!(lookup(&table, "GET", "/api/v1/secret"), Lookup::Missing);
    }
}
