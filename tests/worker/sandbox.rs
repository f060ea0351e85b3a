//! The child that parses hostile files, as the worker runs it: its CPU
//! and memory limits are enforced by the kernel and its time by the
//! worker, and every way it can fail is a refusal with a reason.

use std::time::Duration;

use intake_core::decide::{FILE_TYPES, Finding};
use intake_generator::files::{self, PdfAction};
use intake_inspect::{FileBytes, InspectLimits, ZipBudget};
use intake_tests::Stack;
use intake_worker::sandbox::{Budget, inspect_in_child};

fn limits() -> InspectLimits {
    InspectLimits {
        allowed_types: FILE_TYPES.iter().map(|t| t.media_type.to_owned()).collect(),
        max_file_bytes: 1 << 30,
        pdf_max_bytes: 1 << 30,
        zip: ZipBudget {
            max_entries: 1000,
            max_total_bytes: 1 << 30,
            // High enough that only memory stops the zeros below.
            max_ratio: 1_000_000,
            max_depth: 3,
        },
    }
}

fn file<'a>(name: &'a str, bytes: &'a [u8]) -> FileBytes<'a> {
    FileBytes::whole(name, None, bytes)
}

fn budget(memory_bytes: u64) -> Budget {
    Budget {
        program: intake_tests::process::binary(&Stack::new(), "debug", "intake-worker"),
        time: Duration::from_secs(20),
        memory_bytes,
    }
}

#[tokio::test]
async fn a_file_is_inspected_in_the_child_as_in_process() {
    let pdf = files::pdf(&["Lasku"], PdfAction::JavaScript);
    let inspection = inspect_in_child(file("lasku.pdf", &pdf), &limits(), &budget(512 << 20)).await;
    assert_eq!(inspection.detected_type, "application/pdf");
    assert!(
        inspection
            .findings
            .iter()
            .any(|f| matches!(f, Finding::ActiveContent { .. })),
        "{inspection:?}"
    );
}

#[tokio::test]
async fn a_file_that_needs_more_memory_than_allowed_is_refused_not_a_crash() {
    // 64 MiB of zeros inside a small ZIP: expanding it needs more than the
    // child's 32 MiB.
    let zeros = vec![0u8; 64 << 20];
    let zip = files::zip(&[("nollat.txt", &zeros)], None);
    let inspection = inspect_in_child(file("nollat.zip", &zip), &limits(), &budget(32 << 20)).await;
    assert!(
        matches!(
            inspection.findings.as_slice(),
            [Finding::Malformed { detail }] if detail.contains("CPU or memory budget")
        ),
        "{inspection:?}"
    );
}

#[tokio::test]
async fn a_child_that_outlives_its_time_is_killed() {
    let pdf = files::pdf(&["x"], PdfAction::None);
    let mut slow = budget(512 << 20);
    // Less time than a process takes to start.
    slow.time = Duration::from_micros(1);
    let inspection = inspect_in_child(file("x.pdf", &pdf), &limits(), &slow).await;
    assert!(
        matches!(
            inspection.findings.as_slice(),
            [Finding::Malformed { detail }] if detail.contains("longer than")
        ),
        "{inspection:?}"
    );
}
