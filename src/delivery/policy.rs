//! When to try again (CONTRACT §5): the retry schedule with its jitter. What an answer means is the target's
//! reading, in [`crate::outbound::answer`]. A pure function, so the maths is tested directly.

use std::time::Duration;

/// The delay before attempt number `attempts + 1`, after `attempts` failed ones: the schedule's entry (its
/// last entry repeats), scaled by `jitter` ∈ [-1, 1] times 20 %. `None` once `max_attempts` are spent.
pub fn next_delay(
    schedule: &[Duration],
    max_attempts: u32,
    attempts: u32,
    jitter: f64,
) -> Option<Duration> {
    if attempts >= max_attempts {
        return None;
    }
    let base = schedule
        .get(attempts as usize)
        .or(schedule.last())
        .copied()
        .unwrap_or(Duration::ZERO);
    Some(base.mul_f64(1.0 + 0.2 * jitter.clamp(-1.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_the_schedule_with_bounded_jitter() {
        let schedule = crate::config::default_schedule();
        assert_eq!(next_delay(&schedule, 8, 0, 1.0), Some(Duration::ZERO));
        assert_eq!(
            next_delay(&schedule, 8, 1, 0.0),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            next_delay(&schedule, 8, 1, 1.0),
            Some(Duration::from_secs(12))
        );
        assert_eq!(
            next_delay(&schedule, 8, 1, -1.0),
            Some(Duration::from_secs(8))
        );
        assert_eq!(
            next_delay(&schedule, 8, 2, 5.0),
            Some(Duration::from_secs(72))
        );
        // Past its end the schedule's last delay repeats, until the attempts are spent.
        assert_eq!(
            next_delay(&schedule, 8, 7, 0.0),
            Some(Duration::from_secs(6 * 3600))
        );
        assert_eq!(next_delay(&schedule, 8, 8, 0.0), None);
        assert_eq!(next_delay(&[], 3, 1, 0.0), Some(Duration::ZERO));
    }
}
