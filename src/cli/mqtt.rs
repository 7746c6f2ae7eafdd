//! `hookarr mqtt test`: connects to the broker of `mqtt:` as a one-off client and publishes a test message,
//! saying what the broker answered — the check to run before pointing Home Assistant at it.

use crate::config::Loaded;
use crate::mqtt::{Link, Message};
use std::process::ExitCode;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long the test waits for the broker.
const WAIT: Duration = Duration::from_secs(10);

pub(super) async fn test(loaded: Loaded) -> anyhow::Result<ExitCode> {
    let Some(settings) = loaded.config.mqtt.clone() else {
        eprintln!(
            "hookarr: no `mqtt:` section in the configuration: add `mqtt: {{url: mqtt://host:1883}}`"
        );
        return Ok(ExitCode::from(2));
    };
    let topic = format!("{}/test", settings.base_topic);
    let stop = CancellationToken::new();
    let link = Link::probe(settings, stop.clone());
    let mut state = link.watch();
    let connected = tokio::time::timeout(WAIT, async {
        loop {
            let now = state.borrow_and_update().clone();
            // The first failure is the answer (the link goes on retrying in the background).
            match (now.connected, now.problem.as_deref()) {
                (true, _) => return Ok(now),
                (false, Some(problem)) if problem != "connecting" => return Err(problem.to_owned()),
                _ => {}
            }
            if state.changed().await.is_err() {
                return Err("the connection ended".to_owned());
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        Err(format!(
            "no answer from {} within {} s",
            link.state().broker,
            WAIT.as_secs()
        ))
    });
    let outcome = match connected {
        Ok(state) => {
            say!("connected to {}", state.broker);
            let payload = serde_json::json!({
                "message": "Test message from hookarr: the broker works.",
                "at": chrono::Utc::now(),
            });
            match link
                .publish(Message::new(&topic, payload.to_string(), false), WAIT)
                .await
            {
                Ok(()) => {
                    say!("published a test message on {topic}: the broker acknowledged it");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("hookarr: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(problem) => {
            eprintln!("hookarr: {problem}");
            ExitCode::FAILURE
        }
    };
    stop.cancel();
    // Let the link leave cleanly.
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(outcome)
}
