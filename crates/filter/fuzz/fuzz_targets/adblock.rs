//! Any bytes as a adblock list: no panic, and every accepted name is normalised.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = filter::parse::adblock::parse(&text, "fuzz");
    for e in &parsed.entries {
        assert_eq!(filter::normalize::normalize_host(&e.name).as_deref(), Ok(e.name.as_str()));
    }
});
