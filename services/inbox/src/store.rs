//! The inbox's only way into PostgreSQL: connections that act as
//! `intake_inbox_access`, and transactions told who is signed in. What a
//! person may see or do is decided by the `inbox` schema
//! (`migrations/*_inbox_access.sql`), never here.

use intake_adapters::pg::PostgresConfig;
use intake_core::access::Principal;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool, Postgres, Transaction};

/// The role the inbox serves people as: privileges on the `inbox` schema
/// only, never on a table (`set role` above names it literally).
pub const ACCESS_ROLE: &str = "intake_inbox_access";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// What the schema says is missing (`no_data_found`).
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// A value the schema refuses (`invalid_parameter_value`).
    #[error("{0}")]
    Invalid(String),
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    /// The `inbox` schema says no with SQLSTATEs; they keep their meaning.
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            let message = db.message().to_owned();
            match db.code().as_deref() {
                Some("42501") => return StoreError::Forbidden(message),
                Some("P0002") => return StoreError::NotFound(message),
                Some("55000") => return StoreError::Conflict(message),
                Some("55P03") => {
                    return StoreError::Conflict("someone else is deciding this right now".into());
                }
                Some("22023") => return StoreError::Invalid(message),
                // Text PostgreSQL cannot store (a NUL character): the
                // request's fault, whichever field carried it.
                Some("22021") => {
                    return StoreError::Invalid("text may not contain NUL characters".into());
                }
                _ => {}
            }
        }
        StoreError::Database(e)
    }
}

#[derive(Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// A pool whose every connection has taken the access role before it
    /// is handed out: a query that forgot to say who is signed in sees
    /// nothing, and no query reaches a table directly.
    pub async fn connect(
        config: &PostgresConfig,
        login: Option<&SecretString>,
    ) -> Result<Self, sqlx::Error> {
        let url = login.unwrap_or(&config.url);
        let options: PgConnectOptions = url.expose_secret().parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(config.acquire_timeout)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("set role intake_inbox_access").await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    /// A transaction acting for `who`, until it ends.
    pub async fn act_as(
        &self,
        who: &Principal,
    ) -> Result<Transaction<'static, Postgres>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("select inbox.act_as($1, $2, $3)")
            .bind(who.sub())
            .bind(who.role_names())
            .bind(who.unit_names())
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Whether PostgreSQL answers, for the readiness probe.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("select 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}
