//! Letter verification: any file checked against a key ring (the fixtures' regulator keys)
//! gives a verified letter or an error, never a panic.
#![no_main]
use std::sync::OnceLock;

use haechi_letter::{KeyRing, PublicKey};
use libfuzzer_sys::fuzz_target;

fn ring() -> &'static KeyRing {
    static RING: OnceLock<KeyRing> = OnceLock::new();
    RING.get_or_init(|| {
        let mut ring = KeyRing::new();
        for pem in [
            include_str!("../../crates/letter/tests/fixtures/keys/regulator-2026.pub.pem"),
            include_str!("../../crates/letter/tests/fixtures/keys/regulator-2025-retired.pub.pem"),
        ] {
            ring.add(PublicKey::from_pem(pem).expect("fixture key"));
        }
        ring
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = haechi_letter::verify(data, ring());
});
