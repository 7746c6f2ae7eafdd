//! Stories: each title's story across apps, filtered by stage, source and title; one story with its steps,
//! its timeline of events, a season's episodes, what it conflicts with, and who follows it.

use super::{Layout, LoggedIn, iso, render};
use crate::api::{ApiError, AppState};
use crate::storage::StoryQuery;
use crate::stories::{Stage, StoryCard, card_of};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;

/// The filters of the list (`?stage=&source=&q=`).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Filters {
    #[serde(default)]
    stage: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    before: String,
}

pub struct Row {
    pub card: StoryCard,
    pub kind: &'static str,
    pub updated: String,
    pub sources: String,
}

#[derive(Template)]
#[template(path = "stories.html")]
struct StoriesPage {
    layout: Layout,
    filters: Filters,
    stages: Vec<(&'static str, bool)>,
    rows: Vec<Row>,
    unmatched: i64,
    older: Option<String>,
    /// Everyone told about their own requests: (name, requester name in Overseerr, destination, the API path
    /// that removes one added here).
    people: Vec<(String, String, String, Option<String>)>,
    /// Admins: the destinations a person may be told at.
    destinations: Vec<String>,
    is_admin: bool,
}

const SHOWN: u32 = 100;

pub async fn list(
    State(state): State<AppState>,
    who: LoggedIn,
    Query(filters): Query<Filters>,
) -> Result<Response, ApiError> {
    let query = StoryQuery {
        stage: Stage::parse(filters.stage.trim()),
        source: Some(filters.source.trim().to_owned()).filter(|s| !s.is_empty()),
        q: Some(filters.q.trim().to_owned()).filter(|q| !q.is_empty()),
        top: true,
        before: Some(filters.before.trim().to_owned()).filter(|b| !b.is_empty()),
        limit: SHOWN,
    };
    let found = state.store.list_stories(&query).await?;
    let older = found.next.map(|next| {
        super::page_link(
            "/admin/stories",
            &[
                ("stage", &filters.stage),
                ("source", &filters.source),
                ("q", &filters.q),
                ("before", &next),
            ],
        )
    });
    let rows = found
        .items
        .iter()
        .map(|s| Row {
            card: card_of(s),
            kind: s.kind.as_str(),
            updated: iso(&s.updated_at),
            sources: s.sources.iter().cloned().collect::<Vec<_>>().join(", "),
        })
        .collect();
    let page = StoriesPage {
        layout: Layout::new("Stories", "/admin/stories", &who),
        stages: Stage::ALL
            .iter()
            .map(|s| (s.as_str(), s.as_str() == filters.stage.trim()))
            .collect(),
        unmatched: state.store.unmatched_events().await?,
        people: state
            .engine
            .people()
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    p.overseerr.clone().unwrap_or_default(),
                    p.notify.clone(),
                    (!state.live.in_file(&p.name)).then(|| person_path(&p.name)),
                )
            })
            .collect(),
        destinations: match who.caller.is_admin() {
            true => state.engine.destination_names(),
            false => Vec::new(),
        },
        is_admin: who.caller.is_admin(),
        filters,
        rows,
        older,
    };
    Ok(render(&page))
}

pub struct Step {
    pub at: String,
    pub event: String,
    pub event_id: String,
    pub source: String,
    pub summary: String,
    pub stage: String,
}

#[derive(Template)]
#[template(path = "story.html")]
struct StoryPage {
    layout: Layout,
    card: StoryCard,
    kind: &'static str,
    ids: Vec<(String, String)>,
    parent: Option<String>,
    timeline: Vec<Step>,
    episodes: Vec<StoryCard>,
    conflicts: Vec<String>,
    followers: Vec<String>,
    /// Admins: the people who may follow it.
    people: Vec<String>,
    is_admin: bool,
}

pub async fn one(
    State(state): State<AppState>,
    who: LoggedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let story = state
        .store
        .get_story(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no story `{id}`")))?;
    let timeline = state
        .store
        .story_timeline(&id)
        .await?
        .into_iter()
        .map(|t| Step {
            at: iso(&t.at),
            event: t.event,
            event_id: t.event_id,
            source: t.source.unwrap_or_default(),
            summary: t.summary.unwrap_or_default(),
            stage: t.stage,
        })
        .collect();
    let episodes = state
        .store
        .story_children(&id)
        .await?
        .iter()
        .map(card_of)
        .collect();
    let card = card_of(&story);
    let page = StoryPage {
        layout: Layout::new(&card.title, "/admin/stories", &who),
        kind: story.kind.as_str(),
        ids: story.ids.clone().into_iter().collect(),
        parent: story.parent.clone(),
        timeline,
        episodes,
        conflicts: story.conflicts.clone(),
        people: match who.caller.is_admin() {
            true => state
                .engine
                .people()
                .iter()
                .map(|p| p.name.clone())
                .filter(|n| !story.followers.contains(n))
                .collect(),
            false => Vec::new(),
        },
        followers: story.followers.clone(),
        is_admin: who.caller.is_admin(),
        card,
    };
    Ok(render(&page))
}

/// `/api/people/<name>`, the name as one path segment.
fn person_path(name: &str) -> String {
    let mut url = url::Url::parse("http://hookarr/api/people").expect("a URL");
    url.path_segments_mut().expect("a base URL").push(name);
    url.path().to_owned()
}
