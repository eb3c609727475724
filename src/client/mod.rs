//! The HTTP client of the bianmin API. Every failure becomes a [`ClientError`] with a Chinese
//! message for the clerk; nothing here panics on what a server sends.

pub mod backoff;
pub mod board;
pub mod evaluator_log;
pub mod local;
pub mod memory;
pub mod queue;
pub mod stored_index;
pub mod sync;
pub mod token;

use std::sync::Once;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::{
    API_MAJOR, CalendarReply, CenterInfo, GuideChanges, GuidePage, Health, Me, PROBLEM_CONTENT_TYPE, Problem,
    RecordEnvelope, SessionGranted, SetHolders, SignIn, SyncStatus, UploadBatch, UploadReply, VERSION_HEADER,
    WindowOverview, major_of, paths,
};
use crate::config::NetworkSettings;
use crate::domain::center::Window;
use crate::domain::guide::ServiceGuide;
use crate::domain::handover::{DutyState, Handover};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    #[error("无法连接服务器")]
    Unreachable(String),
    #[error("服务器响应超时")]
    Timeout,
    #[error("{}", .0.title)]
    Problem(Box<Problem>),
    #[error("服务器返回了无法识别的内容")]
    Malformed(String),
    #[error("服务器版本（{server}）与本终端不兼容，请升级终端")]
    IncompatibleServer { server: String },
    #[error("服务器地址无效: {0}")]
    BadUrl(String),
    /// The server answered, but its TLS certificate is not trusted (wrong CA, expired, another
    /// name): not offline, and not something retrying fixes; possibly someone in between.
    #[error("服务器证书不受信任（非本中心CA签发、已过期或与地址不符），已停止连接，请联系管理员")]
    UntrustedCertificate(String),
}

impl ClientError {
    /// The server could not be reached at all: the terminal is offline, not in error.
    pub fn is_offline(&self) -> bool {
        matches!(self, Self::Unreachable(_) | Self::Timeout)
    }

    pub fn problem_code(&self) -> Option<&str> {
        match self {
            Self::Problem(p) => Some(&p.code),
            _ => None,
        }
    }

    fn from_reqwest(e: reqwest::Error) -> Self {
        if let Some(reason) = certificate_refused(&e) {
            tracing::warn!(%reason, "server certificate not trusted");
            Self::UntrustedCertificate(reason)
        } else if e.is_timeout() {
            Self::Timeout
        } else if e.is_decode() || e.is_body() {
            Self::Malformed(e.to_string())
        } else {
            Self::Unreachable(e.to_string())
        }
    }
}

/// Why the TLS handshake refused the server's certificate, if that is what failed. The rustls
/// error sits deep in reqwest's chain, partly inside `io::Error`s (whose `source()` skips the
/// error they wrap), so each link is looked into both ways.
fn certificate_refused(e: &reqwest::Error) -> Option<String> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(rustls::Error::InvalidCertificate(reason)) = err.downcast_ref::<rustls::Error>() {
            return Some(format!("{reason:?}"));
        }
        next = match err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(wrapped) => Some(wrapped as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}

/// reqwest is built without a default TLS provider (see Cargo.toml): use ring, once per process.
/// Anything that builds a `reqwest::Client` itself (tests, tools) calls this first.
pub fn install_tls_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base.as_str())
            .field("signed_in", &self.token.is_some())
            .finish()
    }
}

impl ApiClient {
    pub fn new(base: &str, network: &NetworkSettings) -> Result<Self, ClientError> {
        install_tls_provider();
        let base = Url::parse(base).map_err(|e| ClientError::BadUrl(format!("{base}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ClientError::BadUrl(base.to_string()));
        }
        if base.scheme() == "http" && !network.allow_insecure_http && !is_loopback(&base) {
            return Err(ClientError::BadUrl(format!(
                "{base} 未加密：连接本机以外的服务器须使用 https://（确需明文连接时，在配置中设置 network.allow_insecure_http = true）"
            )));
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(network.connect_timeout_ms))
            .timeout(Duration::from_millis(network.request_timeout_ms))
            .user_agent(concat!("bianmin/", env!("CARGO_PKG_VERSION")));
        if !network.ca_cert.trim().is_empty() {
            let path = network.ca_cert.trim();
            let pem = std::fs::read(path).map_err(|e| ClientError::BadUrl(format!("无法读取 CA 证书 {path}：{e}")))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| ClientError::BadUrl(format!("CA 证书 {path} 无法识别：{e}")))?;
            builder = builder.tls_certs_only(certs);
        }
        let http = builder.build().map_err(|e| ClientError::BadUrl(e.to_string()))?;
        Ok(Self { http, base, token: None })
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The session token, to keep between runs (see [`token`]).
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Resumes a session kept from an earlier run.
    pub fn set_token(&mut self, token: Option<String>) {
        self.token = token;
    }

    pub fn is_signed_in(&self) -> bool {
        self.token.is_some()
    }

    pub async fn health(&self) -> Result<Health, ClientError> {
        self.call(Method::GET, paths::HEALTH, None::<&()>).await
    }

    pub async fn sign_in(&mut self, staff_id: &str, password: &str) -> Result<Me, ClientError> {
        let body = SignIn { staff_id: staff_id.to_owned(), password: password.to_owned() };
        let granted: SessionGranted = self.call(Method::POST, paths::SESSION, Some(&body)).await?;
        self.token = Some(granted.token);
        Ok(granted.me)
    }

    pub async fn sign_out(&mut self) -> Result<(), ClientError> {
        let result = self.call_empty(Method::DELETE, paths::SESSION).await;
        self.token = None;
        result
    }

    /// Ends the session of another token (a sign-out that did not reach the server earlier). A
    /// session the server no longer knows is ended already.
    pub async fn revoke(&self, token: &str) -> Result<(), ClientError> {
        let mut other = self.clone();
        other.token = Some(token.to_owned());
        match other.call_empty(Method::DELETE, paths::SESSION).await {
            Err(e) if matches!(e.problem_code(), Some("unauthorized" | "session_expired" | "account_disabled")) => {
                Ok(())
            }
            result => result,
        }
    }

    pub async fn me(&self) -> Result<Me, ClientError> {
        self.call(Method::GET, paths::ME, None::<&()>).await
    }

    pub async fn center(&self) -> Result<CenterInfo, ClientError> {
        self.call(Method::GET, paths::CENTER, None::<&()>).await
    }

    /// Today's public evaluation summary.
    pub async fn ratings_today(&self) -> Result<crate::domain::rating::Satisfaction, ClientError> {
        self.call(Method::GET, paths::RATINGS_TODAY, None::<&()>).await
    }

    /// What the applicant at `window` sees (the evaluator's view).
    pub async fn facing(&self, window: u32) -> Result<crate::api::hall::Facing, ClientError> {
        self.call(Method::GET, &crate::api::hall::paths::facing(window), None::<&()>).await
    }

    /// The evaluator's rating of a ticket served at `window`.
    pub async fn rate_ticket(
        &self,
        window: u32,
        rating: &crate::api::hall::RateTicket,
    ) -> Result<crate::domain::rating::Rating, ClientError> {
        self.call(Method::POST, &crate::api::hall::paths::ratings(window), Some(rating)).await
    }

    /// A ticket from the kiosk, with its slip.
    pub async fn kiosk_issue(
        &self,
        request: &crate::api::queue::IssueTicket,
    ) -> Result<crate::api::hall::Slip, ClientError> {
        self.call(Method::POST, crate::api::hall::paths::KIOSK_TICKETS, Some(request)).await
    }

    /// The clerk invites the applicant to rate (the evaluator asks).
    pub async fn invite_rating(&self, window: u32) -> Result<crate::api::hall::AskRating, ClientError> {
        self.call(Method::POST, &crate::api::hall::paths::invite_rating(window), None::<&()>).await
    }

    pub async fn window_overview(&self, window: u32) -> Result<WindowOverview, ClientError> {
        self.call(Method::GET, &paths::window_overview(window), None::<&()>).await
    }

    /// A returning applicant's cases, at a 综合受理 window (the terms travel in the body).
    pub async fn search_cases(
        &self,
        search: &crate::api::CaseSearch,
    ) -> Result<Vec<crate::api::FoundCase>, ClientError> {
        self.call(Method::POST, paths::CASE_SEARCH, Some(search)).await
    }

    /// Marks a conflict of the window's cases as seen by the signed-in clerk.
    pub async fn case_conflict_seen(&self, window: u32, record: uuid::Uuid) -> Result<(), ClientError> {
        self.call_empty(Method::POST, &paths::case_conflict_seen(window, record)).await
    }

    /// Sets the window's duty at once (online): refused with `duty_refused` and the reason when
    /// it would leave the window uncovered or someone at two windows.
    pub async fn put_duty(&self, window: u32, duty: &DutyState) -> Result<DutyState, ClientError> {
        self.call(Method::PUT, &paths::window_duty(window), Some(duty)).await
    }

    /// The window's handover history, newest first, with acknowledgements.
    pub async fn handovers(&self, window: u32) -> Result<Vec<Handover>, ClientError> {
        self.call(Method::GET, &paths::window_handovers(window), None::<&()>).await
    }

    /// An admin changes the window's A and B holders.
    pub async fn set_holders(&self, window: u32, a_holder: &str, b_holder: &str) -> Result<Window, ClientError> {
        let body = SetHolders { a_holder: a_holder.to_owned(), b_holder: b_holder.to_owned() };
        self.call(Method::PUT, &paths::window_holders(window), Some(&body)).await
    }

    /// Guides changed after `since`. With a current copy this costs one small 304.
    pub async fn guides_since(&self, since: i64) -> Result<GuideChanges, ClientError> {
        let path = with_query(paths::GUIDES, &[("since", &since.to_string())]);
        let etag = (since > 0).then(|| format!("\"{since}\""));
        let response = self.send(Method::GET, &path, None::<&()>, etag.as_deref()).await?;
        if response.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(GuideChanges { seq: since, guides: Vec::new(), removed: Vec::new() });
        }
        Self::decode(&path, response).await
    }

    /// One page of the guides changed after `since`, at most `limit` of them (see
    /// [`crate::api::GuidePage`]). With a current copy this costs one small 304.
    pub async fn guides_page(&self, since: i64, limit: u32) -> Result<GuidePage, ClientError> {
        let path = with_query(paths::GUIDES, &[("since", &since.to_string()), ("limit", &limit.to_string())]);
        let etag = (since > 0).then(|| format!("\"{since}\""));
        let response = self.send(Method::GET, &path, None::<&()>, etag.as_deref()).await?;
        if response.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(GuidePage { seq: since, guides: Vec::new(), more: false, removed: Vec::new() });
        }
        Self::decode(&path, response).await
    }

    /// The working-day calendar, or `None` when the copy at `known_seq` is still current.
    pub async fn calendar(&self, known_seq: Option<i64>) -> Result<Option<CalendarReply>, ClientError> {
        let etag = known_seq.map(CalendarReply::etag);
        let response = self.send(Method::GET, paths::CALENDAR, None::<&()>, etag.as_deref()).await?;
        if response.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        Self::decode(paths::CALENDAR, response).await.map(Some)
    }

    /// The desk's lexicon, or `None` when the copy at `known_seq` is still current.
    pub async fn lexicon(&self, known_seq: Option<i64>) -> Result<Option<crate::api::LexiconReply>, ClientError> {
        let etag = known_seq.map(crate::api::LexiconReply::etag);
        let response = self.send(Method::GET, paths::LEXICON, None::<&()>, etag.as_deref()).await?;
        if response.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        Self::decode(paths::LEXICON, response).await.map(Some)
    }

    pub async fn sync_status(&self, window: u32, device: uuid::Uuid) -> Result<SyncStatus, ClientError> {
        let path = with_query(paths::SYNC_STATUS, &[("window", &window.to_string()), ("device", &device.to_string())]);
        self.call(Method::GET, &path, None::<&()>).await
    }

    pub async fn upload(&self, records: Vec<RecordEnvelope>) -> Result<UploadReply, ClientError> {
        self.call(Method::POST, paths::RECORDS, Some(&UploadBatch { records })).await
    }

    pub async fn download(
        &self,
        device: uuid::Uuid,
        stream: &str,
        from: u64,
    ) -> Result<Vec<RecordEnvelope>, ClientError> {
        let path = with_query(
            paths::RECORDS,
            &[("device", &device.to_string()), ("stream", stream), ("from", &from.to_string())],
        );
        self.call(Method::GET, &path, None::<&()>).await
    }

    pub async fn guide(&self, code: &str) -> Result<ServiceGuide, ClientError> {
        self.call(Method::GET, &paths::guide(code), None::<&()>).await
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let response = self.send(method, path, body, None).await?;
        Self::decode(path, response).await
    }

    async fn decode<T: DeserializeOwned>(path: &str, response: reqwest::Response) -> Result<T, ClientError> {
        let bytes = response.bytes().await.map_err(ClientError::from_reqwest)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            // A reply's values may be applicants' data: the log and the message get the position
            // only (serde's message repeats the value it choked on).
            tracing::warn!(path, line = e.line(), column = e.column(), category = ?e.classify(), "malformed reply from server");
            ClientError::Malformed(format!("{path}: 第 {} 行第 {} 列无法识别", e.line(), e.column()))
        })
    }

    async fn call_empty(&self, method: Method, path: &str) -> Result<(), ClientError> {
        self.send(method, path, None::<&()>, None).await.map(drop)
    }

    /// Sends a request and returns a successful response whose API version is compatible;
    /// anything else becomes the matching error.
    async fn send<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        if_none_match: Option<&str>,
    ) -> Result<reqwest::Response, ClientError> {
        let url = self.base.join(path).map_err(|e| ClientError::BadUrl(e.to_string()))?;
        let mut request = self.http.request(method, url);
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(etag) = if_none_match {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        let response = request.send().await.map_err(ClientError::from_reqwest)?;
        let version = response.headers().get(VERSION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        match version.as_deref().map(major_of) {
            Some(Some(API_MAJOR)) => {}
            Some(_) => return Err(ClientError::IncompatibleServer { server: version.unwrap_or_default() }),
            None => {
                return Err(ClientError::Malformed(format!("{path}: 回复中没有 API 版本，可能不是 bianmin 服务器")));
            }
        }
        if response.status().is_success() || response.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(response);
        }
        let status = response.status();
        let is_problem = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with(PROBLEM_CONTENT_TYPE));
        let bytes = response.bytes().await.map_err(ClientError::from_reqwest)?;
        match serde_json::from_slice::<Problem>(&bytes) {
            Ok(problem) if is_problem => Err(ClientError::Problem(Box::new(problem))),
            _ => Err(ClientError::Malformed(format!("{path}: HTTP {status}"))),
        }
    }
}

/// Whether the URL names this machine: 127.0.0.0/8, ::1 or localhost.
fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `path?k=v&...` with every value form-encoded (stream names hold `/`), by the same crate that
/// parses URLs on both sides.
pub(crate) fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    format!("{path}?{query}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            super::with_query("/api/v1/records", &[("stream", "w1/cases"), ("from", "3"), ("q", "a&b c")]),
            "/api/v1/records?stream=w1%2Fcases&from=3&q=a%26b+c"
        );
    }
}
