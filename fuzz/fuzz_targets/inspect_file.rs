//! Any bytes under any name through type sniffing, name judgement,
//! polyglot checks, parsing and classification. The input is a name, a
//! newline, then the content, so real files seed it. Nothing panics.
#![no_main]

use intake_core::decide::{FILE_TYPES, classify};
use intake_inspect::{FileBytes, InspectLimits, ZipBudget, inspect_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().take(256).position(|&b| b == b'\n').unwrap_or(0);
    let name = String::from_utf8_lossy(&data[..split]);
    let bytes = &data[(split + 1).min(data.len())..];
    let limits = InspectLimits {
        allowed_types: FILE_TYPES.iter().map(|t| t.media_type.to_owned()).collect(),
        max_file_bytes: 1 << 20,
        pdf_max_bytes: 1 << 20,
        zip: ZipBudget {
            max_entries: 100,
            max_total_bytes: 4 << 20,
            max_ratio: 100,
            max_depth: 3,
        },
    };
    let inspection = inspect_file(FileBytes::whole(&name, None, bytes), &limits);
    let _ = classify(&inspection.findings);
});
