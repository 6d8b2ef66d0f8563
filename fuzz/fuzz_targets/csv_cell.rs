//! Formula-injection escaping: an escaped cell never starts a formula and reads back unchanged.
#![no_main]
use haechi_formats::csv_cell::{escape, unescape, TRIGGERS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = std::str::from_utf8(data) else {
        return;
    };
    let cell = escape(v);
    assert!(!cell.starts_with(TRIGGERS), "{cell:?}");
    assert_eq!(unescape(&cell), v);
});
