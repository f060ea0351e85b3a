//! Any bytes as a ZIP or Office file, expanded under a small budget.
#![no_main]

use intake_inspect::{ZipBudget, inspect_zip};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let budget = ZipBudget {
        max_entries: 64,
        max_total_bytes: 4 << 20,
        max_ratio: 100,
        max_depth: 3,
    };
    let _ = inspect_zip(data, budget);
});
