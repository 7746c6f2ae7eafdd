//! `hookarr config export` and `hookarr config import FILE`: the destinations and sources made in the page,
//! printed as the YAML `hookarr.yaml` takes, and such a file stored (checked first, like the API checks it).

use super::{audit, engine_in_force, open_store, templates_or_print};
use crate::config::Loaded;
use crate::live_config::{ChangeContext, LiveConfig};
use anyhow::Context as _;
use std::process::ExitCode;
use std::sync::Arc;

pub(super) async fn export(loaded: Loaded) -> anyhow::Result<ExitCode> {
    let Some(templates) = templates_or_print(&loaded) else {
        return Ok(ExitCode::from(2));
    };
    let store = open_store(&loaded).await?;
    let live = LiveConfig::for_command(&loaded.config, Arc::new(templates))?;
    let sources = sources_of(&loaded, store.as_ref()).await?;
    print!("{}", live.export(store.as_ref(), &sources.all()).await?);
    let unreadable = live.unreadable();
    for why in &unreadable {
        eprintln!("hookarr: not exported: {why}");
    }
    Ok(if unreadable.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub(super) async fn import(loaded: Loaded, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let Some(templates) = templates_or_print(&loaded) else {
        return Ok(ExitCode::from(2));
    };
    let store = open_store(&loaded).await?;
    let templates = Arc::new(templates);
    let engine = engine_in_force(&loaded, store.clone(), templates.clone()).await?;
    // The key is the server's (made beside the database when it first started): what is sealed here, it opens.
    let live = LiveConfig::new(&loaded.config, templates)?;
    let sources = sources_of(&loaded, store.as_ref()).await?;
    let names = sources.all().iter().map(|s| s.name.clone()).collect();
    let cx = ChangeContext {
        engine: &engine,
        store: store.as_ref(),
        sources: &names,
    };
    match live.import(&cx, &sources, &text, "command line").await {
        Ok(done) => {
            println!(
                "imported {} destination(s), {} source(s) and {} person(s) from {}: {} destination(s) added, {} replaced",
                done.added.len() + done.replaced.len(),
                done.sources.len(),
                done.people.len(),
                file.display(),
                done.added.len(),
                done.replaced.len()
            );
            let detail = serde_json::json!({"added": done.added, "replaced": done.replaced, "sources": done.sources, "people": done.people});
            audit(
                store.as_ref(),
                "config.imported",
                "config",
                &file.display().to_string(),
                None,
                detail,
            )
            .await;
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            eprintln!(
                "hookarr: {} has {} problem(s); nothing was imported:",
                file.display(),
                problems.len()
            );
            for p in &problems {
                eprintln!("  - {p}");
            }
            Ok(ExitCode::from(2))
        }
    }
}

/// Every source of the database and the config, their tokens opened with the database's key.
async fn sources_of(
    loaded: &Loaded,
    store: &dyn crate::storage::Store,
) -> anyhow::Result<crate::sources::Sources> {
    let secret_box = crate::secret_box::SecretBox::for_config(&loaded.config, true)?;
    secret_box.check_against(store).await?;
    Ok(
        crate::sources::Sources::bootstrap(&loaded.config, store, secret_box)
            .await?
            .0,
    )
}
