//! `GET /api/stories`, `GET /api/stories/{id}` (with its timeline and episodes) and
//! `POST /api/stories/{id}/follow`: each title's story across apps (CONTRACT §5.1).

use super::audit::{self, Changed};
use super::auth::Caller;
use super::events::{bad_cursor, decode_cursor, encode_cursor, parse_limit};
use super::json_body::required;
use super::{ApiError, AppState};
use crate::storage::{StoryQuery, TimelineEntry};
use crate::stories::{Stage, Story, StoryCard, card_of};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

/// Query string of `GET /api/stories`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct StoryParams {
    /// `requested`, `approved`, `grabbed`, `imported`, `available`, `played`, `declined`, `failed` or
    /// `deleted`.
    stage: Option<String>,
    /// A source that told of it (`radarr`, `jellyfin`).
    source: Option<String>,
    /// Words of its title.
    q: Option<String>,
    /// `true`: seasons' episodes too (by default a pack's episodes are listed under their season).
    episodes: Option<String>,
    /// At most this many (1–500, default 50).
    limit: Option<String>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
}

/// A story as listed: the story and its card.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoryBody {
    #[serde(flatten)]
    story: Story,
    card: StoryCard,
}

impl From<Story> for StoryBody {
    fn from(story: Story) -> Self {
        StoryBody {
            card: card_of(&story),
            story,
        }
    }
}

/// `GET /api/stories`: a page of stories and how many events named no title.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoryList {
    items: Vec<StoryBody>,
    next_cursor: Option<String>,
    /// Events of a story's kind (a grab, an import, a request…) that named no title they could join by:
    /// no id, and no title with a year.
    unmatched: i64,
}

/// Stories most recently moved first.
pub async fn list_stories(
    State(state): State<AppState>,
    _caller: Caller,
    params: Result<Query<StoryParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<StoryList>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::invalid_param("query", e.body_text()))?;
    let stage = match p.stage.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(Stage::parse(s).ok_or_else(|| {
            let all: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::invalid_param(
                "stage",
                format!("`{s}` is not a stage; one of {}", all.join(", ")),
            )
        })?),
    };
    let before = p
        .cursor
        .as_deref()
        .map(|c| decode_cursor(c).ok_or_else(bad_cursor))
        .transpose()?;
    let query = StoryQuery {
        stage,
        source: p.source.filter(|s| !s.is_empty()),
        q: p.q.filter(|q| !q.is_empty()),
        top: p.episodes.as_deref() != Some("true"),
        before,
        limit: parse_limit(p.limit.as_deref())?,
    };
    let page = state.store.list_stories(&query).await?;
    Ok(Json(StoryList {
        items: page.items.into_iter().map(StoryBody::from).collect(),
        next_cursor: page.next.map(|k| encode_cursor(&k)),
        unmatched: state.store.unmatched_events().await?,
    }))
}

/// One story with its timeline (`GET /api/stories/{id}`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoryWithTimeline {
    #[serde(flatten)]
    story: StoryBody,
    /// Every event of it, oldest first, the stage after each.
    timeline: Vec<TimelineEntry>,
    /// A season's episodes.
    episodes: Vec<StoryBody>,
}

pub async fn get_story(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<StoryWithTimeline>, ApiError> {
    let story = state
        .store
        .get_story(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no story `{id}`")))?;
    Ok(Json(StoryWithTimeline {
        timeline: state.store.story_timeline(&id).await?,
        episodes: state
            .store
            .story_children(&id)
            .await?
            .into_iter()
            .map(StoryBody::from)
            .collect(),
        story: story.into(),
    }))
}

/// `POST /api/stories/{id}/follow`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Follow {
    /// A person of `people:`: told when the title is ready to watch.
    person: String,
}

/// A person follows a title: they are told when it becomes available.
pub async fn follow_story(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<Follow>, JsonRejection>,
) -> Result<Json<StoryBody>, ApiError> {
    let follow = required(body)?;
    let people = state.engine.people();
    if !people.iter().any(|p| p.name == follow.person) {
        let names: Vec<&str> = people.iter().map(|p| p.name.as_str()).collect();
        return Err(ApiError::invalid_param(
            "person",
            match names.is_empty() {
                true => "no people are configured (`people:` in hookarr.yaml)".to_owned(),
                false => format!(
                    "`{}` is not one of people: {}",
                    follow.person,
                    names.join(", ")
                ),
            },
        ));
    }
    let story = state
        .store
        .follow_story(&id, &follow.person)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no story `{id}`")))?;
    audit::record(
        &state,
        &caller,
        "story.followed",
        Changed {
            kind: "story",
            id: &id,
            owner: None,
        },
        serde_json::json!({"person": follow.person}),
    )
    .await;
    Ok(Json(story.into()))
}
