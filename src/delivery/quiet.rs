//! Quiet hours (CONTRACT §5): during a destination's window nothing is sent; what arrives is held (never
//! dropped) and goes out as one digest when the window ends. Pure time arithmetic.

use crate::config::QuietHours;
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};

/// A parsed window: local `from`–`to` in a time zone; `from > to` crosses midnight.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    from: NaiveTime,
    to: NaiveTime,
    tz: chrono_tz::Tz,
    /// As written, for messages (`23:00–07:00 Europe/Berlin`).
    pub label: String,
}

impl Window {
    /// The window of a config entry (validated at load, so `None` only for an entry that skipped validation).
    pub fn new(q: &QuietHours) -> Option<Window> {
        Some(Window {
            from: NaiveTime::parse_from_str(&q.from, "%H:%M").ok()?,
            to: NaiveTime::parse_from_str(&q.to, "%H:%M").ok()?,
            tz: q.tz.parse().ok()?,
            label: format!("{}–{} {}", q.from, q.to, q.tz),
        })
    }

    /// When the window that `now` falls in ends, or `None` when `now` is outside it.
    pub fn ends_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.from == self.to {
            return None;
        }
        let local = now.with_timezone(&self.tz);
        let t = local.time();
        let inside = if self.from < self.to {
            t >= self.from && t < self.to
        } else {
            t >= self.from || t < self.to
        };
        if !inside {
            return None;
        }
        let mut day = local.date_naive();
        if t >= self.to {
            day += Duration::days(1);
        }
        // The first instant at or after local `to` (a DST gap moves it forward by the gap).
        let mut end = day.and_time(self.to);
        for _ in 0..4 {
            if let Some(at) = self.tz.from_local_datetime(&end).earliest() {
                return Some(at.with_timezone(&Utc));
            }
            end += Duration::minutes(30);
        }
        Some(now + Duration::hours(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(from: &str, to: &str, tz: &str) -> Window {
        Window::new(&QuietHours {
            from: from.into(),
            to: to.into(),
            tz: tz.into(),
        })
        .unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_window_across_midnight_ends_the_next_morning_in_its_zone() {
        let w = window("23:00", "07:00", "Europe/Berlin");
        // 23:30 Berlin (CET, UTC+1) on 25 Nov → 07:00 Berlin on 26 Nov = 06:00 UTC.
        assert_eq!(
            w.ends_after(utc("2026-11-25T22:30:00Z")),
            Some(utc("2026-11-26T06:00:00Z"))
        );
        // 03:00 Berlin → the same morning.
        assert_eq!(
            w.ends_after(utc("2026-11-26T02:00:00Z")),
            Some(utc("2026-11-26T06:00:00Z"))
        );
        // 12:00 Berlin: not quiet. The ends are exclusive of `to`, inclusive of `from`.
        assert_eq!(w.ends_after(utc("2026-11-26T11:00:00Z")), None);
        assert_eq!(w.ends_after(utc("2026-11-26T06:00:00Z")), None);
        assert!(w.ends_after(utc("2026-11-26T22:00:00Z")).is_some());
    }

    #[test]
    fn a_daytime_window_and_daylight_saving() {
        let w = window("09:00", "17:00", "America/New_York");
        // 10:00 EDT (UTC−4) on 1 July.
        assert_eq!(
            w.ends_after(utc("2026-07-01T14:00:00Z")),
            Some(utc("2026-07-01T21:00:00Z"))
        );
        assert_eq!(w.ends_after(utc("2026-07-01T22:00:00Z")), None);
        // A window ending inside the spring-forward gap (02:00–03:00 local, 29 Mar 2026 in Berlin) ends when
        // the clock shows a real time again.
        let gap = window("01:00", "02:30", "Europe/Berlin");
        assert_eq!(
            gap.ends_after(utc("2026-03-29T00:30:00Z")),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        assert_eq!(
            window("08:00", "08:00", "UTC").ends_after(utc("2026-07-01T08:00:00Z")),
            None
        );
    }
}
