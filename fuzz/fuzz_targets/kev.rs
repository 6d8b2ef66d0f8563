//! The CISA KEV catalogue reader.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = haechi_formats::feeds::kev::read_kev(data);
});
