//! The policy loader (TOML, validated with field paths and lines).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = haechi_policy::Policy::from_toml_str(text);
    }
});
