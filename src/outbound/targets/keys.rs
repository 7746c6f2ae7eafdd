//! The config keys only some target types take: which type takes which ([`OwnKey`], checked by the config's
//! validation) and, for the types reached through a service, their values on a target ([`ServiceKeys`]).

use super::DestinationType;
use crate::config::{Destination, Emergency, Priority, SmtpTls};

/// The config keys only some target types take (every destination takes the others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnKey {
    /// `headers`: extra request headers.
    Headers,
    /// `secret`: the signing secret.
    Secret,
    /// `signing`: the signature scheme.
    Signing,
    /// `token`: a credential (a Bearer token, a bot or app token).
    Token,
    /// `url`: the target's whole URL.
    Url,
    /// `server`: the service's base URL.
    Server,
    ChatId,
    ThreadId,
    Silent,
    Topic,
    Tags,
    Priority,
    UserKey,
    Devices,
    Sound,
    Emergency,
    Room,
    Username,
    Password,
    From,
    To,
    Tls,
    /// `edit_messages`: the import edits the grab's message.
    EditMessages,
    /// `retain`: the broker keeps the last message for new subscribers (mqtt).
    Retain,
}

impl OwnKey {
    /// Every key that only some types take.
    pub const ALL: [OwnKey; 24] = [
        OwnKey::Headers,
        OwnKey::Secret,
        OwnKey::Signing,
        OwnKey::Token,
        OwnKey::Url,
        OwnKey::Server,
        OwnKey::ChatId,
        OwnKey::ThreadId,
        OwnKey::Silent,
        OwnKey::Topic,
        OwnKey::Tags,
        OwnKey::Priority,
        OwnKey::UserKey,
        OwnKey::Devices,
        OwnKey::Sound,
        OwnKey::Emergency,
        OwnKey::Room,
        OwnKey::Username,
        OwnKey::Password,
        OwnKey::From,
        OwnKey::To,
        OwnKey::Tls,
        OwnKey::EditMessages,
        OwnKey::Retain,
    ];

    /// The key's name in the config.
    pub fn name(self) -> &'static str {
        match self {
            OwnKey::Headers => "headers",
            OwnKey::Secret => "secret",
            OwnKey::Signing => "signing",
            OwnKey::Token => "token",
            OwnKey::Url => "url",
            OwnKey::Server => "server",
            OwnKey::ChatId => "chat_id",
            OwnKey::ThreadId => "thread_id",
            OwnKey::Silent => "silent",
            OwnKey::Topic => "topic",
            OwnKey::Tags => "tags",
            OwnKey::Priority => "priority",
            OwnKey::UserKey => "user_key",
            OwnKey::Devices => "devices",
            OwnKey::Sound => "sound",
            OwnKey::Emergency => "emergency",
            OwnKey::Room => "room",
            OwnKey::Username => "username",
            OwnKey::Password => "password",
            OwnKey::From => "from",
            OwnKey::To => "to",
            OwnKey::Tls => "tls",
            OwnKey::EditMessages => "edit_messages",
            OwnKey::Retain => "retain",
        }
    }

    /// Whether a destination sets it.
    pub fn is_set(self, d: &Destination) -> bool {
        match self {
            OwnKey::Headers => !d.headers.is_empty(),
            OwnKey::Secret => d.secret.is_some(),
            OwnKey::Signing => d.signing.is_some(),
            OwnKey::Token => d.token.is_some(),
            OwnKey::Url => d.url.is_some(),
            OwnKey::Server => d.server.is_some(),
            OwnKey::ChatId => d.chat_id.is_some(),
            OwnKey::ThreadId => d.thread_id.is_some(),
            OwnKey::Silent => d.silent,
            OwnKey::Topic => d.topic.is_some(),
            OwnKey::Tags => !d.tags.is_empty(),
            OwnKey::Priority => d.priority.is_some(),
            OwnKey::UserKey => d.user_key.is_some(),
            OwnKey::Devices => !d.devices.is_empty(),
            OwnKey::Sound => d.sound.is_some(),
            OwnKey::Emergency => d.emergency.is_some(),
            OwnKey::Room => d.room.is_some(),
            OwnKey::Username => d.username.is_some(),
            OwnKey::Password => d.password.is_some(),
            OwnKey::From => d.from.is_some(),
            OwnKey::To => !d.to.is_empty(),
            OwnKey::Tls => d.tls.is_some(),
            // On by default: only turning it off is setting it.
            OwnKey::EditMessages => !d.edit_messages,
            OwnKey::Retain => d.retain,
        }
    }

    /// What it is, for the page's form.
    pub fn help(self) -> &'static str {
        match self {
            OwnKey::Headers => "Extra request headers, one `Name: value` per line",
            OwnKey::Secret => "The signing secret (whsec_…); leave empty to have one made",
            OwnKey::Signing => {
                "How requests are signed: standard (Standard Webhooks), hub_sha256 or none"
            }
            OwnKey::Token => "The credential the service gave you (a bot, app or access token)",
            OwnKey::Url => "The whole URL the service gave you",
            OwnKey::Server => "The service's address; leave empty for its public service",
            OwnKey::ChatId => "The chat: -100… for a group or channel, or @channelname",
            OwnKey::ThreadId => "A forum topic's id (optional)",
            OwnKey::Silent => "Deliver without a sound",
            OwnKey::Topic => "The topic to publish to",
            OwnKey::Tags => "Tags, comma-separated (emoji short codes become icons)",
            OwnKey::Priority => "Priority (ntfy 1–5, Gotify 0–10, Pushover −2…2)",
            OwnKey::UserKey => "Your user (or group) key: 30 letters and digits",
            OwnKey::Devices => "Only these devices, comma-separated (optional)",
            OwnKey::Sound => "The notification sound (optional)",
            OwnKey::Emergency => "How an emergency message repeats (advanced; edit in YAML)",
            OwnKey::Room => "The room: !id:server or #alias:server",
            OwnKey::Username => "The user name to log in with",
            OwnKey::Password => "The password to log in with",
            OwnKey::From => "The sender's address",
            OwnKey::To => "Recipients, comma-separated",
            OwnKey::Tls => "How the connection is secured: starttls, tls or none",
            OwnKey::EditMessages => "Edit the grab's message when the download is imported",
            OwnKey::Retain => {
                "Retain: the broker keeps the last message for whoever subscribes later"
            }
        }
    }

    /// Whether its value is a credential: write-only, never shown back.
    pub fn is_secret(self) -> bool {
        matches!(
            self,
            OwnKey::Secret
                | OwnKey::Token
                | OwnKey::Url
                | OwnKey::UserKey
                | OwnKey::Password
                | OwnKey::Headers
        )
    }

    /// How the page's form asks for it.
    pub fn input(self) -> KeyInput {
        match self {
            OwnKey::Silent | OwnKey::EditMessages | OwnKey::Retain => KeyInput::Switch,
            OwnKey::ThreadId => KeyInput::Number,
            OwnKey::Tags | OwnKey::Devices | OwnKey::To => KeyInput::List,
            OwnKey::Headers => KeyInput::Lines,
            OwnKey::Emergency => KeyInput::NotInForm,
            _ => KeyInput::Text,
        }
    }

    /// What the types that take it do with it, for "only webhook destinations are signed".
    pub fn meaning(self) -> String {
        match self {
            OwnKey::Headers => "send extra headers".into(),
            OwnKey::Secret | OwnKey::Signing => "are signed".into(),
            OwnKey::EditMessages => "edit messages".into(),
            other => format!("take `{}`", other.name()),
        }
    }

    /// The types that take it, in the order of [`DestinationType::ALL`].
    pub fn taken_by(self) -> Vec<DestinationType> {
        DestinationType::ALL
            .into_iter()
            .filter(|k| k.target().own_keys().contains(&self))
            .collect()
    }
}

/// How the page's form asks for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyInput {
    Text,
    Number,
    /// A check box (on or off).
    Switch,
    /// Comma-separated, sent as a list.
    List,
    /// `Name: value` per line, sent as a map.
    Lines,
    /// Too intricate for a form field: set in the YAML (or the API).
    NotInForm,
}

/// The settings of the types reached through a service (telegram, ntfy, gotify, pushover, matrix, email),
/// as the config gives them; `Target::url` is their `server`.
#[derive(Clone, Default)]
pub struct ServiceKeys {
    pub chat_id: Option<String>,
    pub thread_id: Option<i64>,
    pub silent: bool,
    pub topic: Option<String>,
    pub tags: Vec<String>,
    pub priority: Option<Priority>,
    /// Pushover's user or group key: a secret.
    pub user_key: Option<String>,
    pub devices: Vec<String>,
    pub sound: Option<String>,
    pub emergency: Option<Emergency>,
    pub room: Option<String>,
    pub username: Option<String>,
    /// A secret.
    pub password: Option<String>,
    pub from: Option<String>,
    pub to: Vec<String>,
    pub tls: Option<SmtpTls>,
    /// mqtt: publish retained.
    pub retain: bool,
    /// mqtt: the Home Assistant state destination `mqtt:` makes (not a config key).
    pub home_assistant: bool,
}

impl ServiceKeys {
    pub(crate) fn from_config(d: &Destination) -> ServiceKeys {
        ServiceKeys {
            chat_id: d.chat_id.clone(),
            thread_id: d.thread_id,
            silent: d.silent,
            topic: d.topic.clone(),
            tags: d.tags.clone(),
            priority: d.priority.clone(),
            user_key: d.user_key.as_ref().map(|k| k.expose().to_owned()),
            devices: d.devices.clone(),
            sound: d.sound.clone(),
            emergency: d.emergency,
            room: d.room.clone(),
            username: d.username.clone(),
            password: d.password.as_ref().map(|p| p.expose().to_owned()),
            from: d.from.clone(),
            to: d.to.clone(),
            retain: d.retain,
            home_assistant: d.home_assistant,
            tls: d.tls,
        }
    }
}
