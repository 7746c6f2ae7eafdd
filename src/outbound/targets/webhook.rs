//! A signed webhook to any URL: the event's envelope as the body, signed with Standard Webhooks v1 (several
//! secrets during a rotation), GitHub-style `X-Hub-Signature-256`, or not at all; extra headers may be added.
//! Spec: <https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>.

use super::{OutboundRequest, OwnKey, RenderFailure, Target, TargetKind, UrlFinding, add_headers};
use crate::config::{Destination, Signing};
use crate::outbound::signing;
use std::time::Duration;
use url::Url;

/// The signed-webhook target type.
pub(super) struct Webhook;

impl TargetKind for Webhook {
    fn where_to_find(&self) -> &'static str {
        "Any URL that takes a POST of JSON; hookarr signs each request (Standard Webhooks)."
    }

    fn example_url(&self) -> &'static str {
        "https://example.org/hooks/hookarr"
    }

    fn check_url(&self, _url: &Url, _d: &Destination) -> Vec<UrlFinding> {
        Vec::new()
    }

    fn default_rate(&self, _d: &Destination) -> (Duration, u32) {
        (Duration::from_millis(20), 50)
    }

    fn own_keys(&self) -> &'static [OwnKey] {
        &[
            OwnKey::Url,
            OwnKey::Headers,
            OwnKey::Secret,
            OwnKey::Signing,
        ]
    }

    /// `webhook-id` is the delivery id (stable across retries, so receivers can de-duplicate) and
    /// `webhook-timestamp` this attempt's time, both signed with the body.
    fn address(
        &self,
        target: &Target,
        request: &mut OutboundRequest,
        delivery_id: &str,
        now: i64,
    ) -> Result<(), RenderFailure> {
        let no_secret = || RenderFailure::Signing("no signing secret".into());
        match target.signing {
            Signing::Standard => {
                let sig =
                    signing::standard_header(&target.secrets, delivery_id, now, &request.body)
                        .map_err(|e| RenderFailure::Signing(e.to_string()))?;
                if sig.is_empty() {
                    return Err(no_secret());
                }
                let headers = &mut request.headers;
                headers.push(("webhook-id".to_owned(), delivery_id.to_owned()));
                headers.push(("webhook-timestamp".to_owned(), now.to_string()));
                headers.push(("webhook-signature".to_owned(), sig));
            }
            Signing::HubSha256 => {
                let secret = target.secrets.first().ok_or_else(no_secret)?;
                let sig = signing::hub_signature(secret, &request.body);
                let headers = &mut request.headers;
                headers.push(("x-hub-signature-256".to_owned(), sig));
                headers.push(("x-hookarr-timestamp".to_owned(), now.to_string()));
            }
            Signing::None => {}
        }
        add_headers(target, request);
        Ok(())
    }
}
