//! `intake rescan`: scans files delivered clean again with the signatures
//! clamd has now, paced so live traffic keeps priority. A file that now
//! turns out infected is moved to the quarantine bucket, its verdict and
//! its supplement's flags say so (the unit's caseworkers see it in the
//! inbox and can no longer download it), the audit log records it, the
//! quarantine topic announces it, and the exporter's count of such files
//! grows, which an alert watches. Without clamd's verdict nothing changes:
//! the run stops and says so.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};
use intake_adapters::clamav::{ClamavConfig, ScanError, Scanner, Verdict};
use intake_adapters::pg::{self, rescan};
use intake_adapters::s3::{ObjectStore, S3Config};
use intake_adapters::sealing::{KeyRing, ScanStoredError, StoredFile, scan_stored};
use intake_core::events::{ObjectRef, PayloadEncryption};
use intake_core::rescan::Pace;
use intake_core::topics::TopicNames;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use uuid::Uuid;

pub struct RescanArgs {
    pub since: Since,
    pub pace: Pace,
    pub every: Option<Duration>,
    pub dry_run: bool,
    pub operator: String,
}

/// From when delivered files are scanned again.
#[derive(Debug, Clone, Copy)]
pub enum Since {
    At(DateTime<Utc>),
    /// This long before each run (for a schedule).
    Ago(Duration),
}

impl std::str::FromStr for Since {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(at) = DateTime::parse_from_rfc3339(s) {
            return Ok(Since::At(at.with_timezone(&Utc)));
        }
        if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(Since::At(day.and_time(chrono::NaiveTime::MIN).and_utc()));
        }
        humantime::parse_duration(s).map(Since::Ago).map_err(|_| {
            format!("{s:?} is neither a date (2026-11-01, RFC 3339) nor a duration (30d)")
        })
    }
}

impl Since {
    fn at(self) -> DateTime<Utc> {
        match self {
            Since::At(at) => at,
            Since::Ago(ago) => {
                Utc::now() - chrono::Duration::from_std(ago).unwrap_or(chrono::Duration::MAX)
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct Config {
    postgres: pg::PostgresConfig,
    s3: S3Config,
    clamav: ClamavConfig,
    /// The worker's key ring and quarantine bucket: a rescan reads what
    /// the worker stored and moves what it finds where the worker would.
    worker: WorkerKeys,
    #[serde(default)]
    kafka: KafkaNames,
}

#[derive(Debug, Deserialize)]
struct WorkerKeys {
    identities: SecretString,
    #[serde(default = "default_quarantine_bucket")]
    quarantine_bucket: String,
}

fn default_quarantine_bucket() -> String {
    "intake-quarantine".into()
}

#[derive(Debug, Default, Deserialize)]
struct KafkaNames {
    #[serde(default)]
    topic_prefix: String,
}

const PAGE: i64 = 100;

/// What one run found.
#[derive(Debug, Default)]
struct Tally {
    clean: usize,
    infected: usize,
    unreadable: usize,
    bytes: u64,
}

pub async fn run(args: RescanArgs) -> anyhow::Result<()> {
    let config: Config = intake_adapters::config::load().context("failed to load configuration")?;
    let identities: Vec<SecretString> = config
        .worker
        .identities
        .expose_secret()
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(SecretString::from)
        .collect();
    let keys = Arc::new(KeyRing::parse(&identities).context("invalid worker.identities")?);
    let pool = pg::connect(&config.postgres).await?;
    let objects = ObjectStore::connect(&config.s3).await?;
    let scanner = Scanner::new(&config.clamav);
    let rescan = Rescan {
        pool,
        objects,
        scanner,
        keys,
        quarantine_bucket: config.worker.quarantine_bucket,
        topics: TopicNames::new(config.kafka.topic_prefix),
        actor: format!("operator:{}", args.operator),
        pace: args.pace,
    };
    loop {
        let since = args.since.at();
        let started = Instant::now();
        let tally = if args.dry_run {
            rescan.count(since).await?
        } else {
            rescan.once(since).await?
        };
        let verb = if args.dry_run {
            "would scan"
        } else {
            "scanned"
        };
        println!(
            "rescan since {}: {verb} {} files ({} bytes) in {:.1?}: {} still clean, {} infected, {} unreadable",
            since.to_rfc3339(),
            tally.clean + tally.infected + tally.unreadable,
            tally.bytes,
            started.elapsed(),
            tally.clean,
            tally.infected,
            tally.unreadable,
        );
        let Some(every) = args.every else {
            if tally.unreadable > 0 {
                bail!(
                    "{} files could not be scanned again (see the log): they are not what was delivered, or cannot be opened",
                    tally.unreadable
                );
            }
            return Ok(());
        };
        tokio::time::sleep(every).await;
    }
}

struct Rescan {
    pool: sqlx::PgPool,
    objects: ObjectStore,
    scanner: Scanner,
    keys: Arc<KeyRing>,
    quarantine_bucket: String,
    topics: TopicNames,
    actor: String,
    pace: Pace,
}

impl Rescan {
    async fn count(&self, since: DateTime<Utc>) -> anyhow::Result<Tally> {
        let mut tally = Tally::default();
        let mut after = None;
        loop {
            let page = rescan::delivered(&self.pool, since, after, PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(tally);
            };
            after = Some((last.scanned_at, last.attachment_id));
            tally.clean += page.len();
            tally.bytes += page.iter().map(|f| f.size.max(0) as u64).sum::<u64>();
        }
    }

    async fn once(&self, since: DateTime<Utc>) -> anyhow::Result<Tally> {
        let mut tally = Tally::default();
        let mut after = None;
        loop {
            let page = rescan::delivered(&self.pool, since, after, PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(tally);
            };
            after = Some((last.scanned_at, last.attachment_id));
            let mut clean: Vec<Uuid> = Vec::with_capacity(page.len());
            for file in &page {
                let started = Instant::now();
                let size = u64::try_from(file.size).unwrap_or_default();
                let stored = StoredFile {
                    bucket: &file.bucket,
                    key: &file.object_key,
                    size,
                    sha256: &file.sha256,
                };
                match scan_stored(&self.objects, self.keys.clone(), &self.scanner, stored).await {
                    Ok(Verdict::Clean) => {
                        clean.push(file.attachment_id);
                        tally.clean += 1;
                    }
                    Ok(Verdict::Infected { signature }) => {
                        self.quarantine(file, &signature).await?;
                        tally.infected += 1;
                    }
                    // Never scannable as stored (clamd's limits): reported,
                    // and the rest go on.
                    Err(ScanStoredError::Scan(
                        error @ (ScanError::OverLimit { .. } | ScanError::Refused(_)),
                    )) => {
                        tracing::error!(attachment_id = %file.attachment_id, %error,
                            "clamd will not scan a delivered file");
                        tally.unreadable += 1;
                    }
                    // Without a verdict nothing may be called clean: what
                    // was found clean so far is kept, and the run stops.
                    Err(ScanStoredError::Scan(error)) => {
                        rescan::still_clean(&self.pool, &clean).await?;
                        return Err(error).context("clamd gave no verdict; the rescan stops here");
                    }
                    Err(error) => {
                        tracing::error!(attachment_id = %file.attachment_id,
                            supplement_id = %file.supplement_id, %error,
                            "a delivered file cannot be scanned again");
                        tally.unreadable += 1;
                    }
                }
                tally.bytes += size;
                tokio::time::sleep(self.pace.pause(size, started.elapsed())).await;
            }
            rescan::still_clean(&self.pool, &clean).await?;
        }
    }

    /// Moves the file's sealed bytes to the quarantine bucket, then
    /// records the finding; the delivered copy goes once that is on record.
    async fn quarantine(&self, file: &rescan::Delivered, signature: &str) -> anyhow::Result<()> {
        let quarantined = ObjectRef {
            bucket: self.quarantine_bucket.clone(),
            // A key of this run's own: a rescan running beside this one
            // never removes the copy this one recorded.
            key: format!(
                "rescan/{}/{}/{}",
                file.supplement_id,
                file.attachment_id,
                Uuid::new_v4()
            ),
            size: u64::try_from(file.size).unwrap_or_default(),
            sha256: file.sha256.clone(),
            encryption: PayloadEncryption::Age,
        };
        self.objects
            .copy(
                &file.bucket,
                &file.object_key,
                &quarantined.bucket,
                &quarantined.key,
            )
            .await
            .context("could not move an infected file to the quarantine bucket")?;
        let finding = rescan::Finding {
            file,
            signature,
            quarantined: quarantined.clone(),
            actor: &self.actor,
        };
        let recorded = rescan::record_infected(&self.pool, &self.topics, &finding).await?;
        let (bucket, key) = if recorded {
            (&file.bucket, &file.object_key)
        } else {
            (&quarantined.bucket, &quarantined.key)
        };
        if let Err(error) = self.objects.delete(bucket, key).await {
            tracing::warn!(%error, bucket, key, "could not remove a copy after a rescan's finding");
        }
        if recorded {
            tracing::warn!(attachment_id = %file.attachment_id, supplement_id = %file.supplement_id,
                signature, "a delivered file is infected: quarantined and flagged");
            println!(
                "infected: {} of supplement {} ({signature}); quarantined",
                file.attachment_id, file.supplement_id
            );
        }
        Ok(())
    }
}
