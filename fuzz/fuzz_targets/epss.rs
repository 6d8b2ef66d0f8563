//! The FIRST EPSS CSV reader (plain and gzipped).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(reader) = haechi_formats::feeds::epss::EpssReader::new(data) {
        for row in reader.take(100_000) {
            if row.is_err() {
                break;
            }
        }
    }
});
