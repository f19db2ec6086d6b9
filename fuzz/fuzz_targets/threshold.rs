//! The threshold parser: a key (`metric{tag:value}`) and an expression,
//! split at the first newline of the input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let (key, expression) = text.split_once('\n').unwrap_or((text, "p(95)<500"));
        let _ = vespid::metrics::Threshold::parse(key, expression);
    }
});
