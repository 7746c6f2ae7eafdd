//! The template studio (admins): a destination's template in an editor, rendered as it is typed (by
//! `POST /api/templates/preview`) against a stored event, an app's payload or hookarr's test event, and
//! drawn as the target shows it — a Discord message with its embeds, Slack blocks, the JSON of a webhook or
//! Home Assistant — with the limits it breaks and the template's errors at their line; then saved (in force
//! at once, with its history, `PUT /api/templates/…`) or copied into the templates folder.

use super::{Layout, LoggedIn, admin_only, render};
use crate::api::{ApiError, AppState};
use crate::event::{EventId, EventKind};
use crate::storage::EventQuery;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

#[derive(Debug, Default, serde::Deserialize)]
pub struct Chosen {
    #[serde(default)]
    destination: String,
    /// A stored event's id, `test`, or `payload` (an app's payload pasted).
    #[serde(default)]
    event: String,
}

/// One entry of a select: value, label, chosen; for a sample, the source and payload it renders.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub chosen: bool,
    pub sample: Option<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "studio.html")]
struct StudioPage {
    layout: Layout,
    destinations: Vec<Choice>,
    events: Vec<Choice>,
    sources: Vec<String>,
    /// The destination's type (`discord`…): how the preview is drawn.
    kind: &'static str,
    /// The template's name (`discord/default`) and its text.
    template_name: String,
    template_text: String,
    /// Where a template of that name is read from.
    save_as: String,
    /// Where the template in force comes from: `built-in`, `file` or `stored` (saved here).
    origin: &'static str,
    pasting: bool,
    studio_js: String,
}

/// How many recent events the studio offers.
const RECENT: u32 = 25;

pub async fn page(
    State(state): State<AppState>,
    who: LoggedIn,
    Query(chosen): Query<Chosen>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let all_names = state.engine.destination_names();
    let names: Vec<&str> = all_names.iter().map(String::as_str).collect();
    let Some(first) = names.first() else {
        let page = StudioPage {
            layout: Layout::new("Template studio", "/admin/studio", &who),
            destinations: Vec::new(),
            events: Vec::new(),
            sources: Vec::new(),
            kind: "",
            template_name: String::new(),
            template_text: String::new(),
            save_as: String::new(),
            origin: "",
            pasting: false,
            studio_js: super::assets::studio_js_url(),
        };
        return Ok(render(&page));
    };
    let name = names
        .iter()
        .find(|n| **n == chosen.destination)
        .unwrap_or(first);
    let target = state
        .engine
        .target(name)
        .expect("a destination the engine named");
    let recent = state
        .store
        .list_events(&EventQuery {
            limit: RECENT,
            ..Default::default()
        })
        .await?
        .items;
    // The event the studio opens on: the newest an app sent (not one of hookarr's own alerts).
    let newest = recent
        .iter()
        .find(|e| !e.event.as_str().starts_with("hookarr."))
        .or(recent.first());
    // The event the template is resolved for: the one chosen, else the newest, else `test`.
    let event_kind = match chosen.event.as_str() {
        "test" | "payload" => EventKind::Test,
        sample if sample.starts_with("sample-") => sample_kind(&state, sample),
        id => recent
            .iter()
            .find(|e| Some(&e.id) == EventId::parse(id).as_ref())
            .or(newest)
            .map_or(EventKind::Test, |e| e.event),
    };
    let chosen_event = match chosen.event.as_str() {
        "" => newest.map_or("test".to_owned(), |e| e.id.to_string()),
        other => other.to_owned(),
    };
    let mut events: Vec<Choice> = recent
        .iter()
        .map(|e| Choice {
            value: e.id.to_string(),
            label: format!("{} — {}", e.event.as_str(), e.summary),
            chosen: e.id.as_str() == chosen_event,
            sample: None,
        })
        .collect();
    // Samples only where their app has a source (a config may rename or drop the built-in ones).
    for (i, s) in crate::outbound::templates::samples::SAMPLES
        .iter()
        .enumerate()
    {
        if state.sources.get(s.source).is_some() {
            let value = format!("sample-{i}");
            events.push(Choice {
                chosen: value == chosen_event,
                label: format!("Sample: {}", s.label),
                sample: Some((s.source, s.payload)),
                value,
            });
        }
    }
    events.push(Choice {
        value: "test".into(),
        label: "hookarr's test event".into(),
        chosen: chosen_event == "test",
        sample: None,
    });
    events.push(Choice {
        value: "payload".into(),
        label: "An app's payload, pasted…".into(),
        chosen: chosen_event == "payload",
        sample: None,
    });
    let templates = state.engine.templates();
    let template_name = templates.resolve(
        target.kind,
        target.template.as_deref(),
        event_kind.as_str(),
        false,
    );
    let folder = templates
        .dir
        .as_ref()
        .map_or("templates".to_owned(), |d| d.display().to_string());
    let page = StudioPage {
        layout: Layout::new("Template studio", "/admin/studio", &who),
        destinations: names
            .iter()
            .map(|n| Choice {
                value: (*n).to_owned(),
                label: (*n).to_owned(),
                chosen: n == name,
                sample: None,
            })
            .collect(),
        events,
        sources: state.sources.all().iter().map(|s| s.name.clone()).collect(),
        kind: target.kind.as_str(),
        template_text: templates
            .text(&template_name)
            .unwrap_or_default()
            .to_owned(),
        save_as: format!("{folder}/{template_name}.hbs"),
        origin: match templates.origin(&template_name) {
            Some(crate::outbound::TemplateOrigin::Stored) => "stored",
            Some(crate::outbound::TemplateOrigin::File) => "file",
            _ => "built-in",
        },
        template_name,
        pasting: chosen_event == "payload",
        studio_js: super::assets::studio_js_url(),
    };
    Ok(render(&page))
}

/// The event a sample becomes, to pick its template (`test` when it does not parse).
fn sample_kind(state: &AppState, value: &str) -> EventKind {
    let sample = value
        .strip_prefix("sample-")
        .and_then(|i| i.parse::<usize>().ok())
        .and_then(|i| crate::outbound::templates::samples::SAMPLES.get(i));
    sample
        .and_then(|s| {
            let source = state.sources.get(s.source)?;
            crate::receive::parse_preview(&source, s.payload.as_bytes()).ok()
        })
        .map_or(EventKind::Test, |e| e.event)
}
