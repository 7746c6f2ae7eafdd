//! The dashboard: events per minute over the last hour, the delivery success rate, the queue, destinations
//! that fail or wait, each source's last event and the MQTT broker (an admin sees all of it; a user their own
//! webhooks).

use super::{Layout, LoggedIn, iso, render};
use crate::api::{ApiError, AppState};
use crate::operations::events::last_event_of;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, TimeDelta, Utc};

/// One minute's bar of the chart.
pub struct Bar {
    pub x: usize,
    pub y: u64,
    pub height: u64,
    pub count: u64,
    pub at: String,
}

/// The chart's drawing height.
const CHART_HEIGHT: u64 = 80;
const MINUTES: usize = 60;

/// Something that needs a look: a destination or webhook that is off, paused or failing.
pub struct Trouble {
    pub name: String,
    pub state: &'static str,
    pub detail: String,
    pub at: Option<String>,
}

/// A source and its last event.
pub struct SourceSeen {
    pub name: String,
    pub app: String,
    pub last_summary: Option<String>,
    pub last_at: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    bars: Vec<Bar>,
    /// Events in the busiest minute: the chart's top.
    busiest: u64,
    events_last_hour: u64,
    /// `97.5 %` of `attempts`, or none without attempts.
    success_rate: Option<String>,
    attempts_last_hour: u64,
    /// Admins: the queue now.
    queue: Option<Queue>,
    troubles: Vec<Trouble>,
    /// Admins: every source.
    sources: Vec<SourceSeen>,
    is_admin: bool,
    /// The newest event now: the live count and source rows follow the stream from it.
    since: String,
    /// Admins: the last reading of hookarr.yaml, when it was refused.
    config_refused: Option<ConfigRefused>,
    /// Admins, with `mqtt:` set: the broker and what Home Assistant was told.
    broker: Option<super::broker::BrokerCard>,
}

/// hookarr.yaml as last read, not applied.
pub struct ConfigRefused {
    pub count: usize,
    pub problems: Vec<String>,
    pub at: String,
}

pub struct Queue {
    pub pending: u64,
    pub due: u64,
    pub dead: u64,
    /// How long the oldest due delivery has waited, `12 s`.
    pub oldest_due: Option<String>,
}

pub async fn page(State(state): State<AppState>, who: LoggedIn) -> Result<Response, ApiError> {
    let now = Utc::now();
    let is_admin = who.caller.is_admin();
    let since = now - TimeDelta::minutes(MINUTES as i64);
    let per_minute = state.store.events_per_minute(since).await?;
    let bars = bars(&per_minute, now);
    let own = crate::operations::webhooks::ids_of(state.store.as_ref(), who.caller.scope()).await?;
    let stats = crate::operations::stats::stats(state.store.as_ref(), own.as_deref(), now).await?;
    let attempts: u64 = stats.iter().map(|s| s.last_hour.attempts).sum();
    let succeeded: u64 = stats.iter().map(|s| s.last_hour.succeeded).sum();
    let success_rate =
        (attempts > 0).then(|| format!("{:.1} %", succeeded as f64 * 100.0 / attempts as f64));
    let mut troubles = Vec::new();
    let mut queue = None;
    let mut sources = Vec::new();
    if is_admin {
        let snapshot = state.store.queue_snapshot(now).await?;
        queue = Some(Queue {
            pending: snapshot.pending,
            due: snapshot.due,
            dead: snapshot.dead,
            oldest_due: snapshot.oldest_due_at.map(|t| waited(now - t)),
        });
        let all_names = state.engine.destination_names();
        let names: Vec<&str> = all_names.iter().map(String::as_str).collect();
        let summaries =
            crate::operations::summaries(&state.engine, state.store.as_ref(), &names).await?;
        for s in summaries {
            let failing = s
                .last_error_at
                .is_some_and(|e| s.last_success_at.is_none_or(|ok| e > ok));
            let paused = s.paused_until.is_some_and(|t| t > now);
            let state_name = match () {
                _ if !s.enabled => "disabled",
                _ if paused => "paused",
                _ if failing => "failing",
                _ => continue,
            };
            troubles.push(Trouble {
                name: s.name,
                state: state_name,
                detail: s
                    .disabled_reason
                    .or(s.last_error)
                    .unwrap_or_else(|| "waiting on the target's Retry-After".into()),
                at: s.last_error_at.or(s.disabled_at).as_ref().map(iso),
            });
        }
        for source in state.sources.all() {
            let last = last_event_of(state.store.as_ref(), &source.name).await?;
            sources.push(SourceSeen {
                name: source.name.clone(),
                app: source.app.as_str().to_owned(),
                last_summary: last.as_ref().map(|e| e.summary.clone()),
                last_at: last.as_ref().map(|e| iso(&e.timestamp)),
            });
        }
    } else {
        // A user's own webhooks, read once above for the stats.
        for id in own.iter().flatten() {
            if let Some(reason) = state.engine.disabled_reason(id) {
                troubles.push(Trouble {
                    name: id.clone(),
                    state: "disabled",
                    detail: reason,
                    at: None,
                });
            }
        }
    }
    let config_refused = match state.live.file_status() {
        crate::live_config::FileStatus::Refused { at, problems } if is_admin => {
            Some(ConfigRefused {
                count: problems.len(),
                problems: problems.iter().map(ToString::to_string).collect(),
                at: iso(&at),
            })
        }
        _ => None,
    };
    let broker = match is_admin {
        true => super::broker::card(&state).await?,
        false => None,
    };
    let page = DashboardPage {
        broker,
        config_refused,
        layout: Layout::new("Dashboard", "/admin", &who),
        events_last_hour: per_minute.iter().map(|(_, n)| n).sum(),
        busiest: bars.iter().map(|b| b.count).max().unwrap_or(0),
        bars,
        success_rate,
        attempts_last_hour: attempts,
        queue,
        troubles,
        sources,
        is_admin,
        since: super::newest_event_id(&state).await?,
    };
    Ok(render(&page))
}

/// How long something waited, in whole seconds: `3m 12s`, or "under a second".
fn waited(d: TimeDelta) -> String {
    match d.num_seconds() {
        s if s < 1 => "under a second".to_owned(),
        s => humantime::format_duration(std::time::Duration::from_secs(s as u64)).to_string(),
    }
}

/// One bar per minute of the last hour, oldest on the left, scaled to the busiest minute.
fn bars(per_minute: &[(DateTime<Utc>, u64)], now: DateTime<Utc>) -> Vec<Bar> {
    let this_minute = now.timestamp() / 60;
    let mut counts = [0u64; MINUTES];
    for (at, n) in per_minute {
        let ago = this_minute - at.timestamp() / 60;
        if (0..MINUTES as i64).contains(&ago) {
            counts[MINUTES - 1 - ago as usize] += n;
        }
    }
    let most = counts.iter().copied().max().unwrap_or(0).max(1);
    counts
        .iter()
        .enumerate()
        .map(|(i, &count)| {
            let height = (count * CHART_HEIGHT).div_ceil(most);
            let minute = this_minute - (MINUTES - 1 - i) as i64;
            let at = DateTime::from_timestamp(minute * 60, 0).unwrap_or(now);
            Bar {
                x: i * 10,
                y: CHART_HEIGHT - height,
                height,
                count,
                at: iso(&at),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_said_in_whole_seconds() {
        assert_eq!(waited(TimeDelta::milliseconds(76)), "under a second");
        assert_eq!(waited(TimeDelta::milliseconds(192_600)), "3m 12s");
    }

    #[test]
    fn bars_put_each_minute_in_its_place_scaled_to_the_busiest() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let minute =
            |ago: i64| DateTime::from_timestamp((now.timestamp() / 60 - ago) * 60, 0).unwrap();
        let bars = bars(&[(minute(0), 4), (minute(2), 2), (minute(90), 7)], now);
        assert_eq!(bars.len(), 60);
        assert_eq!(bars[59].count, 4, "this minute on the right");
        assert_eq!(bars[59].height, CHART_HEIGHT);
        assert_eq!(bars[57].count, 2);
        assert_eq!(bars[57].height, CHART_HEIGHT / 2);
        assert_eq!(bars[57].y, CHART_HEIGHT / 2);
        assert_eq!(
            bars.iter().map(|b| b.count).sum::<u64>(),
            6,
            "older than an hour left out"
        );
        assert_eq!(bars[0].x, 0);
        assert_eq!(bars[59].x, 590);
    }
}
