//! JSON request bodies with the error shape of every route: [`required`] for a `Json` extractor's result
//! (`invalid_payload` naming what is wrong, `payload_too_large` past the limit), and [`OptionalJson`] for
//! routes whose body may be left out (no body is the type's default).

use super::ApiError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// A JSON body, or `invalid_payload` naming what is wrong with it (`payload_too_large` past the limit).
pub(super) fn required<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(b)| b).map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge("the request body is over the API's 2 MiB limit".into())
        } else {
            ApiError::InvalidPayload(e.body_text())
        }
    })
}

/// A JSON body that may be left out (empty, blank, or `null`): then `T::default()`. When given, it must be
/// valid.
#[derive(Debug)]
pub(super) struct OptionalJson<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge(
                        "the request body is over the API's 2 MiB limit".into(),
                    )
                } else {
                    ApiError::InvalidPayload(e.body_text())
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
            return Ok(OptionalJson(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(OptionalJson)
            .map_err(|e| ApiError::InvalidPayload(format!("the request body: {e}")))
    }
}
