//! PostgreSQL through sqlx: the pool, and the migrations in `migrations/`,
//! embedded at build time so every service applies the same ones at start.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sqlx::PgPool;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::PgPoolOptions;

/// The migrations, embedded at build time. Migrations this binary does not
/// know are tolerated, so that during a rolling deploy an older replica
/// still starts after a newer one migrated (migrations are additive).
pub static MIGRATOR: Migrator = Migrator {
    ignore_missing: true,
    ..sqlx::migrate!("../../migrations")
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// `postgres://user:password@host:port/database`; may hold a password.
    pub url: SecretString,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// How long to wait for a free connection before failing a request.
    #[serde(default = "default_acquire_timeout", with = "humantime_serde")]
    pub acquire_timeout: Duration,
}

fn default_max_connections() -> u32 {
    10
}

fn default_acquire_timeout() -> Duration {
    Duration::from_secs(10)
}

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("cannot connect to PostgreSQL")]
    Connect(#[source] sqlx::Error),
    #[error("applying migrations failed")]
    Migrate(#[from] MigrateError),
}

/// No ping before each acquire: a connection that broke while idle fails
/// its first query, which the caller's retry absorbs, instead of every
/// query paying a round trip.
fn options(config: &PostgresConfig) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(config.acquire_timeout)
        .test_before_acquire(false)
}

pub async fn connect(config: &PostgresConfig) -> Result<PgPool, PgError> {
    options(config)
        .connect(config.url.expose_secret())
        .await
        .map_err(PgError::Connect)
}

/// A pool that connects on first use: for a tool that must start, and say
/// so, while PostgreSQL is away.
pub fn connect_lazy(config: &PostgresConfig) -> Result<PgPool, PgError> {
    options(config)
        .connect_lazy(config.url.expose_secret())
        .map_err(PgError::Connect)
}

/// Whether trying again may succeed: the connection or the server failed
/// (classes 08, 53, 57, 58), or the transaction lost a race (40001,
/// 40P01). Anything else (bad data, a broken constraint) fails again.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            ["08", "53", "57", "58"]
                .iter()
                .any(|class| code.starts_with(class))
                || code == "40001"
                || code == "40P01"
        }),
        _ => false,
    }
}

/// Applies pending migrations. Safe to run from several services at once:
/// sqlx serialises them with an advisory lock.
pub async fn migrate(pool: &PgPool) -> Result<(), PgError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Connects and migrates: what every service does at start.
pub async fn connect_and_migrate(config: &PostgresConfig) -> Result<PgPool, PgError> {
    let pool = connect(config).await?;
    migrate(&pool).await?;
    Ok(pool)
}
