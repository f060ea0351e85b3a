//! Any text as HTML: the readable text is never longer than the input
//! plus one space per tag, and nothing panics.
#![no_main]

use intake_inspect::html_text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|html: &str| {
    let text = html_text(html);
    assert!(text.len() <= html.len() + html.matches('<').count() + 1);
});
