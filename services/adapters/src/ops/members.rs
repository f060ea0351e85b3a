//! A consumer process's own report that it is alive, in PostgreSQL, for
//! the lag exporter: with it a stopped group is told from a stalled one
//! even on a broker that cannot describe its groups.

use std::time::Duration;

use sqlx::PgPool;

/// How often a process says it is alive; one not seen for three times
/// this is gone.
pub const EVERY: Duration = Duration::from_secs(5);

/// Reports `instance` of `group` alive every few seconds until `leave`
/// (or until the process dies, which is what the report is for).
pub fn report(pool: PgPool, group: &str, instance: &str) -> Membership {
    let (group, instance) = (group.to_owned(), instance.to_owned());
    let task = {
        let (pool, group, instance) = (pool.clone(), group.clone(), instance.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(EVERY);
            loop {
                tick.tick().await;
                let seen = sqlx::query(
                    "insert into consumer_heartbeats (group_id, instance, seen_at)
                     values ($1, $2, now())
                     on conflict (group_id, instance) do update set seen_at = excluded.seen_at",
                )
                .bind(&group)
                .bind(&instance)
                .execute(&pool)
                .await;
                if let Err(error) = seen {
                    tracing::debug!(%error, "could not report this consumer alive");
                }
                // Processes that died long ago (named host:pid, a new
                // name each start) leave rows nobody refreshes.
                let _ = sqlx::query(
                    "delete from consumer_heartbeats
                      where group_id = $1 and seen_at < now() - interval '1 day'",
                )
                .bind(&group)
                .execute(&pool)
                .await;
            }
        })
    };
    Membership {
        pool,
        group,
        instance,
        task,
    }
}

pub struct Membership {
    pool: PgPool,
    group: String,
    instance: String,
    task: tokio::task::JoinHandle<()>,
}

impl Membership {
    /// A clean stop: the group shows no member now, not in 15 seconds.
    pub async fn leave(self) {
        self.task.abort();
        // An upsert under way must not land after the delete.
        let _ = self.task.await;
        let delete =
            sqlx::query("delete from consumer_heartbeats where group_id = $1 and instance = $2")
                .bind(&self.group)
                .bind(&self.instance)
                .execute(&self.pool);
        // A stop is not held up by a database that is away: the row then
        // ages out like a crashed process's.
        let _ = tokio::time::timeout(Duration::from_secs(2), delete).await;
    }
}

/// Processes of `group` seen alive lately, or `None` when none of the
/// group has reported in the last day (it does not report at all).
pub async fn live(pool: &PgPool, group: &str) -> Result<Option<i64>, sqlx::Error> {
    let (recent, known): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where seen_at > now() - $2::interval), count(*)
           from consumer_heartbeats where group_id = $1",
    )
    .bind(group)
    .bind(format!("{} seconds", EVERY.as_secs() * 3))
    .fetch_one(pool)
    .await?;
    Ok((known > 0).then_some(recent))
}

/// This process's name among a group's members: the configured instance
/// id, else host and process id.
pub fn instance_name(instance_id: Option<&str>) -> String {
    instance_id.map_or_else(
        || {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "host".to_owned());
            format!("{host}:{}", std::process::id())
        },
        str::to_owned,
    )
}
