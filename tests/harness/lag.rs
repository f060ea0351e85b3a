//! `intake lag --serve` as operations run it, for one test's topics,
//! worker group and database: it looks every second and judges progress
//! over five, so a test sees statuses change in seconds.

use std::process::Stdio;

use tokio::process::{Child, Command};

use crate::Stack;

pub struct Exporter {
    /// `host:port` of its `/metrics`, for Prometheus to scrape.
    pub address: String,
    _child: Child,
}

impl Exporter {
    /// On `address` (`host:port`), chosen by the caller so that a
    /// Prometheus may be told it before the exporter starts.
    pub fn start(
        stack: &Stack,
        address: &str,
        topic_prefix: &str,
        worker_group: &str,
        database_url: &str,
    ) -> Self {
        let address = address.to_owned();
        let log = std::fs::File::create(
            stack
                .repo_dir()
                .join("target/test-logs")
                .join(format!("{}-lag.log", crate::unique("exporter"))),
        )
        .expect("exporter log");
        let child = Command::new(crate::process::binary(stack, "debug", "intake"))
            .args([
                "lag",
                "--watch",
                "1s",
                "--min-window",
                "5s",
                "--serve",
                &address,
            ])
            .env("INTAKE_KAFKA__BROKERS", stack.get("INTAKE_KAFKA__BROKERS"))
            .env("INTAKE_KAFKA__TOPIC_PREFIX", topic_prefix)
            .env("INTAKE_WORKER__GROUP_ID", worker_group)
            .env("INTAKE_POSTGRES__URL", database_url)
            .env_remove("INTAKE_CONFIG")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start intake lag");
        Self {
            address,
            _child: child,
        }
    }
}
