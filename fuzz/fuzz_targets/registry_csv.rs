//! The institution registry CSV reader; what it accepts writes back and reads back the same.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(rows) = haechi_service::institutions::parse_csv(data) {
        let written = haechi_service::institutions::write_csv(&rows).expect("write");
        let again = haechi_service::institutions::parse_csv(&written).expect("reads back");
        assert_eq!(again, rows);
    }
});
