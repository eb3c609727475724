//! Every error the server sends is `application/problem+json` with a stable machine code and a
//! Chinese title; the precise cause goes to the log, never to the client.

use axum::Json;
use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::api::{PROBLEM_CONTENT_TYPE, Problem};
use crate::domain::Invalid;
use crate::server::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub title: String,
    pub errors: Vec<Invalid>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, title: impl Into<String>) -> Self {
        Self { status, code, title: title.into(), errors: Vec::new() }
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "请先登录")
    }

    pub fn session_expired() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "session_expired", "登录已过期，请重新登录")
    }

    pub fn forbidden(title: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", title)
    }

    pub fn not_found(title: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", title)
    }

    pub fn invalid(errors: Vec<Invalid>) -> Self {
        Self { errors, ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "填写的内容有误") }
    }

    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "服务器内部错误，请稍后重试")
    }

    pub fn account_disabled() -> Self {
        Self::new(StatusCode::FORBIDDEN, "account_disabled", "账号已停用，请联系管理员")
    }

    /// Sign-in refused by the rate limit; `minutes` until the next attempt may succeed.
    pub fn too_many_attempts(minutes: i64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!("尝试次数过多，请 {} 分钟后再试", minutes.max(1)),
        )
    }
}

/// What a parser said about a request, fit for the log: quoted values (where serde repeats what
/// the client sent, which may be an applicant's name or ID number) and long digit runs are cut
/// out, and the whole is kept short. Field paths and positions stay.
pub fn redact(text: &str) -> String {
    fn flush(out: &mut String, digits: &mut String) {
        // Line and column numbers are short; ID and phone numbers are not.
        out.push_str(if digits.len() > 5 { "#" } else { digits });
        digits.clear();
    }
    let mut out = String::with_capacity(text.len().min(256));
    let mut quote: Option<char> = None;
    let mut digits = String::new();
    for c in text.chars() {
        if let Some(q) = quote {
            if c == q {
                out.push('…');
                out.push(c);
                quote = None;
            }
            continue;
        }
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        flush(&mut out, &mut digits);
        if c == '"' || c == '`' {
            quote = Some(c);
            out.push(c);
        } else if c.is_control() {
            out.push(' ');
        } else {
            out.push(c);
        }
        if out.len() > 300 {
            out.push('…');
            return out;
        }
    }
    flush(&mut out, &mut digits);
    if quote.is_some() {
        out.push('…');
    }
    out
}

/// A request path fit for the log: runs of 11 or more digits (a phone or ID number typed where a
/// code belongs) become `#`. Window and ticket numbers, codes and ids stay.
pub fn redact_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut digits = String::new();
    for c in path.chars().chain(std::iter::once('/')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        out.push_str(if digits.len() >= 11 { "#" } else { &digits });
        digits.clear();
        out.push(c);
    }
    out.pop();
    out
}

/// The reply to a handler that panicked (tower-http's `CatchPanicLayer`).
pub fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::internal().into_response()
}

/// Makes every error reply problem+json: axum's own rejections (a path or query that does not
/// parse, a body over the limit read as bytes) are plain text, and a caught panic is bare. Their
/// text goes nowhere: it may repeat what the client sent.
pub async fn ensure_problem(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_CONTENT_TYPE));
    if is_problem {
        return response;
    }
    let problem = match status {
        StatusCode::BAD_REQUEST => ApiError::new(status, "bad_request", "请求格式不正确"),
        StatusCode::NOT_FOUND => ApiError::not_found("没有这个接口"),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(status, "method_not_allowed", "接口不支持此请求方法"),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(status, "payload_too_large", "请求内容过大"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::new(status, "unsupported_media_type", "请求须为 JSON（Content-Type: application/json）")
        }
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::new(status, "invalid_body", "请求内容的字段不正确"),
        s if s.is_server_error() => {
            tracing::error!(status = s.as_u16(), "a reply without problem details (a panic?)");
            ApiError { status: s, ..ApiError::internal() }
        }
        s => ApiError::new(s, "bad_request", "请求无法处理"),
    };
    tracing::info!(status = status.as_u16(), code = problem.code, "rejected request");
    problem.into_response()
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage failed");
        if e.is_disk_full() {
            Self::new(StatusCode::INSUFFICIENT_STORAGE, "disk_full", "服务器磁盘已满，请联系管理员")
        } else {
            Self::new(StatusCode::INTERNAL_SERVER_ERROR, "storage", "服务器存储出错，请稍后重试")
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        tracing::info!(reason = %redact(&rejection.body_text()), "rejected request body");
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "请求须为 JSON（Content-Type: application/json）",
            ),
            JsonRejection::BytesRejection(_) => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "请求内容过大")
            }
            JsonRejection::JsonSyntaxError(_) => {
                Self::new(StatusCode::BAD_REQUEST, "malformed_json", "请求内容不是有效的 JSON")
            }
            _ => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", "请求内容的字段不正确"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            kind: format!("urn:bianmin:problem:{}", self.code),
            title: self.title,
            status: self.status.as_u16(),
            code: self.code.to_owned(),
            detail: None,
            errors: self.errors,
        };
        let mut response = (self.status, Json(problem)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
        response
    }
}

/// `Json<T>` whose rejections are problem+json like every other error.
#[derive(Debug, FromRequest)]
#[from_request(via(Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

pub async fn not_found_fallback() -> ApiError {
    ApiError::not_found("没有这个接口")
}

pub async fn method_not_allowed_fallback() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "接口不支持此请求方法")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_positions_and_drops_values() {
        let said = "records[0].body.applicant.id_number: invalid type: string \"11010519491231002X\", expected u32 at line 1 column 4242";
        let r = redact(said);
        assert!(!r.contains("11010519491231002X") && !r.contains("1101"), "{r}");
        assert!(r.contains("records[0].body.applicant.id_number") && r.contains("line 1 column 4242"), "{r}");
        assert!(!redact("phone 13812345678 and 张三").contains("13812345678"));
        assert!(!redact("unknown variant `王小明`, expected one of").contains("王小明"));
        assert!(redact(&"x".repeat(10_000)).len() < 400);
        assert!(!redact("a\nb").contains('\n'));
        assert_eq!(redact_path("/api/v1/guides/11010519491231002X"), "/api/v1/guides/#X");
        assert_eq!(redact_path("/api/v1/windows/12/call-next"), "/api/v1/windows/12/call-next");
        assert_eq!(redact_path("/api/v1/calendar/years/2026"), "/api/v1/calendar/years/2026");
    }
}
