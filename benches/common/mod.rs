//! What both benchmarks share.

/// A fresh PostgreSQL database (`HOOKARR_TEST_PG`, default the local server): `(url, name)`.
pub async fn fresh_pg() -> (String, String) {
    let admin = std::env::var("HOOKARR_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!(
        "hookarr_bench_{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .expect("PostgreSQL reachable");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    (
        format!("{}/{name}", admin.rsplit_once('/').unwrap().0),
        name,
    )
}
