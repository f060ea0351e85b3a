//! `intake reconcile`: removes the stored parts of gateway attempts that no
//! event can name any more. A request whose publish outcome was unknown
//! keeps its parts (the broker may hold its event), and a retry that takes
//! over stores its own; once the worker has recorded the supplement from
//! one attempt, the others are orphans. Parts of a supplement never
//! recorded are kept until no unconsumed event could still name them.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use intake_adapters::pg;
use intake_adapters::s3::{ObjectStore, S3Config};
use intake_core::ingest::{Recorded, Stored, attempt_of, is_orphan};
use uuid::Uuid;

#[derive(Debug, serde::Deserialize)]
struct Config {
    s3: S3Config,
    postgres: pg::PostgresConfig,
}

/// One attempt's parts.
struct Attempt {
    keys: Vec<String>,
    written_at: DateTime<Utc>,
}

pub async fn run(bucket: &str, unrecorded_after: Duration, dry_run: bool) -> anyhow::Result<()> {
    let config: Config = intake_adapters::config::load().context("failed to load configuration")?;
    let store = ObjectStore::connect(&config.s3).await?;
    let pool = pg::connect(&config.postgres).await?;
    let unrecorded_after = chrono::Duration::from_std(unrecorded_after)
        .context("--unrecorded-after is out of range")?;
    let now = Utc::now();

    let mut attempts: BTreeMap<(Uuid, Uuid), Attempt> = BTreeMap::new();
    for object in store.list_objects(bucket, "supplements/").await? {
        let Some(id) = attempt_of(&object.key) else {
            continue;
        };
        // A server that does not say when an object was written makes it
        // look new: it is kept, never removed early.
        let written_at = object.last_modified.unwrap_or(now);
        let entry = attempts.entry(id).or_insert(Attempt {
            keys: Vec::new(),
            written_at,
        });
        entry.keys.push(object.key);
        entry.written_at = entry.written_at.max(written_at);
    }

    let supplements: Vec<Uuid> = attempts.keys().map(|(s, _)| *s).collect();
    let recorded: HashMap<Uuid, Option<Uuid>> = sqlx::query_as::<_, (Uuid, Option<Uuid>)>(
        "select supplement_id, inbound_attempt from supplements where supplement_id = any($1)",
    )
    .bind(&supplements)
    .fetch_all(&pool)
    .await
    .context("cannot read which attempts the worker recorded")?
    .into_iter()
    .collect();

    let (mut kept, mut orphaned, mut objects) = (0usize, 0usize, 0usize);
    for ((supplement_id, attempt), parts) in &attempts {
        let state = match recorded.get(supplement_id) {
            Some(read) => Recorded::Outcome { attempt: *read },
            None => Recorded::Nothing,
        };
        let stored = Stored {
            attempt: *attempt,
            written_at: parts.written_at,
        };
        if !is_orphan(stored, state, now, unrecorded_after) {
            kept += 1;
            continue;
        }
        orphaned += 1;
        objects += parts.keys.len();
        println!(
            "orphan  supplement {supplement_id} attempt {attempt}: {} parts",
            parts.keys.len()
        );
        if dry_run {
            continue;
        }
        for key in &parts.keys {
            store
                .delete(bucket, key)
                .await
                .with_context(|| format!("cannot remove {key}"))?;
        }
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    println!("attempts: {kept} kept, {orphaned} orphaned; {verb} {objects} objects");
    Ok(())
}
