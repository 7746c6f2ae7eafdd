//! `Authorization: Bearer hk_…` for the API: [`Caller`] for any user, [`Admin`] for admin-only routes.

use super::{ApiError, AppState};
use crate::secrets::{hash_api_key, secrets_match};
use crate::storage::{Role, UserRow};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

/// An authenticated API caller.
#[derive(Debug, Clone)]
pub struct Caller(pub UserRow);

/// Proof that the caller has the admin role.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::Unauthorized("send an API key as `Authorization: Bearer hk_…`".into())
            })?;
        if let Some(configured) = &state.admin_key
            && secrets_match(key.as_bytes(), configured.as_bytes())
        {
            return Ok(Caller(state.config_admin.clone()));
        }
        match state.store.find_key_owner(&hash_api_key(key)).await? {
            Some(user) => Ok(Caller(user)),
            None => Err(ApiError::Unauthorized(
                "that API key is not valid (revoked, or mistyped)".into(),
            )),
        }
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(user) = Caller::from_request_parts(parts, state).await?;
        if user.role == Role::Admin {
            Ok(Admin)
        } else {
            Err(ApiError::Forbidden(
                "this route needs an admin API key".into(),
            ))
        }
    }
}
