//! The one error shape of every route: `{"error": {"code", "message", "details"}}` (CONTRACT §3).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error answered to a client. Internal causes are logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `invalid_payload`: the body could not be read.
    #[error("{0}")]
    InvalidPayload(String),
    /// 400 `validation_failed`: a parameter is wrong; details name each one.
    #[error("{message}")]
    Validation {
        message: String,
        details: Vec<Value>,
    },
    /// 422 `validation_failed`: the body was read, but what it says does not pass the checks (a destination,
    /// a template, the config file); details name each problem's field.
    #[error("{message}")]
    Unprocessable {
        message: String,
        details: Vec<Value>,
    },
    /// 401 `unauthorized`.
    #[error("{0}")]
    Unauthorized(String),
    /// 403 `forbidden`.
    #[error("{0}")]
    Forbidden(String),
    /// 404 `not_found`.
    #[error("{0}")]
    NotFound(String),
    /// 405, with code `not_found` (the route exists for other methods).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 403 `webhook_limit_reached`: `api.max_webhooks_per_user` registered already.
    #[error("{0}")]
    WebhookLimitReached(String),
    /// 429 `rate_limited` with `Retry-After` (whole seconds).
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    /// 409 `conflict`.
    #[error("{0}")]
    Conflict(String),
    /// 413 `payload_too_large`.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415 `unsupported_media_type`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 408 `request_timeout`: the body stopped arriving (`server.body_timeout_secs`).
    #[error("{0}")]
    RequestTimeout(String),
    /// 500 `internal`: the cause is logged with the request, the client sees a generic message.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
    /// 503 `storage_unavailable` with `Retry-After`: the database cannot take writes now (a full disk, a
    /// read-only or locked file, a server out of reach). Nothing of the request was stored.
    #[error(
        "{} ({}); nothing of this request was stored; retry later",
        .0.describe(),
        .0.as_str()
    )]
    StorageUnavailable(crate::storage::StorageFault),
    /// 503 `overloaded` with `Retry-After`: past `server.max_requests_in_flight` or `server.max_connections`.
    #[error("{0}")]
    Overloaded(String),
}

/// The body of every error answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// What went wrong, for programs.
    code: ErrorCode,
    /// What went wrong and what to do, for people.
    message: String,
    /// For `validation_failed`: `{"field", "message"}` per wrong field.
    details: Vec<Value>,
}

/// The `code` of an error body: one per kind of error, stable for programs to match on.
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidPayload,
    ValidationFailed,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    RateLimited,
    WebhookLimitReached,
    PayloadTooLarge,
    UnsupportedMediaType,
    RequestTimeout,
    Internal,
    StorageUnavailable,
    Overloaded,
}

/// Seconds a client is asked to wait after a `503`.
const RETRY_AFTER_SECS: &str = "5";

impl ApiError {
    /// A validation error on one parameter.
    pub fn invalid_param(param: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError::Validation {
            message: format!("{param}: {message}"),
            details: vec![json!({"field": param, "message": message})],
        }
    }

    /// The error of `status` with `message`: how a plain-text rejection (a path parameter that is not
    /// UTF-8, a query that does not parse) is answered in the one shape. `None` for statuses that are not
    /// errors of a request.
    pub fn of_status(status: StatusCode, message: String) -> Option<ApiError> {
        Some(match status {
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => ApiError::Validation {
                message,
                details: Vec::new(),
            },
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized(message),
            StatusCode::FORBIDDEN => ApiError::Forbidden(message),
            StatusCode::NOT_FOUND => ApiError::NotFound(message),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed(message),
            StatusCode::CONFLICT => ApiError::Conflict(message),
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(message),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(message),
            StatusCode::REQUEST_TIMEOUT => ApiError::RequestTimeout(message),
            _ => return None,
        })
    }

    /// A 422 with every problem, each naming its field (`{"field", "message"}`): its message lists them.
    pub fn problems(what: &str, problems: &[crate::config::Problem]) -> Self {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        ApiError::Unprocessable {
            message: format!("{what}: {}", list.join("; ")),
            details: problems
                .iter()
                .map(|p| json!({"field": p.path, "message": p.message}))
                .collect(),
        }
    }

    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    fn parts(&self) -> (StatusCode, ErrorCode) {
        match self {
            ApiError::InvalidPayload(_) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidPayload),
            ApiError::Validation { .. } => (StatusCode::BAD_REQUEST, ErrorCode::ValidationFailed),
            ApiError::Unprocessable { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ValidationFailed,
            ),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, ErrorCode::NotFound),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, ErrorCode::Conflict),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited),
            ApiError::WebhookLimitReached(_) => {
                (StatusCode::FORBIDDEN, ErrorCode::WebhookLimitReached)
            }
            ApiError::PayloadTooLarge(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge)
            }
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
            ),
            ApiError::RequestTimeout(_) => (StatusCode::REQUEST_TIMEOUT, ErrorCode::RequestTimeout),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
            ApiError::StorageUnavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::StorageUnavailable,
            ),
            ApiError::Overloaded(_) => (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Overloaded),
        }
    }
}

impl From<crate::operations::OperationError> for ApiError {
    fn from(e: crate::operations::OperationError) -> Self {
        use crate::operations::OperationError;
        match e {
            OperationError::NotFound(message) => ApiError::NotFound(message),
            OperationError::Invalid { field, message } => ApiError::invalid_param(&field, message),
            OperationError::LimitReached(message) => ApiError::WebhookLimitReached(message),
            OperationError::Store(e) => e.into(),
        }
    }
}

impl From<crate::live_config::ChangeError> for ApiError {
    fn from(e: crate::live_config::ChangeError) -> Self {
        use crate::live_config::ChangeError;
        match e {
            ChangeError::Invalid(problems) => {
                ApiError::problems("the destination is not valid", &problems)
            }
            ChangeError::NotFound(_) => ApiError::NotFound(e.to_string()),
            ChangeError::InFile(_) | ChangeError::Taken(_) | ChangeError::Stale { .. } => {
                ApiError::Conflict(e.to_string())
            }
            ChangeError::Store(e) => e.into(),
        }
    }
}

impl From<crate::storage::StoreError> for ApiError {
    fn from(e: crate::storage::StoreError) -> Self {
        match e {
            crate::storage::StoreError::Conflict(what) => {
                ApiError::Conflict(format!("{what} already exists"))
            }
            other => match other.fault() {
                Some(fault) => {
                    other.log("A request could not be stored.");
                    ApiError::StorageUnavailable(fault)
                }
                None => ApiError::Internal(other.into()),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let (message, details) = match &self {
            ApiError::Internal(cause) => {
                // The cause chain on one line: never a backtrace per request.
                tracing::error!(message = "Request failed.", error = %format_args!("{cause:#}"));
                (
                    "hookarr hit an internal error; it is logged. Retry later.".to_owned(),
                    Vec::new(),
                )
            }
            ApiError::Validation { message, details }
            | ApiError::Unprocessable { message, details } => (message.clone(), details.clone()),
            other => (other.to_string(), Vec::new()),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                details,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::RateLimited {
            retry_after_secs, ..
        } = &self
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after_secs),
            );
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body is not read: the connection closes after this answer, and says so.
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        response
    }
}
