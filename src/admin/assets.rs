//! The admin page's stylesheet and script, embedded in the binary and served under names that carry a hash
//! of their content (so a browser may keep them forever and a new build is fetched at once), and the headers
//! every admin response gets: a strict Content-Security-Policy (nothing from anywhere but hookarr itself, no
//! inline script or style), no framing, no sniffing.

use axum::extract::{Path, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

struct Asset {
    /// `app.3f2a9c1b.css`
    name: String,
    media: &'static str,
    body: &'static [u8],
}

fn asset(stem: &str, ext: &str, media: &'static str, body: &'static [u8]) -> Asset {
    let hash = hex::encode(&Sha256::digest(body)[..6]);
    Asset {
        name: format!("{stem}.{hash}.{ext}"),
        media,
        body,
    }
}

static ASSETS: LazyLock<[Asset; 5]> = LazyLock::new(|| {
    [
        asset(
            "app",
            "css",
            "text/css; charset=utf-8",
            include_bytes!("assets/app.css"),
        ),
        asset(
            "app",
            "js",
            "text/javascript; charset=utf-8",
            include_bytes!("assets/app.js"),
        ),
        asset(
            "studio",
            "js",
            "text/javascript; charset=utf-8",
            include_bytes!("assets/studio.js"),
        ),
        asset(
            "favicon",
            "svg",
            "image/svg+xml",
            include_bytes!("assets/favicon.svg"),
        ),
        asset(
            "destination",
            "js",
            "text/javascript; charset=utf-8",
            include_bytes!("assets/destination.js"),
        ),
    ]
});

/// The URL of the stylesheet.
pub fn css_url() -> String {
    format!("/admin/assets/{}", ASSETS[0].name)
}

/// The URL of the script.
pub fn js_url() -> String {
    format!("/admin/assets/{}", ASSETS[1].name)
}

/// The URL of the template studio's script.
pub fn studio_js_url() -> String {
    format!("/admin/assets/{}", ASSETS[2].name)
}

/// The URL of the destination form's script.
pub fn destination_js_url() -> String {
    format!("/admin/assets/{}", ASSETS[4].name)
}

/// The URL of the page icon.
pub fn icon_url() -> String {
    format!("/admin/assets/{}", ASSETS[3].name)
}

/// `GET /favicon.ico`, which browsers ask for by themselves: the icon (SVG, which they take under that name
/// too), cached for a day.
pub async fn favicon() -> Response {
    let icon = &ASSETS[3];
    (
        [
            (header::CONTENT_TYPE, icon.media),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        icon.body,
    )
        .into_response()
}

/// `GET /admin/assets/{file}`: an embedded asset by its hashed name, cached for a year.
pub async fn serve(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.media),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            a.body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// What the admin page may load: only hookarr's own script, style, images and API.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every admin response, and keeps pages (not assets) out of caches.
pub async fn page_headers(req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/admin/assets/");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !is_asset {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
