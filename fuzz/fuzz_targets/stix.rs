//! STIX: the crate builds bundles and has no bundle parser; what it reads from people is the TLP
//! level and an indicator's kind and value, which become a STIX pattern.
#![no_main]
use haechi_formats::stix::{IndicatorKind, Tlp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Tlp::parse(s);
    let (kind, value) = s.split_once('\n').unwrap_or((s, s));
    if let Some(k) = IndicatorKind::parse(kind) {
        if k.check(value).is_ok() {
            let _ = k.pattern(value);
        }
    }
});
