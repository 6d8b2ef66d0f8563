//! The CVE JSON 5 record reader, and the preferred CVSS metric of what it reads.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = haechi_formats::feeds::cve::read_cve_record(data) {
        let _ = r.preferred_metric();
    }
});
