//! Any text as a URL or host: normalisation never panics and is idempotent.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(host) = filter::normalize::host_of(&text) {
        assert_eq!(filter::normalize::normalize_host(&host).as_deref(), Ok(host.as_str()));
    }
    let _ = filter::normalize::path_of(&text);
});
