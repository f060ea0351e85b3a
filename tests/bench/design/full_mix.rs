//! (d) The generator's full mix (attachments, PDFs, ZIPs, viruses,
//! foreign encryption), preloaded, through the release worker: the figure
//! the old design gave as 33 supplements/s.

use std::time::{Duration, Instant};

use intake_generator::population::Population;
use intake_tests::worker::TestWorker;
use intake_tests::{Stack, peak_rss_kib};
use serde::Serialize;

use crate::support;

const SUPPLEMENTS: usize = 480;

#[derive(Debug, Serialize)]
pub struct FullMix {
    pub supplements: usize,
    /// Start-up included, as the old figure was measured.
    pub seconds: f64,
    pub per_second: f64,
    pub worker_peak_rss_mib: f64,
}

pub async fn run(stack: &Stack) -> FullMix {
    let gateway = support::gateway(stack).await;
    let population = Population::generate(7, 200);
    support::publish_registry(&gateway, &population).await;
    let supplements = support::supplements(&population, 7, SUPPLEMENTS);
    let ids = support::send_all(&gateway, &supplements, |_| async {}).await;
    let started = Instant::now();
    let worker = TestWorker::start_with(stack, &gateway, None, "release", vec![]).await;
    let pid = worker.pid().expect("pid");
    let mut peak = 0;
    let deadline = started + Duration::from_secs(900);
    loop {
        peak = peak.max(peak_rss_kib(pid));
        let (recorded, unsent): (i64, i64) = sqlx::query_as(
            "select (select count(*) from supplements), (select count(*) from outbox where sent_at is null)",
        )
        .fetch_one(&gateway.db.pool)
        .await
        .expect("count");
        if recorded as usize == ids.len() && unsent == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "full mix did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let figures = FullMix {
        supplements: ids.len(),
        seconds,
        per_second: ids.len() as f64 / seconds,
        worker_peak_rss_mib: peak.max(peak_rss_kib(pid)) as f64 / 1024.0,
    };
    println!(
        "(d) full mix: {} supplements in {:.1} s = {:.1}/s (start-up included), worker peak RSS {:.1} MiB",
        figures.supplements, figures.seconds, figures.per_second, figures.worker_peak_rss_mib
    );
    figures
}
