//! Handlebars templates (CONTRACT §6): embedded defaults, overridden file by file from a `templates/`
//! folder, compiled once at start. Output is JSON, so values are escaped as JSON string content, never HTML.

mod helpers;
pub mod samples;

pub use helpers::{event_color, event_emoji, human_bytes, human_duration, truncate_chars};

use super::targets::Escaping;
use crate::config::DestinationType;
use handlebars::{Handlebars, RenderError};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The defaults built into the binary: `(name, text)`, name = `<type>/<file stem>`.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "discord/default",
        include_str!("../../../templates/discord/default.hbs"),
    ),
    (
        "discord/playback",
        include_str!("../../../templates/discord/playback.hbs"),
    ),
    (
        "discord/request",
        include_str!("../../../templates/discord/request.hbs"),
    ),
    (
        "discord/issue",
        include_str!("../../../templates/discord/issue.hbs"),
    ),
    (
        "slack/default",
        include_str!("../../../templates/slack/default.hbs"),
    ),
    (
        "slack/playback",
        include_str!("../../../templates/slack/playback.hbs"),
    ),
    (
        "slack/request",
        include_str!("../../../templates/slack/request.hbs"),
    ),
    (
        "slack/issue",
        include_str!("../../../templates/slack/issue.hbs"),
    ),
    (
        "home_assistant/default",
        include_str!("../../../templates/home_assistant/default.hbs"),
    ),
    (
        "webhook/default",
        include_str!("../../../templates/webhook/default.hbs"),
    ),
    (
        "mqtt/default",
        include_str!("../../../templates/mqtt/default.hbs"),
    ),
    (
        "discord/story",
        include_str!("../../../templates/discord/story.hbs"),
    ),
    (
        "matrix/story",
        include_str!("../../../templates/matrix/story.hbs"),
    ),
    (
        "telegram/story",
        include_str!("../../../templates/telegram/story.hbs"),
    ),
    (
        "telegram/default",
        include_str!("../../../templates/telegram/default.hbs"),
    ),
    (
        "ntfy/default",
        include_str!("../../../templates/ntfy/default.hbs"),
    ),
    (
        "gotify/default",
        include_str!("../../../templates/gotify/default.hbs"),
    ),
    (
        "pushover/default",
        include_str!("../../../templates/pushover/default.hbs"),
    ),
    (
        "matrix/default",
        include_str!("../../../templates/matrix/default.hbs"),
    ),
    (
        "email/default",
        include_str!("../../../templates/email/default.hbs"),
    ),
];

/// A template that does not compile, or a destination's template that does not exist.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct TemplateProblem {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

/// Where a template comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TemplateOrigin {
    /// Built into hookarr.
    BuiltIn,
    /// A `.hbs` file in the templates folder.
    File,
    /// Saved in the studio or the API (in the database).
    Stored,
}

/// Every compiled template.
pub struct Templates {
    /// Every template, values escaped as JSON string content.
    json: Handlebars<'static>,
    /// The same templates, values' `&`, `<` and `>` escaped as HTML entities too (Slack): a target type picks
    /// its [`Escaping`], whatever its template is called.
    entities: Handlebars<'static>,
    /// The same templates, values' `&`, `<`, `>` and `"` escaped as HTML entities too (the targets showing
    /// HTML).
    html: Handlebars<'static>,
    /// Where overrides were read from (for messages).
    pub dir: Option<PathBuf>,
    /// Templates whose whole text is `{{json this}}` (the built-in webhook one, or a copy of it): their
    /// output is the context itself, so rendering can be skipped.
    envelope: std::collections::HashSet<String>,
    /// Each template's text, by name (the template studio starts from it).
    texts: std::collections::HashMap<String, String>,
    /// Where each template's text came from.
    origins: std::collections::HashMap<String, TemplateOrigin>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").field("dir", &self.dir).finish()
    }
}

/// The file stem of an event's template: `.` → `_` (`library_new`).
pub fn file_stem(event: &str) -> String {
    event.replace('.', "_")
}

impl Templates {
    /// The embedded defaults plus every `<type>/<name>.hbs` under `dir`; every problem is reported.
    pub fn load(dir: Option<&Path>) -> Result<Templates, Vec<TemplateProblem>> {
        let mut t = Templates {
            json: helpers::registry(helpers::json_escape),
            entities: helpers::registry(helpers::entity_escape),
            html: helpers::registry(helpers::html_escape),
            dir: None,
            envelope: Default::default(),
            texts: Default::default(),
            origins: Default::default(),
        };
        let mut problems = Vec::new();
        for (name, text) in EMBEDDED {
            if let Err(e) = t.register(name, text, TemplateOrigin::BuiltIn) {
                problems.push(problem(&format!("(embedded) templates/{name}.hbs"), &e));
            }
        }
        if let Some(dir) = dir.filter(|d| d.is_dir()) {
            for (name, path) in template_files(dir) {
                let display = path.display().to_string();
                match std::fs::read_to_string(&path) {
                    Ok(text) => {
                        if let Err(e) = t.register(&name, &text, TemplateOrigin::File) {
                            problems.push(problem(&display, &e));
                        }
                    }
                    Err(e) => problems.push(TemplateProblem {
                        file: display,
                        line: None,
                        message: format!("cannot read: {e}"),
                    }),
                }
            }
        }
        if problems.is_empty() {
            t.dir = dir.map(Path::to_path_buf);
            Ok(t)
        } else {
            Err(problems)
        }
    }

    /// Compiles one extra template text (a preview) into a copy of the registry under `name`.
    pub fn with_extra(&self, name: &str, text: &str) -> Result<Templates, TemplateProblem> {
        let mut t = self.copy();
        t.register(name, text, TemplateOrigin::Stored)
            .map_err(|e| problem(name, &e))?;
        Ok(t)
    }

    /// A copy with the stored templates `(name, text)` over these; one that does not compile is left out and
    /// told.
    pub fn with_stored(&self, stored: &[(String, String)]) -> (Templates, Vec<TemplateProblem>) {
        let mut t = self.copy();
        let mut problems = Vec::new();
        for (name, text) in stored {
            if let Err(e) = t.register(name, text, TemplateOrigin::Stored) {
                // The one it would have replaced stays (a text that does not compile registers nothing).
                problems.push(problem(&format!("(stored) {name}"), &e));
            }
        }
        (t, problems)
    }

    fn copy(&self) -> Templates {
        Templates {
            json: self.json.clone(),
            entities: self.entities.clone(),
            html: self.html.clone(),
            dir: self.dir.clone(),
            envelope: self.envelope.clone(),
            texts: self.texts.clone(),
            origins: self.origins.clone(),
        }
    }

    /// Every template's name with where it comes from, by name.
    pub fn names(&self) -> Vec<(String, TemplateOrigin)> {
        let mut all: Vec<_> = self.origins.iter().map(|(n, o)| (n.clone(), *o)).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Where template `name` comes from.
    pub fn origin(&self, name: &str) -> Option<TemplateOrigin> {
        self.origins.get(name).copied()
    }

    /// Compiles `text` as template `name`, for every escaping.
    fn register(
        &mut self,
        name: &str,
        text: &str,
        origin: TemplateOrigin,
    ) -> Result<(), handlebars::TemplateError> {
        self.json.register_template_string(name, text)?;
        self.entities.register_template_string(name, text)?;
        self.html.register_template_string(name, text)?;
        self.origins.insert(name.to_owned(), origin);
        self.texts.insert(name.to_owned(), text.to_owned());
        if text.trim() == "{{json this}}" {
            self.envelope.insert(name.to_owned());
        } else {
            self.envelope.remove(name);
        }
        Ok(())
    }

    /// Whether template `name` outputs its context unchanged (`{{json this}}`).
    /// The text of template `name`, as loaded.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.texts.get(name).map(String::as_str)
    }

    pub fn is_envelope(&self, name: &str) -> bool {
        self.envelope.contains(name)
    }

    fn registry(&self, escaping: Escaping) -> &Handlebars<'static> {
        match escaping {
            Escaping::Json => &self.json,
            Escaping::Entities => &self.entities,
            Escaping::Html => &self.html,
        }
    }

    /// Whether a template of that name exists.
    pub fn has(&self, name: &str) -> bool {
        self.json.has_template(name)
    }

    /// The template for an event on a destination type: the destination's own, else `<type>/<event>`
    /// (`discord/playback_start`), else the event family's `<type>/<family>` (`discord/playback`, for
    /// single events only: a quiet-hours digest is not a playback card), else `<type>/default`.
    pub fn resolve(
        &self,
        kind: DestinationType,
        own: Option<&str>,
        event: &str,
        digest: bool,
    ) -> String {
        if let Some(own) = own.filter(|n| self.has(n)) {
            return own.to_owned();
        }
        let specific = format!("{}/{}", kind.as_str(), file_stem(event));
        if self.has(&specific) {
            return specific;
        }
        if let Some((family, _)) = event.split_once('.').filter(|_| !digest) {
            let family = format!("{}/{family}", kind.as_str());
            if self.has(&family) {
                return family;
            }
        }
        format!("{}/default", kind.as_str())
    }

    /// Renders a template with `data` as its context, values escaped as the target type wants.
    pub fn render(
        &self,
        escaping: Escaping,
        name: &str,
        data: &Value,
    ) -> Result<String, RenderError> {
        self.registry(escaping).render(name, data)
    }
}

fn template_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let Ok(types) = std::fs::read_dir(dir) else {
        return out;
    };
    for ty in types.flatten() {
        let ty_path = ty.path();
        if !ty_path.is_dir() {
            continue;
        }
        let ty_name = ty.file_name().to_string_lossy().into_owned();
        let Ok(files) = std::fs::read_dir(&ty_path) else {
            continue;
        };
        for f in files.flatten() {
            let path = f.path();
            if path.extension().is_some_and(|e| e == "hbs")
                && let Some(stem) = path.file_stem()
            {
                out.push((format!("{ty_name}/{}", stem.to_string_lossy()), path));
            }
        }
    }
    out.sort();
    out
}

fn problem(file: &str, e: &handlebars::TemplateError) -> TemplateProblem {
    TemplateProblem {
        file: file.to_owned(),
        line: e.pos().map(|(line, _)| line),
        message: e.reason().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render_as(escaping: Escaping, t: &str, data: Value) -> String {
        let templates = Templates::load(None).unwrap().with_extra("t", t).unwrap();
        templates.render(escaping, "t", &data).unwrap()
    }

    fn render(t: &str, data: Value) -> String {
        render_as(Escaping::Json, t, data)
    }

    #[test]
    fn values_are_json_escaped_not_html_escaped() {
        assert_eq!(
            render(r#"{{a}}"#, json!({"a": "Tom & \"Jerry\" <3>\n"})),
            r#"Tom & \"Jerry\" <3>\n"#
        );
    }

    /// The escaping is the target type's, whatever the template is called (a Slack destination's own
    /// `mine.hbs` is escaped for Slack too).
    #[test]
    fn slack_escaping_follows_the_target_type_not_the_template_name() {
        let data = json!({"a": "Tom & <Jerry>"});
        assert_eq!(
            render_as(Escaping::Entities, "{{a}}", data.clone()),
            "Tom &amp; &lt;Jerry&gt;"
        );
        assert_eq!(render_as(Escaping::Json, "{{a}}", data), "Tom & <Jerry>");
    }

    #[test]
    fn helpers_do_what_the_contract_says() {
        let d = json!({"s": "héllo wörld", "n": 1_500_000_000u64, "ms": 3_725_000, "l": ["a", null, "b"], "z": null});
        assert_eq!(render("{{truncate s 5}}", d.clone()), "héll…");
        assert_eq!(render("{{bytes n}}", d.clone()), "1.5 GB");
        assert_eq!(render("{{duration ms}}", d.clone()), "1h 02m");
        assert_eq!(render("{{join l \", \"}}", d.clone()), "a, b");
        assert_eq!(render("{{default z \"none\"}}", d.clone()), "none");
        assert_eq!(render("{{upper s}}", d.clone()), "HÉLLO WÖRLD");
        assert_eq!(render("{{json l}}", d.clone()), r#"["a",null,"b"]"#);
        assert_eq!(render("{{color \"library.new\"}}", d.clone()), "3066993");
        assert_eq!(render("{{#if (gt n 5)}}big{{/if}}", d.clone()), "big");
        assert_eq!(
            render("{{#if (and (eq s \"héllo wörld\") (ne n 1))}}yes{{/if}}", d),
            "yes"
        );
    }

    #[test]
    fn a_broken_template_is_reported_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("discord")).unwrap();
        std::fs::write(
            dir.path().join("discord/library_new.hbs"),
            "{\n\"a\": {{#if x}}\n",
        )
        .unwrap();
        let problems = Templates::load(Some(dir.path())).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].file.ends_with("discord/library_new.hbs"),
            "{problems:?}"
        );
        assert!(problems[0].line.is_some(), "{problems:?}");
    }

    #[test]
    fn only_a_template_that_is_exactly_the_envelope_skips_rendering() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("webhook")).unwrap();
        // A copy of the defaults (a `templates/` folder copied from the repository) is still the envelope.
        std::fs::write(dir.path().join("webhook/default.hbs"), "{{json this}}\n").unwrap();
        std::fs::write(
            dir.path().join("webhook/health_issue.hbs"),
            r#"{"e": "{{event}}"}"#,
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        assert!(t.is_envelope("webhook/default"));
        assert!(!t.is_envelope("webhook/health_issue"));
        assert!(!t.is_envelope("discord/default"));
        let t = t.with_extra("webhook/default", r#"{"x": 1}"#).unwrap();
        assert!(
            !t.is_envelope("webhook/default"),
            "replaced by a real template"
        );
    }

    #[test]
    fn overrides_win_file_by_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("slack")).unwrap();
        std::fs::write(
            dir.path().join("slack/health_issue.hbs"),
            r#"{"text": "{{summary}}"}"#,
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        assert_eq!(
            t.resolve(DestinationType::Slack, None, "health.issue", false),
            "slack/health_issue"
        );
        assert_eq!(
            t.resolve(DestinationType::Slack, None, "library.new", false),
            "slack/default"
        );
        assert_eq!(
            t.resolve(
                DestinationType::Slack,
                Some("slack/health_issue"),
                "test",
                false
            ),
            "slack/health_issue"
        );
        // Playback events share a family template, except in a digest.
        assert_eq!(
            t.resolve(DestinationType::Slack, None, "playback.pause", false),
            "slack/playback"
        );
        assert_eq!(
            t.resolve(DestinationType::Slack, None, "playback.pause", true),
            "slack/default"
        );
        assert_eq!(
            t.resolve(
                DestinationType::HomeAssistant,
                None,
                "playback.pause",
                false
            ),
            "home_assistant/default"
        );
    }
}
