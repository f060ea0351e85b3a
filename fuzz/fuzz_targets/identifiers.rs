//! Any text searched for application ids, request ids and customer
//! numbers: whatever is found carries a valid check digit.
#![no_main]

use intake_core::decide::extract_identifiers;
use intake_core::ids::ApplicationId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let found = extract_identifiers(text);
    for id in &found.applications {
        assert!(ApplicationId::parse(id.as_str()).is_ok(), "{id}");
    }
});
