//! The computing-resources CSV reader.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = haechi_service::findings::parse_resources_csv(data);
});
