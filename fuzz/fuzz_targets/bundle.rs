//! The bundle reader: any bytes are refused or read, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = vespid::bundle::Bundle::from_bytes(data);
});
