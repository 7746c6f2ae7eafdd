//! The one-shot commands about who may talk to hookarr: `sources` (their Connect URLs) and `keys create`,
//! with the source label the banner shares.

use super::{audit, open_store};
use crate::config::Loaded;
use crate::secrets::new_api_key;
use crate::storage::{Role, StoreError};
use anyhow::Context as _;
use std::process::ExitCode;

/// A source as listed beside its URL: its name, and its app when the name does not say it (`radarr-4k
/// (radarr)`).
pub(super) fn source_label(name: &str, app: &str) -> String {
    if name == app {
        name.to_owned()
    } else {
        format!("{name} ({app})")
    }
}

/// `hookarr sources [--show-tokens]`: every source with its app and Connect URL.
pub(super) async fn list_sources(loaded: Loaded, show_tokens: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(&loaded).await?;
    let (sources, _) = crate::sources::Sources::bootstrap(
        &loaded.config,
        store.as_ref(),
        crate::secret_box::SecretBox::for_config(&loaded.config, true)?,
    )
    .await?;
    let listen = loaded
        .config
        .server
        .listen
        .parse()
        .context("server.listen is not an address")?;
    let public_url = crate::app::public_url(&loaded.config, listen);
    for s in sources.all() {
        say!(
            "{:<18} {}",
            source_label(&s.name, s.app.as_str()),
            s.connect_url(&public_url, show_tokens)
        );
        if let Some(apprise) = s.apprise_url(&public_url, show_tokens) {
            say!("{:<18} {apprise} (the Apprise URL, for Bazarr)", "");
        }
    }
    if !show_tokens && sources.all().iter().any(|s| s.token.is_some()) {
        say!("(tokens hidden; add --show-tokens to print them)");
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn create_key(
    loaded: Loaded,
    name: &str,
    admin: bool,
) -> anyhow::Result<ExitCode> {
    let store = open_store(&loaded).await?;
    let role = if admin { Role::Admin } else { Role::User };
    let user = match store.find_user(name).await? {
        Some(user) => user,
        None => match store.create_user(name, role).await {
            Ok(user) => user,
            Err(StoreError::Conflict(_)) => {
                store.find_user(name).await?.context("user vanished")?
            }
            Err(e) => return Err(e.into()),
        },
    };
    let key = new_api_key();
    let row = store
        .insert_api_key(&user.id, &key.hash, &key.prefix, "")
        .await?;
    let detail = serde_json::json!({"name": row.name, "prefix": row.prefix, "user": user.name});
    audit(
        store.as_ref(),
        "key.created",
        "key",
        &row.id,
        Some(&user.id),
        detail,
    )
    .await;
    println!("{}", key.key);
    eprintln!(
        "API key for `{}` ({}); shown once.",
        user.name,
        user.role.as_str()
    );
    Ok(ExitCode::SUCCESS)
}
