//! The real `hookarr serve` as the integration tests and the benchmarks run it: spawned with its banner read,
//! and its API asked with a key.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Spawns `command` (the binary, or a launcher that execs it with its arguments) as `serve --config
/// CONFIG` with `RUST_LOG=level` and its log on `log`; returns the child, the banner's lines up to its `API:`
/// line, and the base URL it announced. The rest of stdout keeps being drained so the child never blocks.
pub fn spawn_serve(
    mut command: Command,
    config: &Path,
    level: &str,
    log: Stdio,
) -> (Child, Vec<String>, String) {
    let mut child = command
        .args(["serve", "--config"])
        .arg(config)
        .env_remove("HOOKARR_CONFIG")
        .env("RUST_LOG", level)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("hookarr starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
    let mut banner = Vec::new();
    let base = loop {
        let line = lines
            .next()
            .expect("the banner ends with the API line")
            .expect("the banner is text");
        banner.push(line.clone());
        if let Some(rest) = line.strip_prefix("API: ") {
            break rest.split("/api/").next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, banner, base)
}

/// `GET url` with an API key, as JSON.
pub async fn get_json(client: &reqwest::Client, url: &str, key: &str) -> serde_json::Value {
    client
        .get(url)
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
