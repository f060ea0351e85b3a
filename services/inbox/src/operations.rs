//! What the operations page shows, read from Prometheus's HTTP query API:
//! the figures the alert rules watch, so the page and the alerts never
//! disagree. The inbox holds no metrics of its own pipeline; Prometheus
//! does.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum PrometheusError {
    #[error("Prometheus does not answer: {0}")]
    Unreachable(#[from] reqwest::Error),
    #[error("Prometheus refused `{query}`: {error}")]
    Refused { query: String, error: String },
}

/// One series of an instant query.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// One series of a range query, points oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<(f64, f64)>,
}

impl Sample {
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("", String::as_str)
    }
}

#[derive(Clone)]
pub struct Prometheus {
    http: reqwest::Client,
    base: String,
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    result: Vec<RawSeries>,
}

#[derive(Deserialize)]
struct RawSeries {
    metric: BTreeMap<String, String>,
    #[serde(default)]
    value: Option<(f64, String)>,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

impl Prometheus {
    pub fn new(http: reqwest::Client, base: &str) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    async fn ask(&self, path: &str, params: &[(&str, String)]) -> Result<Data, PrometheusError> {
        let answer: Answer = self
            .http
            .get(format!("{}{path}", self.base))
            .query(params)
            .timeout(Duration::from_secs(10))
            .send()
            .await?
            .json()
            .await?;
        match (answer.status.as_str(), answer.data) {
            ("success", Some(data)) => Ok(data),
            _ => Err(PrometheusError::Refused {
                query: params.first().map(|(_, q)| q.clone()).unwrap_or_default(),
                error: answer.error.unwrap_or_default(),
            }),
        }
    }

    pub async fn instant(&self, query: &str) -> Result<Vec<Sample>, PrometheusError> {
        let data = self
            .ask("/api/v1/query", &[("query", query.to_owned())])
            .await?;
        Ok(data
            .result
            .into_iter()
            .filter_map(|s| {
                let value = number(&s.value?.1)?;
                Some(Sample {
                    labels: s.metric,
                    value,
                })
            })
            .collect())
    }

    /// `query` over the last `span`, a point every `step`.
    pub async fn range(
        &self,
        query: &str,
        end: DateTime<Utc>,
        span: Duration,
        step: Duration,
    ) -> Result<Vec<Series>, PrometheusError> {
        let start = end - chrono::Duration::from_std(span).unwrap_or_default();
        let data = self
            .ask(
                "/api/v1/query_range",
                &[
                    ("query", query.to_owned()),
                    ("start", start.timestamp().to_string()),
                    ("end", end.timestamp().to_string()),
                    ("step", step.as_secs().max(1).to_string()),
                ],
            )
            .await?;
        Ok(data
            .result
            .into_iter()
            .map(|s| Series {
                labels: s.metric,
                points: s
                    .values
                    .into_iter()
                    .filter_map(|(t, v)| Some((t, number(&v)?)))
                    .collect(),
            })
            .collect())
    }
}

/// Prometheus writes numbers as strings, `NaN` and `+Inf` included; a
/// page shows only finite ones.
fn number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A chart: a title key and its series, named by one label.
pub struct Chart {
    pub title: &'static str,
    pub unit: &'static str,
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

/// Everything the page shows, read at once.
pub struct Overview {
    pub groups: Vec<Sample>,
    pub partitions: Vec<PartitionRow>,
    pub business: Vec<BusinessRow>,
    pub not_ready: Vec<Sample>,
    pub down: Vec<Sample>,
    pub dead_letters: Vec<Sample>,
    pub receipts_failed: f64,
    pub charts: Vec<Chart>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PartitionRow {
    pub group: String,
    pub topic: String,
    pub partition: String,
    pub status: String,
    pub records: f64,
    pub seconds: f64,
}

impl PartitionRow {
    /// Behind, or in any status but `ok`: what the page shows first.
    pub fn needs_attention(&self) -> bool {
        self.records > 0.0 || self.status != "ok"
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BusinessRow {
    pub stage: String,
    pub unit: String,
    pub channel: String,
    pub waiting: f64,
    pub oldest_seconds: f64,
}

/// How far back the charts look, and their resolution.
pub const CHART_SPAN: Duration = Duration::from_secs(6 * 3600);
const CHART_STEP: Duration = Duration::from_secs(300);

const CHARTS: [(&str, &str, &str, &str); 4] = [
    (
        "ops_chart_outcomes",
        "/s",
        "sum by (outcome) (rate(intake_worker_outcomes_total[5m]))",
        "outcome",
    ),
    (
        "ops_chart_lag",
        "s",
        "max by (group) (intake_consumer_lag_seconds)",
        "group",
    ),
    (
        "ops_chart_dead_letters",
        "/s",
        "sum by (job) (rate(intake_worker_dead_letters_total[5m])) \
         or sum by (job) (rate(intake_receipts_dead_letters_total[5m]))",
        "job",
    ),
    (
        "ops_chart_arrival_to_outcome",
        "s",
        "histogram_quantile(0.95, sum by (le) (rate(intake_supplement_arrival_to_outcome_seconds_bucket[15m])))",
        "",
    ),
];

pub async fn overview(
    prometheus: &Prometheus,
    now: DateTime<Utc>,
) -> Result<Overview, PrometheusError> {
    let (groups, records, seconds, statuses, business_waiting, business_oldest) = tokio::try_join!(
        prometheus.instant("intake_consumer_group_status == 1"),
        prometheus.instant("intake_consumer_lag_records"),
        prometheus.instant("intake_consumer_lag_seconds"),
        prometheus.instant("intake_consumer_partition_status == 1"),
        prometheus.instant("intake_business_waiting"),
        prometheus.instant("intake_business_oldest_waiting_seconds"),
    )?;
    let (not_ready, down, dead_letters, receipts_failed) = tokio::try_join!(
        prometheus.instant("intake_dependency_up == 0"),
        prometheus.instant(r#"up{job=~"intake-.*"} == 0"#),
        prometheus.instant("sum by (reason) (increase(intake_worker_dead_letters_total[24h])) > 0"),
        prometheus.instant(r#"sum(intake_receipts_unsent{state="failed"})"#),
    )?;
    let charts = futures::future::try_join_all(CHARTS.map(|(title, unit, query, by)| async move {
        let series = prometheus
            .range(query, now, CHART_SPAN, CHART_STEP)
            .await?
            .into_iter()
            .map(|s| (s.labels.get(by).cloned().unwrap_or_default(), s.points))
            .collect();
        Ok::<_, PrometheusError>(Chart {
            title,
            unit,
            series,
        })
    }))
    .await?;
    Ok(Overview {
        groups,
        partitions: partition_rows(&records, &seconds, &statuses),
        business: business_rows(&business_waiting, &business_oldest),
        not_ready,
        down,
        dead_letters,
        receipts_failed: receipts_failed.first().map_or(0.0, |s| s.value),
        charts,
    })
}

fn key(s: &Sample, names: &[&str]) -> Vec<String> {
    names.iter().map(|n| s.label(n).to_owned()).collect()
}

/// One row per partition: its lag in records and seconds and its status,
/// the most behind first.
pub fn partition_rows(
    records: &[Sample],
    seconds: &[Sample],
    statuses: &[Sample],
) -> Vec<PartitionRow> {
    const BY: [&str; 3] = ["group", "topic", "partition"];
    let mut rows: Vec<PartitionRow> = records
        .iter()
        .map(|r| {
            let k = key(r, &BY);
            PartitionRow {
                group: r.label("group").to_owned(),
                topic: r.label("topic").to_owned(),
                partition: r.label("partition").to_owned(),
                status: statuses
                    .iter()
                    .find(|s| key(s, &BY) == k)
                    .map_or_else(|| "unknown".to_owned(), |s| s.label("status").to_owned()),
                records: r.value,
                seconds: seconds
                    .iter()
                    .find(|s| key(s, &BY) == k)
                    .map_or(0.0, |s| s.value),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.seconds
            .total_cmp(&a.seconds)
            .then(b.records.total_cmp(&a.records))
            .then_with(|| {
                (&a.group, &a.topic, &a.partition).cmp(&(&b.group, &b.topic, &b.partition))
            })
    });
    rows
}

/// One row per stage, unit and channel, the longest wait first.
pub fn business_rows(waiting: &[Sample], oldest: &[Sample]) -> Vec<BusinessRow> {
    const BY: [&str; 3] = ["stage", "unit", "channel"];
    let mut rows: Vec<BusinessRow> = waiting
        .iter()
        .map(|w| BusinessRow {
            stage: w.label("stage").to_owned(),
            unit: w.label("unit").to_owned(),
            channel: w.label("channel").to_owned(),
            waiting: w.value,
            oldest_seconds: oldest
                .iter()
                .find(|o| key(o, &BY) == key(w, &BY))
                .map_or(0.0, |o| o.value),
        })
        .collect();
    rows.sort_by(|a, b| b.oldest_seconds.total_cmp(&a.oldest_seconds));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(labels: &[(&str, &str)], value: f64) -> Sample {
        Sample {
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            value,
        }
    }

    #[test]
    fn partitions_are_joined_by_group_topic_and_partition_most_behind_first() {
        fn p(n: &'static str) -> [(&'static str, &'static str); 3] {
            [("group", "w"), ("topic", "t"), ("partition", n)]
        }
        let records = [sample(&p("0"), 0.0), sample(&p("1"), 7.0)];
        let seconds = [sample(&p("1"), 42.0), sample(&p("0"), 0.0)];
        let statuses = [
            sample(
                &[
                    ("group", "w"),
                    ("topic", "t"),
                    ("partition", "1"),
                    ("status", "stopped"),
                ],
                1.0,
            ),
            sample(
                &[
                    ("group", "w"),
                    ("topic", "t"),
                    ("partition", "0"),
                    ("status", "ok"),
                ],
                1.0,
            ),
        ];
        let rows = partition_rows(&records, &seconds, &statuses);
        assert_eq!(rows[0].partition, "1");
        assert_eq!((rows[0].records, rows[0].seconds), (7.0, 42.0));
        assert_eq!(rows[0].status, "stopped");
        assert_eq!(
            (rows[1].partition.as_str(), rows[1].status.as_str()),
            ("0", "ok")
        );
    }

    #[test]
    fn business_rows_show_the_longest_wait_first() {
        fn l(stage: &'static str, unit: &'static str) -> [(&'static str, &'static str); 3] {
            [("stage", stage), ("unit", unit), ("channel", "securemail")]
        }
        let waiting = [
            sample(&l("receipt", "u1"), 2.0),
            sample(&l("caseworker", "u2"), 9.0),
        ];
        let oldest = [
            sample(&l("caseworker", "u2"), 3600.0),
            sample(&l("receipt", "u1"), 30.0),
        ];
        let rows = business_rows(&waiting, &oldest);
        assert_eq!(rows[0].stage, "caseworker");
        assert_eq!(rows[0].oldest_seconds, 3600.0);
        assert_eq!(rows[1].waiting, 2.0);
    }

    #[test]
    fn only_finite_numbers_are_shown() {
        assert_eq!(number("1.5"), Some(1.5));
        for text in ["NaN", "+Inf", "-Inf", "x"] {
            assert_eq!(number(text), None, "{text}");
        }
    }
}
