//! The external services of the scale-out tests, started by `scripts/services`: a PostgreSQL
//! server (`CAIRN_TEST_DATABASE_URL`) and an S3-compatible bucket (`CAIRN_TEST_S3_BUCKET`, with
//! `AWS_ENDPOINT` & co.). Without them those tests skip, unless `CAIRN_REQUIRE_SERVICES=1` (CI),
//! where a missing service fails the test.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;

fn configured(var: &str) -> Option<String> {
    match std::env::var(var).ok().filter(|v| !v.is_empty()) {
        Some(v) => Some(v),
        None if std::env::var("CAIRN_REQUIRE_SERVICES").as_deref() == Ok("1") => {
            panic!(
                "{var} is not set but CAIRN_REQUIRE_SERVICES=1 (start them with scripts/services)"
            )
        }
        None => {
            eprintln!("skipped: {var} is not set (see scripts/services)");
            None
        }
    }
}

fn random_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let i = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{n:x}_{}_{i}", std::process::id())
}

/// The URL of a new, empty PostgreSQL database of its own, or `None` when no server is
/// configured.
pub async fn postgres_database() -> Option<String> {
    let admin = configured("CAIRN_TEST_DATABASE_URL")?;
    let name = random_name("cairn_test");
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to CAIRN_TEST_DATABASE_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create a test database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}

/// `s3://<bucket>/<fresh prefix>` on the test bucket, or `None` when none is configured.
pub fn s3_location() -> Option<String> {
    let bucket = configured("CAIRN_TEST_S3_BUCKET")?;
    Some(format!("s3://{bucket}/{}", random_name("run")))
}
