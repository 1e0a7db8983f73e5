//! Any bytes as an index snapshot: an error or a usable index, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(index) = filter::Index::from_bytes(data) {
        let _ = index.matches("www.example.com").count();
        let _ = index.counts();
    }
});
