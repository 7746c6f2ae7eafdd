//! Home Assistant over MQTT, against a real Mosquitto: each test starts its own broker on a free loopback
//! port (so it can stop and restart it) and watches it with a real MQTT client subscribed to `#`. Without
//! the `mosquitto` binary these tests say SKIPPED; with `HOOKARR_TEST_MQTT` set (as `.ci/run` does) they fail
//! instead.

mod broker_faults;
mod discovery_rules;
mod home_assistant;
mod topics;

use hookarr::config::{Config, Mqtt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A Mosquitto of the test's own.
pub struct Broker {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// How the broker is set up.
#[derive(Default, Clone)]
pub struct BrokerSetup {
    /// Only this user and password may connect.
    pub login: Option<(&'static str, &'static str)>,
    /// TLS with a self-signed certificate (which hookarr must refuse).
    pub self_signed_tls: bool,
}

fn mosquitto_binary() -> Option<PathBuf> {
    [
        "/usr/sbin/mosquitto",
        "/usr/bin/mosquitto",
        "/usr/local/sbin/mosquitto",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

impl Broker {
    /// A broker on a free loopback port; `None` (and SKIPPED) when Mosquitto is not installed.
    pub fn start(test: &str) -> Option<Broker> {
        Broker::start_with(test, BrokerSetup::default())
    }

    pub fn start_with(test: &str, setup: BrokerSetup) -> Option<Broker> {
        let Some(binary) = mosquitto_binary() else {
            if std::env::var_os("HOOKARR_TEST_MQTT").is_some() {
                panic!("HOOKARR_TEST_MQTT is set, but the mosquitto binary is not installed");
            }
            crate::helpers::report_skip(
                test,
                "no mosquitto binary (apt-get install mosquitto); the MQTT tests need a real broker",
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut conf =
            format!("listener {port} 127.0.0.1\npersistence false\nlog_dest stderr\nuser root\n");
        match setup.login {
            Some((user, password)) => {
                let file = dir.path().join("passwords");
                let made = Command::new("mosquitto_passwd")
                    .args(["-b", "-c"])
                    .arg(&file)
                    .args([user, password])
                    .output()
                    .expect("mosquitto_passwd runs");
                assert!(made.status.success(), "{made:?}");
                conf += &format!("allow_anonymous false\npassword_file {}\n", file.display());
            }
            None => conf += "allow_anonymous true\n",
        }
        if setup.self_signed_tls {
            let made = Command::new("openssl")
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                ])
                .args(["-subj", "/CN=localhost"])
                .arg("-keyout")
                .arg(dir.path().join("key.pem"))
                .arg("-out")
                .arg(dir.path().join("cert.pem"))
                .output()
                .expect("openssl runs");
            assert!(made.status.success(), "{made:?}");
            conf += &format!(
                "certfile {}\nkeyfile {}\n",
                dir.path().join("cert.pem").display(),
                dir.path().join("key.pem").display()
            );
        }
        std::fs::write(dir.path().join("mosquitto.conf"), conf).unwrap();
        let mut broker = Broker {
            port,
            dir,
            child: None,
        };
        broker.run(&binary);
        Some(broker)
    }

    fn run(&mut self, binary: &Path) {
        let child = Command::new(binary)
            .arg("-c")
            .arg(self.dir.path().join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto starts");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("mosquitto did not listen on {}", self.port);
    }

    /// The broker dies (kill -9): every connection drops.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The broker comes back on the same port (with nothing retained: persistence is off).
    pub fn restart(&mut self) {
        self.kill();
        self.run(&mosquitto_binary().expect("it ran before"));
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// `mqtt:` for this broker, publishing the players of `players`.
    pub fn settings(&self, players: &[&str]) -> Mqtt {
        let yaml = format!(
            "url: {}\nclient_id: hookarr-test-{}\nplayers: {:?}",
            self.url(),
            self.port,
            players
        );
        serde_norway::from_str(&yaml).unwrap()
    }

    /// Points a test config at this broker, with Home Assistant's destination as `load` would add it.
    pub fn configure(&self, cfg: &mut Config, players: &[&str]) {
        cfg.mqtt = Some(self.settings(players));
        let ha = hookarr::config::home_assistant_destination(&cfg.destinations).unwrap();
        cfg.destinations.push(ha);
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One message the watcher saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub topic: String,
    pub payload: String,
    pub retain: bool,
}

impl Seen {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload)
            .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {}", self.topic, self.payload))
    }
}

/// A real MQTT client subscribed to `#`, keeping everything it hears (it reconnects when the broker comes
/// back, as Home Assistant would).
pub struct Watcher {
    pub client: rumqttc::AsyncClient,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Watcher {
    pub async fn start(broker: &Broker) -> Watcher {
        let mut options = rumqttc::MqttOptions::new(
            format!("watcher-{}", rand::random::<u32>()),
            "127.0.0.1",
            broker.port,
        );
        options.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut events) = rumqttc::AsyncClient::new(options, 64);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
        let mut subscribed_tx = Some(subscribed_tx);
        let keep = seen.clone();
        let resubscribe = client.clone();
        let task = tokio::spawn(async move {
            loop {
                match events.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                        let _ = resubscribe.try_subscribe("#", rumqttc::QoS::AtLeastOnce);
                    }
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                        if let Some(tx) = subscribed_tx.take() {
                            let _ = tx.send(());
                        }
                    }
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                        keep.lock().unwrap().push(Seen {
                            topic: p.topic,
                            payload: String::from_utf8_lossy(&p.payload).into_owned(),
                            retain: p.retain,
                        });
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(10), subscribed)
            .await
            .expect("the watcher subscribes")
            .unwrap();
        Watcher { client, seen, task }
    }

    /// Everything heard so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Forgets what was heard.
    pub fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }

    /// Waits (up to 30 s) until a message on `topic` satisfies `done`; returns it.
    pub async fn wait_for(&self, topic: &str, done: impl Fn(&Seen) -> bool) -> Seen {
        self.wait_until(&format!("a message on {topic}"), |all| {
            all.iter()
                .rev()
                .find(|s| s.topic == topic && done(s))
                .cloned()
        })
        .await
    }

    /// Waits (up to 60 s) until `found` finds something in what was heard.
    pub async fn wait_until<T>(&self, what: &str, found: impl Fn(&[Seen]) -> Option<T>) -> T {
        for _ in 0..600 {
            if let Some(t) = found(&self.seen()) {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let heard: Vec<String> = self
            .seen()
            .iter()
            .map(|s| {
                format!(
                    "{} {}",
                    s.topic,
                    s.payload.chars().take(120).collect::<String>()
                )
            })
            .collect();
        panic!("never heard {what}; heard:\n{}", heard.join("\n"));
    }

    /// What the broker retains now, as a new subscriber gets it (an existing subscriber is sent a retained
    /// message without the retain flag, so only a new one can tell).
    pub async fn retained(broker: &Broker) -> Vec<Seen> {
        let fresh = Watcher::start(broker).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        fresh.seen().into_iter().filter(|s| s.retain).collect()
    }

    /// Publishes as Home Assistant would (not retained).
    pub async fn publish(&self, topic: &str, payload: &str) {
        self.client
            .publish(
                topic,
                rumqttc::QoS::AtLeastOnce,
                false,
                payload.as_bytes().to_vec(),
            )
            .await
            .unwrap();
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}
