//! A destination's rate limit shared by the processes of one database (GCRA on one row per destination, taken
//! under its row lock): what a process may send is leased from here.

use super::StoreError;
use super::dialect::{Dialect, SqlStore};
use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row as _, Type};

/// What a lease got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// This many sends, 1 to the number asked.
    Granted(u32),
    /// None now: the next one is free in this many microseconds.
    WaitMicros(i64),
}

/// The shared budgets (part of every [`super::Store`]).
#[async_trait]
pub trait RateBudgets: Send + Sync + 'static {
    /// Leases up to `want` sends of `destination`, whose limit is one per `period_us` with bursts of `burst`,
    /// at `now_us`.
    async fn lease_sends(
        &self,
        destination: &str,
        want: u32,
        period_us: i64,
        burst: u32,
        now_us: i64,
    ) -> Result<Lease, StoreError>;

    /// No send of `destination` before `until_us` (a 429's pause, Discord's spent bucket), then one per
    /// `period_us` again: every process leasing from the budget waits, at once.
    async fn hold_sends(
        &self,
        destination: &str,
        until_us: i64,
        period_us: i64,
        burst: u32,
    ) -> Result<(), StoreError>;
}

/// The `tat` that lets the first send go at `until` and no sooner (see [`gcra`]).
pub fn tat_holding_until(until: i64, period: i64, burst: u32) -> i64 {
    until + (i64::from(burst) - 1) * period
}

/// The GCRA step: from the stored theoretical arrival time `tat`, how many of `want` sends are allowed at
/// `now` and the new `tat`; or how long until one is.
pub fn gcra(tat: i64, want: u32, period: i64, burst: u32, now: i64) -> (Lease, i64) {
    let start = tat.max(now);
    // Sends may run ahead of `now` by up to `burst` periods.
    let room = (now + i64::from(burst) * period - start) / period.max(1);
    let take = room.clamp(0, i64::from(want));
    if take == 0 {
        let free_at = start - i64::from(burst) * period + period;
        return (Lease::WaitMicros((free_at - now).max(1)), tat);
    }
    (Lease::Granted(take as u32), start + take * period)
}

#[async_trait]
impl<D> RateBudgets for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
    for<'q> &'q str: Encode<'q, D> + Decode<'q, D> + Type<D> + ColumnIndex<D::Row>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    usize: ColumnIndex<D::Row>,
{
    async fn lease_sends(
        &self,
        destination: &str,
        want: u32,
        period_us: i64,
        burst: u32,
        now_us: i64,
    ) -> Result<Lease, StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO rate_budgets (destination, tat) VALUES ($1, 0) ON CONFLICT (destination) DO NOTHING",
        )
        .bind(destination)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT tat FROM rate_budgets WHERE destination = $1{}",
            D::ROW_LOCK
        )))
        .bind(destination)
        .fetch_one(&mut *tx)
        .await?;
        let tat: i64 = row.try_get("tat")?;
        let (lease, new_tat) = gcra(tat, want, period_us, burst, now_us);
        if new_tat != tat {
            sqlx::query("UPDATE rate_budgets SET tat = $1 WHERE destination = $2")
                .bind(new_tat)
                .bind(destination)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(lease)
    }

    async fn hold_sends(
        &self,
        destination: &str,
        until_us: i64,
        period_us: i64,
        burst: u32,
    ) -> Result<(), StoreError> {
        let tat = tat_holding_until(until_us, period_us, burst);
        let mut tx = D::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO rate_budgets (destination, tat) VALUES ($1, $2) \
             ON CONFLICT (destination) DO UPDATE SET tat = CASE WHEN rate_budgets.tat < $2 THEN $2 ELSE rate_budgets.tat END",
        )
        .bind(destination)
        .bind(tat)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_allows_its_burst_then_one_per_period() {
        // 10/s (100,000 µs), burst 2.
        let (period, burst) = (100_000, 2);
        let (lease, tat) = gcra(0, 5, period, burst, 1_000_000);
        assert_eq!(lease, Lease::Granted(2), "the burst");
        let (lease, tat2) = gcra(tat, 1, period, burst, 1_000_000);
        assert_eq!(lease, Lease::WaitMicros(100_000));
        assert_eq!(tat2, tat, "a refusal changes nothing");
        let (lease, _) = gcra(tat, 1, period, burst, 1_100_000);
        assert_eq!(lease, Lease::Granted(1), "one period later, one more");
    }

    #[test]
    fn a_held_budget_lets_nothing_go_before_the_hold_ends_then_one_per_period() {
        let (period, burst) = (400_000, 5);
        let until = 10_000_000;
        let tat = tat_holding_until(until, period, burst);
        let (lease, _) = gcra(tat, 1, period, burst, until - 1);
        assert_eq!(lease, Lease::WaitMicros(1), "not a microsecond early");
        let (lease, tat) = gcra(tat, 5, period, burst, until);
        assert_eq!(lease, Lease::Granted(1), "one at the end of the hold");
        let (lease, _) = gcra(tat, 1, period, burst, until + period);
        assert_eq!(lease, Lease::Granted(1), "then one per period");
    }

    #[test]
    fn over_any_second_no_more_than_the_limit_and_the_burst_are_granted() {
        let (period, burst) = (100_000, 1);
        let mut tat = 0;
        let mut granted_at = Vec::new();
        // Three takers asking every 7 ms for two seconds.
        let mut now = 5_000_000;
        while now < 7_000_000 {
            for _ in 0..3 {
                let (lease, next) = gcra(tat, 1, period, burst, now);
                tat = next;
                if let Lease::Granted(n) = lease {
                    granted_at.extend(std::iter::repeat_n(now, n as usize));
                }
            }
            now += 7_000;
        }
        for &start in &granted_at {
            let in_window = granted_at
                .iter()
                .filter(|&&t| t >= start && t < start + 1_000_000)
                .count();
            assert!(in_window <= 10, "{in_window} in the second from {start}");
        }
        assert!(granted_at.len() >= 19, "{}", granted_at.len());
    }
}
