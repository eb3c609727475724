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
        tracing::info!(reason = %rejection.body_text(), "rejected request body");
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
