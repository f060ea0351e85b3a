//! Any bytes as an e-mail: unpacking ends with a message or an error,
//! within its part and depth limits, never a panic.
#![no_main]

use intake_inspect::{MimeLimits, unpack};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = MimeLimits {
        max_parts: 200,
        max_depth: 10,
    };
    if let Ok(mail) = unpack(data, limits) {
        assert!(mail.files.len() <= limits.max_parts);
    }
});
