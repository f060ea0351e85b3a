//! `intake lag`: every consumer group's lag per partition, in records and
//! in seconds, with a status, from the broker's offsets alone (a group
//! that died keeps its committed offsets, so its lag keeps rising). With
//! `--watch` it samples again and again and judges each partition over
//! the window (`intake_core::lag`); a single look can only tell whether
//! anything waits and whether anyone consumes.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use intake_adapters::kafka;
use intake_adapters::ops::OpsConfig;
use intake_core::lag::{self, GroupStatus, OffsetSample, Status};
use intake_core::topics::{self, TopicSpec};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::business::{self, BusinessMetrics};
use crate::lag_metrics::LagMetrics;

#[derive(Debug, serde::Deserialize)]
struct Config {
    kafka: kafka::KafkaConfig,
    /// For business lag (`--serve`); without it only the broker is read.
    postgres: Option<intake_adapters::pg::PostgresConfig>,
    #[serde(default)]
    worker: Group,
    #[serde(default)]
    receipts: Group,
}

/// A service's consumer group; its other settings are not read here.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Group {
    #[serde(default)]
    group_id: Option<String>,
}

impl Group {
    pub fn name(&self, default: &str) -> String {
        self.group_id.clone().unwrap_or_else(|| default.to_owned())
    }
}

/// The groups intake runs and the topics each consumes.
pub fn catalogue(worker: &Group, receipts: &Group) -> Vec<(String, Vec<TopicSpec>)> {
    vec![
        (
            worker.name("intake-worker"),
            vec![topics::SECUREMAIL, topics::ENTER_FINLAND],
        ),
        (receipts.name("intake-receipts"), vec![topics::RECEIPTS]),
    ]
}

/// One partition of one group, looked at once.
#[derive(Debug, Clone)]
pub struct PartitionLook {
    pub topic: String,
    pub partition: i32,
    pub sample: OffsetSample,
    /// The broker's timestamp of the first record not yet consumed.
    pub oldest_waiting: Option<DateTime<Utc>>,
}

/// A group looked at once: its members and its partitions.
#[derive(Debug, Clone)]
pub struct GroupLook {
    pub group: String,
    /// `None` when the broker cannot say.
    pub members: Option<usize>,
    pub partitions: Vec<PartitionLook>,
}

const TIMEOUT: Duration = Duration::from_secs(10);

/// Committed offsets, watermarks and membership of `group` on `specs`,
/// and the timestamp of the first waiting record of each lagging
/// partition (read by a consumer outside the group, which commits nothing).
pub fn look(
    config: &kafka::KafkaConfig,
    group: &str,
    specs: &[TopicSpec],
) -> anyhow::Result<GroupLook> {
    let consumer: BaseConsumer = config.consumer(group).create()?;
    // Not every broker describes groups (tansu does not): then membership
    // is unknown, and a group without commits is called stalled, not
    // stopped.
    let members = match consumer.fetch_group_list(Some(group), TIMEOUT) {
        Ok(list) => Some(
            list.groups()
                .iter()
                .find(|g| g.name() == group)
                .map_or(0, |g| g.members().len()),
        ),
        Err(e) => {
            tracing::debug!(group, error = %e, "the broker does not describe groups");
            None
        }
    };
    let probe: BaseConsumer = config.consumer("intake-lag-probe").create()?;
    let names = config.topics();
    let mut partitions = Vec::new();
    for spec in specs {
        let topic = names.name(spec);
        let mut list = TopicPartitionList::new();
        for p in 0..spec.partitions {
            list.add_partition(&topic, p);
        }
        let committed = consumer.committed_offsets(list, TIMEOUT)?;
        for p in 0..spec.partitions {
            let (low, high) = match consumer.fetch_watermarks(&topic, p, TIMEOUT) {
                Ok(marks) => marks,
                // Not created yet (the services create their topics when
                // they first start): nothing to be behind on.
                Err(e) if is_unknown_topic(&e) => {
                    tracing::warn!(topic, "topic does not exist yet; skipped");
                    break;
                }
                Err(e) => return Err(e.into()),
            };
            let committed = match committed.find_partition(&topic, p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => Some(o),
                _ => None,
            };
            let sample = OffsetSample {
                at: Utc::now(),
                committed,
                log_start: low,
                high_watermark: high,
            };
            let oldest_waiting = if sample.lag() > 0 {
                let next = committed.unwrap_or(low).max(low);
                record_time(&probe, &topic, p, next)
            } else {
                None
            };
            partitions.push(PartitionLook {
                topic: topic.clone(),
                partition: p,
                sample,
                oldest_waiting,
            });
        }
    }
    Ok(GroupLook {
        group: group.to_owned(),
        members,
        partitions,
    })
}

/// The timestamp of the record at `offset`, if it can be read in time.
fn record_time(
    probe: &BaseConsumer,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Option<DateTime<Utc>> {
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(topic, partition, Offset::Offset(offset))
        .ok()?;
    probe.assign(&list).ok()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        match probe.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                let millis = message.timestamp().to_millis()?;
                return DateTime::from_timestamp_millis(millis);
            }
            Some(Err(_)) => return None,
            None => continue,
        }
    }
    None
}

/// Samples per partition, oldest first, for judging over a window.
pub struct Window {
    samples: HashMap<(String, String, i32), VecDeque<OffsetSample>>,
    min_window: chrono::Duration,
}

impl Default for Window {
    fn default() -> Self {
        Self::new(lag::MIN_WINDOW)
    }
}

/// How many looks a window keeps.
const WINDOW_LOOKS: usize = 10;

impl Window {
    /// A window that judges progress only once its samples span
    /// `min_window`.
    pub fn new(min_window: chrono::Duration) -> Self {
        Self {
            samples: HashMap::new(),
            min_window,
        }
    }

    pub fn add(&mut self, look: &GroupLook) {
        for p in &look.partitions {
            let samples = self
                .samples
                .entry((look.group.clone(), p.topic.clone(), p.partition))
                .or_default();
            samples.push_back(p.sample);
            while samples.len() > WINDOW_LOOKS {
                samples.pop_front();
            }
        }
    }

    fn status(&self, group: &str, p: &PartitionLook, has_members: bool) -> Status {
        let samples: Vec<OffsetSample> = self
            .samples
            .get(&(group.to_owned(), p.topic.clone(), p.partition))
            .map(|s| s.iter().copied().collect())
            .unwrap_or_else(|| vec![p.sample]);
        lag::partition_status(&samples, has_members, self.min_window)
    }

    /// A group's look judged over the window: each partition's status and
    /// lag in records and seconds, and the group's status. Unknown
    /// membership (a broker that does not describe groups) counts as
    /// members, so it never claims a stop.
    pub fn judge<'a>(&self, look: &'a GroupLook, now: DateTime<Utc>) -> Judged<'a> {
        let has_members = look.members.is_none_or(|m| m > 0);
        let partitions: Vec<JudgedPartition<'a>> = look
            .partitions
            .iter()
            .map(|p| {
                let records = p.sample.lag();
                JudgedPartition {
                    look: p,
                    status: self.status(&look.group, p, has_members),
                    records,
                    seconds: lag::lag_seconds(records, p.oldest_waiting, now),
                }
            })
            .collect();
        let statuses: Vec<(Status, i64)> =
            partitions.iter().map(|p| (p.status, p.records)).collect();
        Judged {
            status: lag::group_status(&statuses, look.members.unwrap_or(1)),
            waiting: statuses.iter().map(|(_, records)| records).sum(),
            partitions,
        }
    }
}

pub struct JudgedPartition<'a> {
    pub look: &'a PartitionLook,
    pub status: Status,
    pub records: i64,
    pub seconds: f64,
}

pub struct Judged<'a> {
    pub partitions: Vec<JudgedPartition<'a>>,
    pub status: GroupStatus,
    /// Records waiting in all its partitions.
    pub waiting: i64,
}

/// The table, one line per partition and one per group.
pub fn render(looks: &[GroupLook], window: &Window, now: DateTime<Utc>) -> String {
    let mut out = format!(
        "{:<18} {:<36} {:>4} {:>8} {:>9}  {}\n",
        "group", "topic", "part", "lag", "seconds", "status"
    );
    for look in looks {
        let judged = window.judge(look, now);
        for p in &judged.partitions {
            out.push_str(&format!(
                "{:<18} {:<36} {:>4} {:>8} {:>9.1}  {}\n",
                look.group,
                p.look.topic,
                p.look.partition,
                p.records,
                p.seconds,
                p.status.as_str()
            ));
        }
        let members = look
            .members
            .map_or("members unknown".to_owned(), |m| format!("{m} members"));
        out.push_str(&format!(
            "group {}: {} ({members}, {} records waiting)\n",
            look.group,
            judged.status.as_str(),
            judged.waiting,
        ));
    }
    out
}

pub async fn look_all(
    kafka: &kafka::KafkaConfig,
    groups: &[(String, Vec<TopicSpec>)],
) -> anyhow::Result<Vec<GroupLook>> {
    let kafka = kafka.clone();
    let groups = groups.to_vec();
    // librdkafka's calls block: off the runtime's threads.
    tokio::task::spawn_blocking(move || {
        groups
            .iter()
            .map(|(group, specs)| look(&kafka, group, specs))
            .collect::<anyhow::Result<Vec<_>>>()
    })
    .await?
}

pub async fn run(
    watch: Option<Duration>,
    serve: Option<SocketAddr>,
    min_window: Duration,
) -> anyhow::Result<()> {
    let config: Config = intake_adapters::config::load().context("failed to load configuration")?;
    let groups = catalogue(&config.worker, &config.receipts);
    let mut window = Window::new(
        chrono::Duration::from_std(min_window).context("--min-window is out of range")?,
    );
    if let Some(address) = serve {
        let every = watch.unwrap_or(DEFAULT_EVERY);
        return serve_metrics(config, groups, address, every, window).await;
    }
    let pool = config
        .postgres
        .as_ref()
        .map(intake_adapters::pg::connect_lazy)
        .transpose()?;
    loop {
        let mut looks = look_all(&config.kafka, &groups).await?;
        if let Some(pool) = &pool {
            members_from_heartbeats(&mut looks, pool).await?;
        }
        looks.iter().for_each(|l| window.add(l));
        let table = render(&looks, &window, Utc::now());
        let Some(every) = watch else {
            print!("{table}");
            return Ok(());
        };
        // Clear the terminal and draw the table again, as `watch` does.
        print!(
            "\x1b[2J\x1b[H{}\n{table}",
            Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
        );
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = intake_adapters::shutdown::signal() => return Ok(()),
        }
    }
}

fn is_unknown_topic(e: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode::{
        UnknownPartition, UnknownTopic, UnknownTopicOrPartition,
    };
    matches!(
        e.rdkafka_error_code(),
        Some(UnknownPartition | UnknownTopic | UnknownTopicOrPartition)
    )
}

/// Members as the group's processes report themselves, where they do:
/// they cannot be stale the way a broker that evicts lazily can be
/// (tansu keeps a dead member until someone else asks the group), and a
/// broker that cannot describe groups says nothing at all.
async fn members_from_heartbeats(
    looks: &mut [GroupLook],
    pool: &sqlx::PgPool,
) -> Result<(), sqlx::Error> {
    for look in looks.iter_mut() {
        if let Some(live) = intake_adapters::ops::members::live(pool, &look.group).await? {
            look.members = Some(usize::try_from(live).unwrap_or(0));
        }
    }
    Ok(())
}

/// How often `--serve` looks when `--watch` does not say.
const DEFAULT_EVERY: Duration = Duration::from_secs(15);

/// Looks every `every` and serves the metrics at `/metrics` until stopped.
/// A failed look is counted and the last values stay, so an alert on the
/// last look's age sees a blind exporter; `/health/ready` says the broker
/// does not answer.
async fn serve_metrics(
    config: Config,
    groups: Vec<(String, Vec<TopicSpec>)>,
    address: SocketAddr,
    every: Duration,
    mut window: Window,
) -> anyhow::Result<()> {
    let listen = OpsConfig {
        listen: Some(address),
        ..OpsConfig::default()
    };
    let ((metrics, business), health) = intake_adapters::ops::start(&listen, 0, |r| {
        (LagMetrics::new(r), BusinessMetrics::new(r))
    })
    .await?;
    let broker = health.dependency("kafka");
    let database = match &config.postgres {
        Some(postgres) => Some((
            intake_adapters::pg::connect_lazy(postgres)?,
            health.dependency("postgres"),
        )),
        None => {
            tracing::warn!("no INTAKE_POSTGRES__URL: business lag is not exported");
            None
        }
    };
    health.started();
    println!("intake lag: metrics on http://{address}/metrics, a look every {every:?}");
    let sampler = async {
        loop {
            match look_all(&config.kafka, &groups).await {
                Ok(mut looks) => {
                    broker.set_up();
                    if let Some((pool, reachable)) = &database
                        && let Err(e) = members_from_heartbeats(&mut looks, pool).await
                    {
                        reachable.set_down(&e);
                    }
                    looks.iter().for_each(|l| window.add(l));
                    metrics.update(&looks, &window, Utc::now());
                }
                Err(e) => {
                    metrics.look_failed();
                    broker.set_down(&format_args!("{e:#}"));
                }
            }
            tokio::time::sleep(every).await;
        }
    };
    // Apart from the broker's looks: a slow database never makes the
    // consumer lag stale, nor a slow broker the business lag.
    let business_sampler = async {
        let Some((pool, reachable)) = &database else {
            return std::future::pending().await;
        };
        loop {
            match business::look(pool).await {
                Ok(look) => {
                    reachable.set_up();
                    business.update(&look, Utc::now());
                }
                Err(e) => {
                    metrics.look_failed();
                    reachable.set_down(&e);
                }
            }
            tokio::time::sleep(every).await;
        }
    };
    tokio::select! {
        () = sampler => {}
        () = business_sampler => {}
        () = intake_adapters::shutdown::signal() => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(members: Option<usize>, points: &[(Option<i64>, i64)], minute: i64) -> GroupLook {
        let at = DateTime::from_timestamp(1_795_000_000 + minute * 60, 0).expect("valid");
        GroupLook {
            group: "intake-worker".into(),
            members,
            partitions: points
                .iter()
                .enumerate()
                .map(|(p, &(committed, high_watermark))| PartitionLook {
                    topic: "supplements.securemail.v1".into(),
                    partition: p as i32,
                    sample: OffsetSample {
                        at,
                        committed,
                        log_start: 0,
                        high_watermark,
                    },
                    oldest_waiting: Some(at - chrono::Duration::seconds(90)),
                })
                .collect(),
        }
    }

    #[test]
    fn a_group_with_no_members_and_records_waiting_is_stopped_at_once() {
        let now = look(Some(0), &[(Some(5), 9), (Some(3), 3)], 0);
        let mut window = Window::default();
        window.add(&now);
        let table = render(
            &[now],
            &window,
            DateTime::from_timestamp(1_795_000_000, 0).expect("t"),
        );
        assert!(
            table.contains("group intake-worker: stopped (0 members, 4 records waiting)"),
            "{table}"
        );
        assert!(table.contains("90.0  stopped"), "{table}");
        assert!(
            table.contains("0.0  ok"),
            "the caught-up partition: {table}"
        );
    }

    #[test]
    fn members_that_do_not_commit_are_stalled_over_the_window() {
        let mut window = Window::default();
        let mut last = None;
        for minute in 0..4 {
            let l = look(Some(1), &[(Some(5), 9 + minute)], minute);
            window.add(&l);
            last = Some(l);
        }
        let last = last.expect("looked");
        let table = render(
            &[last],
            &window,
            DateTime::from_timestamp(1_795_000_240, 0).expect("t"),
        );
        assert!(
            table.contains("group intake-worker: stalled (1 members"),
            "{table}"
        );
    }

    #[test]
    fn unknown_membership_never_claims_a_stop() {
        let now = look(None, &[(Some(5), 9)], 0);
        let mut window = Window::default();
        window.add(&now);
        let table = render(
            &[now],
            &window,
            DateTime::from_timestamp(1_795_000_000, 0).expect("t"),
        );
        assert!(
            table.contains("ok (members unknown, 4 records waiting)"),
            "{table}"
        );
    }
}
