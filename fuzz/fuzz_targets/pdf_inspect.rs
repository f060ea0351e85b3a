//! Any bytes as a PDF: a report with findings, never a panic or a bomb.
#![no_main]

use intake_inspect::inspect_pdf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = inspect_pdf(data);
});
