//! Fields of a request app's notification, wherever the user's template put them: every leaf value with its
//! key (lower case, letters and digits only, so `requestedBy_username` and `requestedbyUsername` are one) and the
//! section (`media`, `request`, `issue`, `comment`) it sits in; `extra`'s `[{name, value}]` by name.

use crate::inbound::lenient;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The objects of the default template, whose fields a lookup prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    Media,
    Request,
    Issue,
    Comment,
}

impl Section {
    fn of_key(key: &str) -> Option<Section> {
        match key {
            "media" => Some(Section::Media),
            "request" => Some(Section::Request),
            "issue" => Some(Section::Issue),
            "comment" => Some(Section::Comment),
            _ => None,
        }
    }
}

/// Every leaf value of the body with its key (lower case, letters and digits only: `requestedBy_username` and
/// `requestedbyUsername` are one) and the section it sits in, in document order.
pub(super) struct Fields<'a> {
    entries: Vec<(String, Option<Section>, &'a Value)>,
    extra: Vec<&'a Value>,
}

impl<'a> Fields<'a> {
    pub(super) fn collect(object: &'a Map<String, Value>) -> Fields<'a> {
        let mut fields = Fields {
            entries: Vec::new(),
            extra: Vec::new(),
        };
        fields.walk_object(object, None);
        fields
    }

    fn walk_object(&mut self, object: &'a Map<String, Value>, section: Option<Section>) {
        for (key, value) in object {
            let key = normalize_key(key);
            match value {
                Value::Object(inner) => {
                    self.walk_object(inner, Section::of_key(&key).or(section));
                }
                Value::Array(items) if key == "extra" => self.extra.extend(items),
                Value::Array(items) => {
                    for item in items {
                        if let Value::Object(inner) = item {
                            self.walk_object(inner, section);
                        }
                    }
                }
                leaf => self.entries.push((key, section, leaf)),
            }
        }
    }

    /// The first text under one of `names`: in `section` first, then outside every section (a flat template);
    /// never from another section (a `status` of the issue is not the media's).
    pub(super) fn text(&self, names: &[&str], section: Option<Section>) -> Option<String> {
        let found = |wanted: Option<Section>| {
            self.entries.iter().find_map(|(key, at, value)| {
                (names.contains(&key.as_str()) && (section.is_none() || *at == wanted))
                    .then(|| known((*value).clone()))
                    .flatten()
            })
        };
        match section {
            Some(s) => found(Some(s)).or_else(|| found(None)),
            None => found(None),
        }
    }

    /// A positive integer under one of `names` (`"693134"` or `693134`).
    pub(super) fn number(&self, names: &[&str], section: Option<Section>) -> Option<i64> {
        self.text(names, section)
            .and_then(|t| t.trim().parse().ok())
            .filter(|n| *n > 0)
    }

    /// The first value anywhere that is one of `values` (a template that renamed `notification_type`).
    pub(super) fn value_among(&self, values: &[&str]) -> Option<String> {
        self.entries.iter().find_map(|(_, _, v)| {
            let s = v.as_str()?.trim();
            values.contains(&s).then(|| s.to_owned())
        })
    }

    /// `extra`'s `[{name, value}]` by lower-case name (`requested seasons` → `1, 2`).
    pub(super) fn extra(&self) -> HashMap<String, String> {
        self.extra
            .iter()
            .filter_map(|item| {
                let name = known(item.get("name")?.clone())?;
                let value = known(item.get("value")?.clone())?;
                Some((name.to_lowercase(), value))
            })
            .collect()
    }
}

/// Text of a value; `""`, `null` and a placeholder the app left unrendered (`{{media_tmdbid}}`) are unknown.
fn known(value: Value) -> Option<String> {
    lenient::value_to_string(value).filter(|s| !(s.starts_with("{{") && s.ends_with("}}")))
}

/// `requestedBy_username` → `requestedbyusername`; `{{media}}` → `media`.
fn normalize_key(key: &str) -> String {
    key.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}
