//! A broker connection: one rumqttc event loop kept up with backoff, a last will of `offline` on
//! `<base_topic>/status` and `online` on every connect, QoS 1 publishes answered when the broker acknowledges
//! them, and the messages hookarr subscribes to passed on. What it is doing now is in [`LinkState`].

use crate::config::Mqtt;
use chrono::{DateTime, Utc};
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, LastWill, MqttOptions, Outgoing,
    Packet, QoS, Transport,
};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

/// One message to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

impl Message {
    pub fn new(topic: impl Into<String>, payload: impl Into<Vec<u8>>, retain: bool) -> Message {
        Message {
            topic: topic.into(),
            payload: payload.into(),
            retain,
        }
    }
}

/// A message the broker passed to hookarr (it subscribes to Home Assistant's status and its own commands).
#[derive(Debug, Clone)]
pub struct Incoming {
    pub topic: String,
    pub payload: Vec<u8>,
    /// Kept by the broker from before: never a command (it would be carried out again at every connect).
    pub retained: bool,
}

/// Why a publish did not reach the broker.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum PublishError {
    #[error("the MQTT broker at {broker} is not connected: {why}")]
    NotConnected { broker: String, why: String },
    #[error(
        "the connection to the MQTT broker at {broker} was lost before it acknowledged the message"
    )]
    Lost { broker: String },
    #[error("the MQTT broker at {broker} did not acknowledge the message within {secs} s")]
    TimedOut { broker: String, secs: u64 },
}

/// What the link is doing now.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LinkState {
    /// `host:port` of the broker.
    pub broker: String,
    pub connected: bool,
    /// Since when it is connected, or not.
    pub since: DateTime<Utc>,
    /// What went wrong last, in words ("the broker refused the user name or password").
    pub problem: Option<String>,
    /// Connections made since start (a new one after each loss).
    pub connects: u64,
}

/// A publish on its way: who waits for the broker's acknowledgement.
struct Waiting {
    message: Message,
    done: oneshot::Sender<Result<(), PublishError>>,
}

/// The publishes the link holds at once; past it a publish waits for room (far below rumqttc's in-flight
/// window, so its packet ids never collide).
const OUTSTANDING: usize = 64;

/// The handle of the link; cheap to clone.
#[derive(Clone)]
pub struct Link {
    requests: mpsc::Sender<Waiting>,
    state: watch::Receiver<LinkState>,
    incoming: broadcast::Sender<Incoming>,
    pub settings: Arc<Mqtt>,
}

impl Link {
    /// Starts hookarr's connection to the broker of `settings`: its last will, `online` on connect, Home
    /// Assistant's status and the hub's commands subscribed. It runs until `stop` is cancelled, then says
    /// `offline` and disconnects.
    pub fn start(settings: Mqtt, stop: CancellationToken) -> Link {
        Link::open(settings, Role::Hub, stop)
    }

    /// A connection that only publishes (`hookarr mqtt test`): its own client id, no will, no availability —
    /// so that it neither takes the running hub's place on the broker nor says hookarr went offline.
    pub fn probe(mut settings: Mqtt, stop: CancellationToken) -> Link {
        let suffix: u32 = rand::random_range(0..1_000_000);
        settings.client_id = Some(format!("{}-test-{suffix:06}", settings.client_id()));
        Link::open(settings, Role::Probe, stop)
    }

    fn open(settings: Mqtt, role: Role, stop: CancellationToken) -> Link {
        let settings = Arc::new(settings);
        let broker = broker_of(&settings.url);
        let (requests, rx) = mpsc::channel(OUTSTANDING);
        let (state_tx, state) = watch::channel(LinkState {
            broker: broker.clone(),
            connected: false,
            since: Utc::now(),
            problem: Some("connecting".into()),
            connects: 0,
        });
        let (incoming, _) = broadcast::channel(256);
        let link = Link {
            requests,
            state,
            incoming: incoming.clone(),
            settings: settings.clone(),
        };
        let runner = Runner {
            role,
            broker,
            settings,
            rx,
            state: state_tx,
            incoming,
            sent: VecDeque::new(),
            acked: HashMap::new(),
        };
        tokio::spawn(runner.run(stop));
        link
    }

    /// The topic hookarr's availability is published on.
    pub fn status_topic(&self) -> String {
        format!("{}/status", self.settings.base_topic)
    }

    /// What the link is doing now.
    pub fn state(&self) -> LinkState {
        self.state.borrow().clone()
    }

    /// Changes of the link's state (a connect, a loss).
    pub fn watch(&self) -> watch::Receiver<LinkState> {
        self.state.clone()
    }

    /// The messages the broker passes on.
    pub fn incoming(&self) -> broadcast::Receiver<Incoming> {
        self.incoming.subscribe()
    }

    /// Publishes `message` with QoS 1 and waits up to `timeout` for the broker's acknowledgement. A link that
    /// is not connected refuses at once: the caller tries again later (the delivery's schedule).
    pub async fn publish(&self, message: Message, timeout: Duration) -> Result<(), PublishError> {
        let broker = || self.state.borrow().broker.clone();
        let state = self.state();
        if !state.connected {
            return Err(PublishError::NotConnected {
                broker: state.broker,
                why: state.problem.unwrap_or_else(|| "not connected yet".into()),
            });
        }
        let (done, answer) = oneshot::channel();
        let waited = tokio::time::timeout(timeout, async {
            self.requests
                .send(Waiting { message, done })
                .await
                .map_err(|_| PublishError::Lost { broker: broker() })?;
            answer
                .await
                .unwrap_or(Err(PublishError::Lost { broker: broker() }))
        })
        .await;
        waited.unwrap_or_else(|_| {
            Err(PublishError::TimedOut {
                broker: broker(),
                secs: timeout.as_secs(),
            })
        })
    }
}

/// What a connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// hookarr's own: will, availability, subscriptions.
    Hub,
    /// A one-off publisher.
    Probe,
}

/// The task that owns the event loop.
struct Runner {
    role: Role,
    broker: String,
    settings: Arc<Mqtt>,
    rx: mpsc::Receiver<Waiting>,
    state: watch::Sender<LinkState>,
    incoming: broadcast::Sender<Incoming>,
    /// Handed to rumqttc, in order, waiting for the packet id it gives them (`None`: hookarr's own).
    sent: VecDeque<Option<Waiting>>,
    /// Sent with this packet id, waiting for the broker's PUBACK.
    acked: HashMap<u16, Waiting>,
}

impl Runner {
    async fn run(mut self, stop: CancellationToken) {
        let status = format!("{}/status", self.settings.base_topic);
        let (client, mut events) =
            AsyncClient::new(options(&self.settings, &status, self.role), 256);
        // Small packets each waited on (a PUBACK): Nagle's algorithm with delayed ACKs would hold them ~40 ms.
        let mut network = events.network_options();
        network.set_tcp_nodelay(true);
        network.set_connection_timeout(10);
        events.set_network_options(network);
        let mut backoff = Duration::from_secs(1);
        loop {
            let room = self.sent.len() + self.acked.len() < OUTSTANDING;
            let connected = self.state.borrow().connected;
            tokio::select! {
                _ = stop.cancelled() => break,
                event = events.poll() => match event {
                    Ok(event) => {
                        if self.on_event(event, &client, &status) {
                            backoff = Duration::from_secs(1);
                        }
                    }
                    Err(error) => {
                        self.lost(describe(&error, &self.broker));
                        tokio::select! {
                            _ = stop.cancelled() => break,
                            _ = tokio::time::sleep(jittered(backoff)) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(60));
                    }
                },
                Some(waiting) = self.rx.recv(), if connected && room => {
                    let m = &waiting.message;
                    match client.try_publish(m.topic.clone(), QoS::AtLeastOnce, m.retain, m.payload.clone()) {
                        Ok(()) => self.sent.push_back(Some(waiting)),
                        Err(e) => {
                            let _ = waiting.done.send(Err(PublishError::NotConnected {
                                broker: self.broker.clone(),
                                why: e.to_string(),
                            }));
                        }
                    }
                }
            }
        }
        // Going away on purpose: say so (the last will is only for a death), then leave.
        if self.state.borrow().connected {
            if self.role == Role::Hub {
                let _ = client.try_publish(&status, QoS::AtLeastOnce, true, "offline");
            }
            let _ = client.try_disconnect();
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while events.poll().await.is_ok() {}
            })
            .await;
        }
    }

    /// Handles one event of the loop; `true` when it was a connect.
    fn on_event(&mut self, event: Event, client: &AsyncClient, status: &str) -> bool {
        match event {
            Event::Incoming(Packet::ConnAck(_)) => {
                // Availability first, then what hookarr listens to; the announcer republishes on the change.
                if self.role == Role::Hub {
                    let _ = client.try_publish(status, QoS::AtLeastOnce, true, "online");
                    self.sent.push_back(None);
                    let prefix = &self.settings.discovery_prefix;
                    let base = &self.settings.base_topic;
                    for topic in [format!("{prefix}/status"), format!("{base}/hub/+/set")] {
                        let _ = client.try_subscribe(topic, QoS::AtLeastOnce);
                    }
                }
                self.state.send_modify(|s| {
                    s.connected = true;
                    s.since = Utc::now();
                    s.problem = None;
                    s.connects += 1;
                });
                return true;
            }
            Event::Outgoing(Outgoing::Publish(pkid)) => {
                if let Some(Some(waiting)) = self.sent.pop_front() {
                    self.acked.insert(pkid, waiting);
                }
            }
            Event::Incoming(Packet::PubAck(ack)) => {
                if let Some(waiting) = self.acked.remove(&ack.pkid) {
                    let _ = waiting.done.send(Ok(()));
                }
            }
            Event::Incoming(Packet::Publish(p)) => {
                let _ = self.incoming.send(Incoming {
                    topic: p.topic,
                    payload: p.payload.to_vec(),
                    retained: p.retain,
                });
            }
            _ => {}
        }
        false
    }

    /// The connection is gone: every publish not acknowledged fails (a clean session drops them; the
    /// deliveries try again), and the state says why.
    fn lost(&mut self, why: String) {
        let broker = self.broker.clone();
        for waiting in self
            .sent
            .drain(..)
            .flatten()
            .chain(self.acked.drain().map(|(_, w)| w))
        {
            let _ = waiting.done.send(Err(PublishError::Lost {
                broker: broker.clone(),
            }));
        }
        let was = self.state.borrow().connected;
        if was {
            tracing::warn!(message = "The MQTT broker connection was lost.", broker = %broker, problem = %why);
        }
        self.state.send_modify(|s| {
            if s.connected {
                s.since = Utc::now();
            }
            s.connected = false;
            s.problem = Some(why);
        });
    }
}

/// The client options: a clean session, the last will, the log-in, TLS for `mqtts://`.
fn options(settings: &Mqtt, status: &str, role: Role) -> MqttOptions {
    let url = url::Url::parse(&settings.url).expect("mqtt.url was validated");
    let tls = url.scheme() == "mqtts";
    let host = url
        .host_str()
        .unwrap_or("localhost")
        .trim_matches(['[', ']']);
    let port = url.port().unwrap_or(if tls { 8883 } else { 1883 });
    let mut o = MqttOptions::new(settings.client_id(), host, port);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_clean_session(true);
    o.set_inflight(100);
    o.set_max_packet_size(1 << 20, 1 << 20);
    if role == Role::Hub {
        o.set_last_will(LastWill::new(status, "offline", QoS::AtLeastOnce, true));
    }
    if let Some(user) = &settings.username {
        let password = settings.password.as_ref().map(|p| p.expose()).unwrap_or("");
        o.set_credentials(user.clone(), password);
    }
    if tls {
        o.set_transport(Transport::tls_with_config(
            rumqttc::TlsConfiguration::Rustls(Arc::new(tls_config())),
        ));
    }
    o
}

/// TLS with the public roots (webpki), ring as the provider.
fn tls_config() -> rustls::ClientConfig {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// `host:port` of a broker URL, for messages.
pub fn broker_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            let port = u
                .port()
                .unwrap_or(if u.scheme() == "mqtts" { 8883 } else { 1883 });
            Some(format!("{}:{port}", u.host_str()?))
        })
        .unwrap_or_else(|| "the broker".into())
}

/// A connection error in words a user can act on.
fn describe(error: &ConnectionError, broker: &str) -> String {
    match error {
        ConnectionError::ConnectionRefused(code) => match code {
            ConnectReturnCode::BadUserNamePassword => format!(
                "the broker at {broker} refused the user name or password: check mqtt.username and mqtt.password"
            ),
            // Mosquitto answers a wrong password this way too.
            ConnectReturnCode::NotAuthorized => format!(
                "the broker at {broker} refused the user name or password (not authorized): check mqtt.username, mqtt.password and the broker's ACL"
            ),
            ConnectReturnCode::BadClientId => {
                format!("the broker at {broker} refused the client id: set another mqtt.client_id")
            }
            other => format!("the broker at {broker} refused the connection: {other:?}"),
        },
        ConnectionError::Tls(e) => {
            format!(
                "TLS with the broker at {broker} failed: {e} (is its certificate valid for this host name?)"
            )
        }
        ConnectionError::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => format!(
            "connection refused by {broker}: no broker listens there; check mqtt.url and that the broker runs"
        ),
        ConnectionError::Io(e) => format!("cannot reach the broker at {broker}: {e}"),
        ConnectionError::NetworkTimeout => {
            format!("the broker at {broker} did not answer in time")
        }
        other => format!("the connection to the broker at {broker} failed: {other}"),
    }
}

/// A wait with ±20 % jitter, so that several hookarr processes do not return to a broker in step.
fn jittered(d: Duration) -> Duration {
    d.mul_f64(rand::random_range(0.8..1.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_broker_is_named_by_host_and_port() {
        assert_eq!(broker_of("mqtt://10.0.0.2"), "10.0.0.2:1883");
        assert_eq!(broker_of("mqtts://broker.lan"), "broker.lan:8883");
        assert_eq!(broker_of("mqtt://127.0.0.1:18830"), "127.0.0.1:18830");
    }

    #[test]
    fn a_refused_log_in_names_the_keys_to_check() {
        let said = describe(
            &ConnectionError::ConnectionRefused(ConnectReturnCode::BadUserNamePassword),
            "h:1",
        );
        assert!(said.contains("mqtt.username"), "{said}");
    }
}
