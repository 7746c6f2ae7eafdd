//! Home Assistant: a webhook trigger (`/api/webhook/<id>`, no auth) or the events API
//! (`/api/events/<event_type>`, a long-lived access token as Bearer). The payload is a flat JSON object for
//! automations; extra headers may be added.

use super::{
    OutboundRequest, OwnKey, RenderFailure, Target, TargetKind, UrlFinding, add_headers, segments,
};
use crate::config::Destination;
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// The Home Assistant target type.
pub(super) struct HomeAssistant;

impl TargetKind for HomeAssistant {
    fn where_to_find(&self) -> &'static str {
        "In Home Assistant: Settings → Automations → Create → Webhook trigger; copy its URL (http://<your HA>:8123/api/webhook/<id>)."
    }

    fn example_url(&self) -> &'static str {
        "http://homeassistant.local:8123/api/webhook/<id>"
    }

    fn check_url(&self, url: &Url, d: &Destination) -> Vec<UrlFinding> {
        let segments = segments(url);
        let under = |api: &str| segments.windows(3).any(|w| w[0] == "api" && w[1] == api);
        let (webhook, events) = (under("webhook"), under("events"));
        let mut found = Vec::new();
        if !webhook && !events {
            found.push(UrlFinding::Problem {
                key: "url",
                message:
                    "a Home Assistant URL ends in /api/webhook/<id> or /api/events/<event_type>"
                        .into(),
            });
        }
        if events && d.token.is_none() {
            found.push(UrlFinding::Problem {
                key: "token",
                message: "/api/events/ needs a long-lived access token: add token: ${HA_TOKEN}"
                    .into(),
            });
        }
        if webhook && d.token.is_some() {
            found.push(UrlFinding::Warning {
                key: "token",
                message: "/api/webhook/ URLs take no token; it is ignored".into(),
            });
        }
        found
    }

    fn default_rate(&self, _d: &Destination) -> (Duration, u32) {
        (Duration::from_millis(50), 20)
    }

    fn own_keys(&self) -> &'static [OwnKey] {
        &[OwnKey::Url, OwnKey::Headers, OwnKey::Token]
    }

    fn address(
        &self,
        target: &Target,
        request: &mut OutboundRequest,
        _delivery_id: &str,
        _now: i64,
    ) -> Result<(), RenderFailure> {
        if let Some(token) = &target.token
            && request.url.contains("/api/events/")
        {
            request
                .headers
                .push(("authorization".to_owned(), format!("Bearer {token}")));
        }
        add_headers(target, request);
        Ok(())
    }

    /// An automation reads the event's fields from a JSON object.
    fn hold_to_limits(&self, payload: &mut Value, template: &str) -> Result<(), RenderFailure> {
        if payload.is_object() {
            return Ok(());
        }
        Err(RenderFailure::Shape(format!(
            "template `{template}` must render a JSON object for Home Assistant"
        )))
    }
}
