//! `hookarr replay --since DURATION [--destination NAME] [--all] [--dry-run]`: what a destination missed,
//! sent again. By default only what did not reach it — an event with no succeeded delivery to that
//! destination — so a replay after an outage sends no duplicates; `--all` sends everything again. The counts
//! are said before anything is queued, `--dry-run` lists what would go and queues nothing, and the replay is
//! logged and written to the audit log. The running `serve` sends what was queued.

use super::{audit, open_store, say_no_destination, templates_or_print};
use crate::config::Loaded;
use crate::event::Event;
use crate::storage::{self, NewDelivery};
use anyhow::Context as _;
use std::process::ExitCode;
use std::sync::Arc;

/// What `hookarr replay` was asked.
pub(super) struct Ask {
    pub since: std::time::Duration,
    pub destination: Option<String>,
    pub all: bool,
    pub dry_run: bool,
}

pub(super) async fn replay(loaded: Loaded, ask: Ask) -> anyhow::Result<ExitCode> {
    let Some(templates) = templates_or_print(&loaded) else {
        return Ok(ExitCode::from(2));
    };
    let store = open_store(&loaded).await?;
    let engine = super::engine_in_force(&loaded, store.clone(), Arc::new(templates)).await?;
    if let Some(name) = &ask.destination
        && engine.target(name).is_none()
    {
        say_no_destination(name, engine.destination_names().iter().map(String::as_str));
        return Ok(ExitCode::from(2));
    }
    let span = humantime::format_duration(ask.since).to_string();
    let from = chrono::Utc::now()
        - chrono::Duration::from_std(ask.since).context("--since is too long")?;
    let events = events_since(store.as_ref(), from).await?;
    if events.is_empty() {
        println!("no event received in the last {span}");
        return Ok(ExitCode::SUCCESS);
    }
    // What each event would get, less what already reached its destination (unless --all).
    let names = ask.destination.clone().map(|d| vec![d]);
    let mut planned: Vec<(Event, Vec<NewDelivery>)> = Vec::new();
    let mut skipped = 0;
    for event in events {
        let mut rows = crate::operations::plan_replay(&engine, &event, names.as_deref())?;
        if !ask.all {
            let reached =
                crate::operations::delivered_to(store.as_ref(), event.id.as_str()).await?;
            let before = rows.len();
            rows.retain(|r| !reached.contains(&r.destination));
            skipped += before - rows.len();
        }
        planned.push((event, rows));
    }
    let total = planned.len();
    let deliveries: usize = planned.iter().map(|(_, rows)| rows.len()).sum();
    let with_rows = planned.iter().filter(|(_, rows)| !rows.is_empty()).count();
    let already = match ask.all {
        true => String::new(),
        false => format!(" ({skipped} already delivered, skipped; --all sends those too)"),
    };
    println!(
        "{total} events received in the last {span}: {deliveries} deliveries to make for {with_rows} of them{already}"
    );
    if ask.dry_run {
        for (event, rows) in &planned {
            for row in rows {
                println!(
                    "  {} {} ‘{}’ → {}",
                    event.id.as_str(),
                    event.event.as_str(),
                    event.summary,
                    row.destination
                );
            }
        }
        println!("dry run: nothing was queued");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<NewDelivery> = planned.into_iter().flat_map(|(_, rows)| rows).collect();
    for chunk in rows.chunks(500) {
        store.insert_deliveries(chunk).await?;
    }
    println!("replayed {with_rows} of {total} events: {deliveries} deliveries");
    tracing::info!(
        message = "Events replayed from the command line.",
        since = %span,
        destination = ask.destination.as_deref().unwrap_or("as routed"),
        all = ask.all,
        events = with_rows,
        deliveries,
        skipped,
    );
    let detail = serde_json::json!({
        "since": span, "destination": ask.destination, "all": ask.all,
        "events": with_rows, "deliveries": deliveries, "skipped": skipped,
    });
    let target = ask.destination.as_deref().unwrap_or("*");
    audit(
        store.as_ref(),
        "events.replayed",
        "destination",
        target,
        None,
        detail,
    )
    .await;
    if deliveries > 0 {
        println!(
            "the running `hookarr serve` sends them (or the next one started on this database)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The events received since `from`, oldest first.
async fn events_since(
    store: &dyn storage::Store,
    from: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Vec<Event>> {
    let mut events = Vec::new();
    let mut query = storage::EventQuery {
        since: Some(from),
        limit: 500,
        ..Default::default()
    };
    loop {
        let page = store.list_events(&query).await?;
        let last = page.items.last().map(|e| e.id.clone());
        events.extend(page.items);
        match (page.next, last) {
            (Some(_), Some(last)) => query.before = Some(last),
            _ => break,
        }
    }
    events.reverse();
    Ok(events)
}
