//! Each source's rhythm: the gaps between its events, learned from its history, and whether it has gone
//! quiet for much longer than usual — never sooner than a floor, and told once until it is heard again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;

/// Gaps kept per source (the most recent).
const GAPS_KEPT: usize = 64;
/// Gaps needed before a source can be called silent: a new source has no rhythm yet.
const GAPS_NEEDED: usize = 6;
/// Silent once quiet for this many of its usual (90th percentile) gaps.
const USUAL_GAPS: i64 = 4;

/// One source's rhythm, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rhythm {
    /// The app behind the source (`jellyfin`…).
    pub app: String,
    pub last_at: Option<DateTime<Utc>>,
    /// Seconds between consecutive events, oldest first.
    pub gaps: VecDeque<i64>,
    /// `hookarr.source_silent` was told and the source has not been heard since.
    pub told_silent: bool,
}

impl Rhythm {
    /// An event of the source at `at`. Returns how long it had been quiet when it was told silent.
    pub fn heard(&mut self, at: DateTime<Utc>) -> Option<i64> {
        let quiet = self.last_at.map(|last| (at - last).num_seconds().max(0));
        if let Some(gap) = quiet {
            if self.gaps.len() == GAPS_KEPT {
                self.gaps.pop_front();
            }
            self.gaps.push_back(gap);
        }
        self.last_at = Some(self.last_at.map_or(at, |last| last.max(at)));
        let was_silent = std::mem::take(&mut self.told_silent);
        was_silent.then(|| quiet.unwrap_or(0))
    }

    /// Its usual gap (the 90th percentile of those kept), once it has enough history.
    pub fn usual_gap(&self) -> Option<i64> {
        if self.gaps.len() < GAPS_NEEDED {
            return None;
        }
        let mut sorted: Vec<i64> = self.gaps.iter().copied().collect();
        sorted.sort_unstable();
        Some(sorted[(sorted.len() * 9 / 10).min(sorted.len() - 1)])
    }

    /// How long it may be quiet before it is silent: several usual gaps, never less than `floor`.
    pub fn allowed_quiet(&self, floor: Duration) -> Option<i64> {
        let floor = i64::try_from(floor.as_secs()).unwrap_or(i64::MAX);
        self.usual_gap()
            .map(|gap| gap.saturating_mul(USUAL_GAPS).max(floor))
    }

    /// Whether it is silent at `now` and not yet told: how long it has been quiet.
    pub fn newly_silent(&self, now: DateTime<Utc>, floor: Duration) -> Option<i64> {
        if self.told_silent {
            return None;
        }
        let quiet = (now - self.last_at?).num_seconds();
        (quiet > self.allowed_quiet(floor)?).then_some(quiet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn a_regular_source_is_silent_after_several_of_its_gaps_and_back_at_its_next_event() {
        let mut r = Rhythm::default();
        for i in 0..10 {
            assert_eq!(r.heard(at(i * 600)), None);
        }
        let floor = Duration::from_secs(60);
        assert_eq!(r.usual_gap(), Some(600));
        assert_eq!(r.newly_silent(at(9 * 600 + 2000), floor), None, "not yet");
        assert_eq!(r.newly_silent(at(9 * 600 + 2500), floor), Some(2500));
        r.told_silent = true;
        assert_eq!(r.newly_silent(at(9 * 600 + 9000), floor), None, "told once");
        assert_eq!(r.heard(at(9 * 600 + 9000)), Some(9000));
        assert_eq!(r.heard(at(9 * 600 + 9100)), None, "back only once");
    }

    #[test]
    fn the_floor_holds_for_a_chatty_source_and_a_new_one_has_no_rhythm() {
        let mut r = Rhythm::default();
        for i in 0..3 {
            r.heard(at(i));
        }
        assert_eq!(r.newly_silent(at(1_000_000), Duration::from_secs(60)), None);
        for i in 3..20 {
            r.heard(at(i));
        }
        let floor = Duration::from_secs(3600);
        assert_eq!(
            r.newly_silent(at(19 + 3000), floor),
            None,
            "under the floor"
        );
        assert_eq!(r.newly_silent(at(19 + 3601), floor), Some(3601));
    }
}
