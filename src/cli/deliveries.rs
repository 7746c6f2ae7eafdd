//! The one-shot commands that try a destination: `render` (the request it would get) and `send-test` (a
//! `test` event now).

use super::{audit, open_store_or_scratch, say_no_destination, templates_or_print};
use crate::config::Loaded;
use anyhow::Context as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

pub(super) async fn render(
    loaded: Loaded,
    destination: &str,
    payload: Option<(String, PathBuf)>,
    event_id: Option<String>,
) -> anyhow::Result<ExitCode> {
    use crate::operations::{OperationError, PreviewEvent};
    use crate::outbound;
    let Some(templates) = templates_or_print(&loaded) else {
        return Ok(ExitCode::from(2));
    };
    let store = open_store_or_scratch(&loaded).await?;
    let templates = Arc::new(templates);
    let engine = super::engine_in_force(&loaded, store.clone(), templates.clone()).await?;
    let Some(target) = engine.target(destination) else {
        say_no_destination(
            destination,
            engine.destination_names().iter().map(String::as_str),
        );
        return Ok(ExitCode::from(2));
    };
    let mut source_and_body = None;
    if let Some((source, file)) = payload {
        let (sources, _) = crate::sources::Sources::bootstrap(
            &loaded.config,
            store.as_ref(),
            crate::secret_box::SecretBox::for_config(&loaded.config, true)?,
        )
        .await?;
        let Some(source) = sources.get(&source) else {
            eprintln!("hookarr: no source named `{source}`");
            return Ok(ExitCode::from(2));
        };
        let body =
            std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        source_and_body = Some((source, body, file));
    }
    let event = match (&source_and_body, &event_id) {
        (Some((source, body, _)), _) => PreviewEvent::Payload { source, body },
        (None, Some(id)) => PreviewEvent::Stored(id),
        (None, None) => unreachable!("clap requires --source/--payload or --event-id"),
    };
    let preview =
        match crate::operations::preview(&templates, store.as_ref(), &target, None, event).await {
            Ok(p) => p,
            Err(OperationError::Invalid { message, .. }) => {
                let file = source_and_body.map(|(_, _, f)| f).unwrap_or_default();
                eprintln!("hookarr: {} {message}", file.display());
                return Ok(ExitCode::from(1));
            }
            Err(OperationError::NotFound(message)) => {
                eprintln!("hookarr: {message}");
                return Ok(ExitCode::from(1));
            }
            Err(e) => return Err(e.into()),
        };
    let now = chrono::Utc::now().timestamp();
    let request = preview.payload.and_then(|payload| {
        outbound::build_request(&target, &preview.event, "dlv_render", &payload, now)
            .map_err(|e| e.to_string())
    });
    let request = match request {
        Ok(request) => request,
        Err(problem) => {
            eprintln!("hookarr: {problem}");
            return Ok(ExitCode::from(1));
        }
    };
    print!("{}", request.shown());
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn send_test(loaded: Loaded, destination: &str) -> anyhow::Result<ExitCode> {
    use crate::operations::OperationError;
    let Some(templates) = templates_or_print(&loaded) else {
        return Ok(ExitCode::from(2));
    };
    let store = open_store_or_scratch(&loaded).await?;
    let engine = super::engine_in_force(&loaded, store.clone(), Arc::new(templates)).await?;
    let sent = match crate::operations::send_test(&engine, destination).await {
        Ok(sent) => sent,
        Err(OperationError::NotFound(_)) => {
            say_no_destination(
                destination,
                engine.destination_names().iter().map(String::as_str),
            );
            return Ok(ExitCode::from(2));
        }
        Err(e) => {
            eprintln!("hookarr: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let detail = serde_json::json!({"status": sent.status, "error": sent.error});
    audit(
        store.as_ref(),
        "destination.tested",
        "destination",
        destination,
        None,
        detail,
    )
    .await;
    match (sent.status, &sent.error) {
        (Some(status), _) => println!(
            "{destination}: HTTP {status} in {} ms",
            sent.duration.as_millis()
        ),
        (None, Some(error)) => println!("{destination}: not delivered: {error}"),
        (None, None) => println!("{destination}: not delivered"),
    }
    if let (Some(_), Some(error)) = (sent.status, &sent.error) {
        println!("error: {error}");
    }
    if !sent.body.is_empty() {
        println!(
            "{}",
            crate::outbound::templates::truncate_chars(&sent.body, 2000)
        );
    }
    Ok(if sent.status.is_some_and(|s| (200..300).contains(&s)) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
