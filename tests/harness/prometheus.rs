//! A Prometheus of one test's own (Debian's package, as the local stack
//! runs it), scraping the targets the test names every second, and a
//! client for its HTTP query API.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::{Stack, unique};

pub struct TestPrometheus {
    pub url: String,
    _child: Child,
}

/// One series of an instant query: its labels and value.
#[derive(Debug, Clone)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl TestPrometheus {
    /// `targets` are (job, host:port) pairs.
    pub async fn start(stack: &Stack, targets: &[(&str, String)]) -> Self {
        let dir = stack
            .repo_dir()
            .join("target/test-logs")
            .join(unique("prometheus"));
        std::fs::create_dir_all(dir.join("data")).expect("prometheus directory");
        let mut config = String::from(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n",
        );
        for (job, target) in targets {
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: [\"{target}\"]\n"
            ));
        }
        std::fs::write(dir.join("prometheus.yml"), config).expect("prometheus.yml");
        let port = crate::free_port();
        let log = std::fs::File::create(dir.join("prometheus.log")).expect("log");
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start prometheus (make stack-up installs Debian's package)");
        let prometheus = Self {
            url: format!("http://127.0.0.1:{port}"),
            _child: child,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = reqwest::get(format!("{}/-/ready", prometheus.url))
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return prometheus;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus not ready in 60 s; see {}",
                dir.join("prometheus.log").display()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// An instant query through `/api/v1/query`.
    pub async fn query(&self, expr: &str) -> Vec<Sample> {
        let body: serde_json::Value = reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", expr)])
            .send()
            .await
            .expect("query prometheus")
            .json()
            .await
            .expect("prometheus answers JSON");
        assert_eq!(body["status"], "success", "{expr}: {body}");
        body["data"]["result"]
            .as_array()
            .expect("a vector")
            .iter()
            .map(|series| Sample {
                labels: series["metric"]
                    .as_object()
                    .expect("labels")
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect(),
                value: series["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .expect("a value"),
            })
            .collect()
    }

    /// Queries `expr` until `holds` accepts its samples, or fails after
    /// `within` naming `what` and the last answer.
    pub async fn wait_for(
        &self,
        what: &str,
        expr: &str,
        within: Duration,
        holds: impl Fn(&[Sample]) -> bool,
    ) -> Vec<Sample> {
        let deadline = Instant::now() + within;
        loop {
            let samples = self.query(expr).await;
            if holds(&samples) {
                return samples;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not seen within {within:?}; `{expr}` gave {samples:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
