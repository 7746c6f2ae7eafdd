//! The admin page (`GET /admin`): server-rendered views over the same store and engine as the API, for
//! someone logged in with an API key (a user sees only their own webhooks and deliveries). The page's few
//! scripts (copy buttons, live lists, actions) call the JSON API with the log-in cookie and its CSRF token.

mod assets;
mod login;
mod views;

pub use login::{check_csrf, login_of};

use crate::api::AppState;
use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

/// The admin page's routes; the CSP and cache headers come with them.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/admin") }))
        .route("/admin", get(views::dashboard::page))
        .route("/admin/login", get(login::form).post(login::log_in))
        .route("/admin/logout", post(login::log_out))
        .route("/admin/sources", get(views::sources::page))
        .route("/admin/events", get(views::events::list))
        .route("/admin/events/{id}", get(views::events::one))
        .route("/admin/stories", get(views::stories::list))
        .route("/admin/stories/{id}", get(views::stories::one))
        .route("/admin/deliveries", get(views::deliveries::list))
        .route("/admin/deliveries/{id}", get(views::deliveries::one))
        .route("/admin/destinations", get(views::destinations::page))
        .route(
            "/admin/destinations/new",
            get(views::destination_form::new_page),
        )
        .route(
            "/admin/destinations/{name}/edit",
            get(views::destination_form::edit_page),
        )
        .route("/admin/studio", get(views::studio::page))
        .route("/admin/webhooks", get(views::webhooks::page))
        .route("/admin/mocks/{id}", get(views::webhooks::mock))
        .route("/admin/keys", get(views::accounts::keys))
        .route("/admin/audit", get(views::accounts::audit))
        .route("/admin/assets/{file}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .layer(axum::middleware::from_fn(assets::page_headers))
}
