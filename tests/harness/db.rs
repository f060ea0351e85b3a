//! A database per test, created from nothing and migrated, so tests never
//! share rows. Names carry the creating process's pid; databases of
//! processes that are gone are dropped the next time tests run.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Executor, PgPool};
use tokio::sync::OnceCell;

const PREFIX: &str = "intake_test_";

pub struct TestDb {
    pub pool: PgPool,
    pub name: String,
}

static SWEPT: OnceCell<()> = OnceCell::const_new();

impl TestDb {
    pub async fn create(url: &str) -> Self {
        let admin_options: PgConnectOptions = url.parse().expect("valid INTAKE_POSTGRES__URL");
        let mut admin = admin_options
            .connect()
            .await
            .expect("connect to PostgreSQL (is the stack up? `make stack-up`)");
        SWEPT.get_or_init(|| sweep(url)).await;
        let name = format!(
            "{PREFIX}{}_{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        // The name is generated above, never taken from input.
        admin
            .execute(AssertSqlSafe(format!(r#"create database "{name}""#)))
            .await
            .expect("create test database");
        let pool = PgPoolOptions::new()
            .max_connections(5)
            .connect_with(admin_options.database(&name))
            .await
            .expect("connect to test database");
        // The same path the services take at start.
        intake_adapters::pg::migrate(&pool)
            .await
            .expect("migrations apply to an empty database");
        Self { pool, name }
    }
}

/// Drops test databases left by test processes that no longer run.
async fn sweep(url: &str) {
    let options: PgConnectOptions = url.parse().expect("valid INTAKE_POSTGRES__URL");
    let Ok(mut admin) = options.connect().await else {
        return;
    };
    let names: Vec<String> =
        sqlx::query_scalar("select datname from pg_database where datname like $1")
            .bind(format!("{PREFIX}%"))
            .fetch_all(&mut admin)
            .await
            .unwrap_or_default();
    for name in names {
        let pid = name[PREFIX.len()..]
            .split('_')
            .next()
            .and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = admin
                .execute(AssertSqlSafe(format!(
                    r#"drop database if exists "{name}" with (force)"#
                )))
                .await;
        }
    }
}
