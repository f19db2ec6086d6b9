//! The run-file parser and the plan's checks: any text is a plan or an error.
#![no_main]

use vespid::config::{Overrides, Plan, Source};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let source = Source::from_text("fuzz.toml", text);
        let _ = Plan::from_file(&source, &Overrides::default());
    }
});
