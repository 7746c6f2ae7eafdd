//! The README's and docs' examples, run as written against a live hookarr: every `curl` line of their `sh`
//! blocks (in order, as one reader would type them — a user, their key, a webhook, a mock…) and every
//! `hookarr …` command they show, so a documented command that stops working fails here.
//!
//! What a reader fills in is filled in the same way: `hk_…` is the admin key or the key made just before,
//! `usr_…`, `wh_…`, `mock_…` the ids the examples before made, `dlv_…` and `evt_…` ones that exist. Nothing
//! leaves loopback: the examples' receiver `https://bot.example.org/hookarr` is a local receiver's URL, and
//! their Discord destinations another.

use crate::binary::{BIN, start};
use crate::helpers::{ADMIN_KEY, fixture};
use crate::receiver::{Receiver, Reply};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// The documents whose examples are run.
fn documents() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs = vec![root.join("README.md")];
    let mut more: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    docs.into_iter()
        .map(|p| {
            let name = p.strip_prefix(root).unwrap().display().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The commands of a document's `sh` blocks that start with `curl`: a line, with the lines a quote left
/// open joined to it, less a trailing `# comment`.
fn curl_commands(text: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_sh = false;
    let mut open: Option<String> = None;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            open = None;
            continue;
        }
        if !in_sh {
            continue;
        }
        let joined = match open.take() {
            Some(start) => format!("{start}\n{line}"),
            None if line.trim_start().starts_with("curl ") => line.trim().to_owned(),
            None => continue,
        };
        if joined.matches('\'').count() % 2 == 1 {
            open = Some(joined);
        } else {
            commands.push(without_comment(&joined));
        }
    }
    commands
}

/// A command less its trailing `# comment` (a `#` outside quotes after a space).
fn without_comment(command: &str) -> String {
    let (mut single, mut double) = (false, false);
    let bytes = command.as_bytes();
    for (i, c) in command.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && i > 0 && bytes[i - 1] == b' ' => {
                return command[..i].trim_end().to_owned();
            }
            _ => {}
        }
    }
    command.trim_end().to_owned()
}

/// The `hookarr …` commands shown in running text (`` `hookarr check-config` ``): those that are a command
/// to type, not a synopsis (`[--all]`, `NAME`, `<name>`, `…`) nor the bare name of one (`hookarr render`).
fn hookarr_commands(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for span in text.split('`').skip(1).step_by(2) {
        let span = span.split_whitespace().collect::<Vec<_>>().join(" ");
        let Some(args) = span.strip_prefix("hookarr ") else {
            continue;
        };
        let synopsis = args.contains(['[', ']', '|', '(', '<', '…'])
            || args
                .split(' ')
                .any(|w| w.len() > 1 && w.chars().all(|c| c.is_ascii_uppercase()));
        let bare_name = !args.contains(' ')
            && matches!(args, "render" | "send-test" | "replay" | "keys" | "users");
        if !synopsis && !bare_name && args != "serve" {
            found.push(span);
        }
    }
    found
}

/// The ids the examples made so far, by placeholder.
#[derive(Default)]
struct Made(HashMap<&'static str, String>);

impl Made {
    /// Takes in what an answer made: a user, a key, a webhook, a mock.
    fn learn(&mut self, answer: &Value) {
        if let Some(id) = answer["id"].as_str() {
            for prefix in ["usr_", "wh_", "mock_"] {
                if id.starts_with(prefix) {
                    self.0.insert(prefix, id.to_owned());
                }
            }
        }
        if let Some(key) = answer["key"].as_str() {
            self.0.insert("KEY", key.to_owned());
        }
    }

    /// The command with every placeholder filled in; panics on one nothing before made.
    fn fill(&self, command: &str, where_: &str) -> String {
        let mut filled = command.replace("https://bot.example.org/hookarr", &self.0["bot"]);
        for prefix in ["usr_", "wh_", "mock_", "dlv_", "evt_01M8"] {
            let placeholder = format!("{prefix}…");
            if filled.contains(&placeholder) {
                let key = prefix.trim_end_matches("01M8");
                let id = self.0.get(key).unwrap_or_else(|| {
                    panic!("{where_}: nothing made a {prefix} before `{command}`")
                });
                filled = filled.replace(&placeholder, id);
            }
        }
        filled.replace("whsec_…", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    }
}

/// Posts a Radarr grab and returns the id of the delivery it makes for the owner of `key` (to their webhook).
async fn a_delivery_of(client: &reqwest::Client, base: &str, token: &str, key: &str) -> String {
    let posted = client
        .post(format!("{base}/hooks/radarr?token={token}"))
        .header("content-type", "application/json")
        .body(fixture("radarr", "grab"))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 202);
    for _ in 0..200 {
        let listed = crate::serve::get_json(client, &format!("{base}/api/deliveries"), key).await;
        if let Some(id) = listed["items"][0]["id"].as_str() {
            return id.to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the webhook registered by the examples got no delivery");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_and_docs_examples_run_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let discord = Receiver::start().await;
    discord.set_default(Reply::status(200).body(r#"{"id": "1", "channel_id": "2"}"#));
    let db = format!("sqlite://{}/hookarr.db", dir.path().display());
    let dest = |name: &str| {
        format!(
            "  - {{name: {name}, type: discord, url: '{}'}}\n",
            discord.url("/api/webhooks/1/t")
        )
    };
    // `hookarr mqtt test` needs a broker (without Mosquitto that command is skipped, and says so).
    let broker = crate::mqtt::Broker::start("docs_examples: `hookarr mqtt test`");
    let mqtt = broker
        .as_ref()
        .map(|b| format!("mqtt:\n  url: {}\n", b.url()))
        .unwrap_or_default();
    let extra = format!(
        "api:\n  allow_private_targets: true\n{mqtt}destinations:\n{}{}",
        dest("discord"),
        dest("discord-movies")
    );
    let config = crate::binary::write_config_with(dir.path(), &db, Some(ADMIN_KEY), &extra);
    let running = start(&config, dir.path());
    // What the examples refer to: an event, and a payload file (`--payload download.json`).
    std::fs::write(
        dir.path().join("download.json"),
        fixture("radarr", "download"),
    )
    .unwrap();
    let token = crate::binary::token_of(&running.banner, "radarr");
    let client = reqwest::Client::new();
    let posted = client
        .post(format!("{}/hooks/radarr?token={token}", running.base))
        .header("content-type", "application/json")
        .body(fixture("radarr", "download"))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 202);
    let posted: Value = posted.json().await.unwrap();
    let bot = Receiver::start().await;
    let mut made = Made::default();
    made.0.insert("bot", bot.url("/hookarr"));
    made.0
        .insert("evt_", posted["events"][0].as_str().unwrap().to_owned());

    let mut ran = 0;
    for (doc, text) in documents() {
        for command in curl_commands(&text) {
            let where_ = format!("{doc}: `{command}`");
            let filled = made.fill(&command, &where_);
            let streams = filled.starts_with("curl -N");
            let out = Command::new("bash")
                .arg("-c")
                .arg(format!("{filled} --max-time 3 -w '\\n%{{http_code}}'"))
                .env("HOOKARR", &running.base)
                .env("ADMIN", ADMIN_KEY)
                .env("KEY", made.0.get("KEY").map_or(ADMIN_KEY, String::as_str))
                .current_dir(dir.path())
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let (body, status) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
            let status: u16 = status.trim().parse().unwrap_or(0);
            // A stream runs until curl's time is up (exit 28), having answered 200.
            let finished = out.status.success() || (streams && out.status.code() == Some(28));
            assert!(finished, "{where_} failed: {out:?}");
            let retry_of_nothing_dead = filled.contains("/retry") && status == 409;
            assert!(
                (200..300).contains(&status) || retry_of_nothing_dead,
                "{where_} answered {status}: {body}"
            );
            let Ok(answer) = serde_json::from_str::<Value>(body) else {
                ran += 1;
                continue;
            };
            made.learn(&answer);
            // The webhook just registered gets a delivery, for the example that retries one.
            if answer["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("wh_"))
                && !made.0.contains_key("dlv_")
            {
                let key = made
                    .0
                    .get("KEY")
                    .cloned()
                    .unwrap_or_else(|| ADMIN_KEY.into());
                made.0.insert(
                    "dlv_",
                    a_delivery_of(&client, &running.base, &token, &key).await,
                );
            }
            ran += 1;
        }
        for command in hookarr_commands(&text) {
            if command.starts_with("hookarr mqtt") && broker.is_none() {
                continue;
            }
            let args: Vec<&str> = command.split(' ').skip(1).collect();
            let out = Command::new(BIN)
                .args(&args)
                .env("HOOKARR_CONFIG", &config)
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(out.status.success(), "{doc}: `{command}` failed: {out:?}");
            ran += 1;
        }
    }
    assert!(ran >= 25, "the examples were found: {ran}");
    drop(running);
}

#[test]
fn examples_are_read_as_a_reader_types_them() {
    let text = "x\n```sh\ncurl -s $H/a -d '{\n  \"a\": 1}'   # makes one\necho no\ncurl -N $H/b # live\n```\n\
                ```yaml\ncurl -s not-shell\n```\nRun `hookarr check-config`, not `hookarr render`, \
                `hookarr keys create --user NAME` or `hookarr replay --since 1h\n--destination discord`.";
    assert_eq!(
        curl_commands(text),
        ["curl -s $H/a -d '{\n  \"a\": 1}'", "curl -N $H/b"]
    );
    assert_eq!(
        hookarr_commands(text),
        [
            "hookarr check-config",
            "hookarr replay --since 1h --destination discord"
        ]
    );
}
