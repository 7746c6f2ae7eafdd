//! The sweep: stories that have waited at a stage past its window (`media.stuck`, once per stage), and
//! sources quiet past their rhythm (`hookarr.source_silent`, once until they are heard again).

use super::join::{Joiner, Sweep, Writes};
use super::story::{Stage, Story};
use crate::event::EventKind;
use chrono::{DateTime, Utc};
use std::time::Duration;

impl Joiner<'_> {
    /// The window a stage may wait before its story is stuck; `None` for stages that do not wait on
    /// anything.
    pub(super) fn window(&self, stage: Stage) -> Option<Duration> {
        Some(match stage {
            Stage::Requested => self.stuck_after.requested(),
            Stage::Approved => self.stuck_after.approved(),
            Stage::Grabbed => self.stuck_after.grabbed(),
            Stage::Imported => self.stuck_after.imported(),
            _ => return None,
        })
    }

    /// When the story is next due a stuck check: its stage's window after it reached it, unless told.
    pub(super) fn stuck_due(&self, story: &Story) -> Option<DateTime<Utc>> {
        if !story.tells || story.told_stuck == Some(story.stage) {
            return None;
        }
        let window = chrono::Duration::from_std(self.window(story.stage)?).ok()?;
        Some(story.stage_at + window)
    }

    /// Stories stuck at their stage past its window, and sources gone silent.
    pub fn sweep(&self, sweep: Sweep) -> Writes {
        let mut w = Writes::default();
        for mut story in sweep.due {
            let Some(window) = self.window(story.stage) else {
                self.keep(story, &mut w);
                continue;
            };
            let waiting = (self.now - story.stage_at).num_seconds();
            let due = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
            if waiting < due || story.told_stuck == Some(story.stage) {
                self.keep(story, &mut w);
                continue;
            }
            story.told_stuck = Some(story.stage);
            let stuck = super::card::stuck_event(&story, waiting, self.now);
            w.deliveries.extend((self.deliver)(&story, &stuck, &stuck));
            w.derived.push(stuck);
            self.keep(story, &mut w);
        }
        for (source, mut rhythm) in sweep.rhythms {
            if let Some(quiet) = rhythm.newly_silent(self.now, self.silence_floor) {
                rhythm.told_silent = true;
                w.derived.push(super::card::silence_event(
                    EventKind::SourceSilent,
                    &source,
                    quiet,
                    &rhythm,
                    self.now,
                ));
                w.rhythms.insert(source, rhythm);
            }
        }
        w
    }
}
