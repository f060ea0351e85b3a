//! PostgreSQL through sqlx: the pool, and the migrations in `migrations/`,
//! embedded at build time so every service applies the same ones at start.

pub mod dead_letters;
pub mod replays;
pub mod rescan;

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

/// Whether trying again may succeed. Only what the database says about
/// the data itself fails again (class 22, data exception; 23, a broken
/// constraint; 54, a program limit; P0001, an exception a trigger raised);
/// anything else (connection, failover, read-only, authentication,
/// permissions, time-outs, a server restarting) is the database's state,
/// which passes, and is worth waiting out rather than giving up on.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => !db.code().is_some_and(|code| {
            ["22", "23", "54"]
                .iter()
                .any(|class| code.starts_with(class))
                || code == "P0001"
        }),
        sqlx::Error::Configuration(_)
        | sqlx::Error::InvalidArgument(_)
        | sqlx::Error::Encode(_)
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::RowNotFound => false,
        _ => true,
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
