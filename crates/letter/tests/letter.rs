//! Integration tests of haechi-letter: canonical JSON, signing, verification, status, rendering.
//!
//! Fixtures live in `tests/fixtures/`. The signed golden files are produced by this crate from
//! the fixture keys (made with `openssl genpkey -algorithm ed25519`); set `HAECHI_BLESS=1` to
//! rewrite them after an intended format change, and review the diff.

// Helpers outside #[test] functions are test code too: a panic there is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use haechi_letter::{
    canonical_bytes, jcs, render_html, render_pdf, sign, status, verify, KeyRing, Keypair, Lang,
    NoActionLetter, PublicKey, RevocationInfo, SignedLetter, VerifyError,
};

fn fixture_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(fixture_path(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

fn fixture_str(rel: &str) -> String {
    String::from_utf8(fixture(rel)).unwrap()
}

fn keypair(name: &str) -> Keypair {
    Keypair::from_pkcs8_pem(&fixture_str(&format!("keys/{name}.pem"))).unwrap()
}

fn public(name: &str) -> PublicKey {
    PublicKey::from_pem(&fixture_str(&format!("keys/{name}.pub.pem"))).unwrap()
}

fn ring(names: &[&str]) -> KeyRing {
    KeyRing::from_keys(names.iter().map(|n| public(n)))
}

fn letter(name: &str) -> NoActionLetter {
    serde_json::from_slice(&fixture(&format!("letters/{name}.json"))).unwrap()
}

/// Compare with a golden file, or rewrite it when blessing.
fn golden(rel: &str, actual: &[u8]) {
    let path = fixture_path(rel);
    if std::env::var_os("HAECHI_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = fixture(rel);
    assert_eq!(
        String::from_utf8_lossy(actual),
        String::from_utf8_lossy(&expected),
        "golden file {rel} differs (HAECHI_BLESS=1 rewrites it)"
    );
}

fn outcome(result: &Result<haechi_letter::VerifiedLetter, VerifyError>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(e) => e.code().to_owned(),
    }
}

// ---------------------------------------------------------------- canonical JSON (RFC 8785)

#[test]
fn jcs_rfc8785_examples() {
    fn check(name: &str) {
        let input = fixture_str(&format!("jcs/{name}.input.json"));
        let expect = fixture(&format!("jcs/{name}.expected.json"));
        let got = jcs::canonicalize_str(&input).unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            String::from_utf8(expect).unwrap(),
            "{name}"
        );
    }
    check("rfc8785-values");
    check("rfc8785-sorting");
}

#[test]
fn jcs_rfc8785_numbers() {
    fn check(bits: u64, expect: &str) {
        let got = match jcs::format_number(f64::from_bits(bits)) {
            Ok(s) => s,
            Err(e) => {
                assert_eq!(e.code(), "jcs.non_finite_number");
                "error".to_owned()
            }
        };
        assert_eq!(got, expect, "IEEE-754 {bits:016x}");
    }
    let mut rows =
        csv::Reader::from_reader(std::io::Cursor::new(fixture("jcs/rfc8785-numbers.csv")));
    let mut count = 0;
    for row in rows.records() {
        let row = row.unwrap();
        check(u64::from_str_radix(&row[0], 16).unwrap(), &row[1]);
        count += 1;
    }
    assert_eq!(count, 26);
}

#[test]
fn canonical_form_is_stable_and_order_independent() {
    fn check(a: &str, b: &str) {
        let ca = jcs::canonicalize_str(&fixture_str(a)).unwrap();
        let cb = jcs::canonicalize_str(&fixture_str(b)).unwrap();
        assert_eq!(ca, cb, "{a} and {b} hold the same content");
        // Idempotent: canonical text canonicalises to itself.
        let again = jcs::canonicalize_str(std::str::from_utf8(&ca).unwrap()).unwrap();
        assert_eq!(again, ca);
        // The typed model loses nothing: its canonical bytes equal those of the raw JSON.
        let typed: NoActionLetter = serde_json::from_slice(&fixture(a)).unwrap();
        assert_eq!(canonical_bytes(&typed).unwrap(), ca);
    }
    check(
        "letters/fsc-nal-2026-0001.json",
        "letters/fsc-nal-2026-0001.reordered.json",
    );
    check("letters/small.json", "letters/small.json");
}

// ---------------------------------------------------------------- keys

#[test]
fn keys_round_trip_through_standard_pem() {
    fn check(name: &str) {
        let pair = keypair(name);
        let public_pem = fixture_str(&format!("keys/{name}.pub.pem"));
        // Same text as OpenSSL's `pkey -pubout`, so the published key is interoperable.
        assert_eq!(pair.public_key().to_pem().unwrap(), public_pem);
        assert_eq!(pair.public_key(), public(name));
        let id = pair.key_id();
        assert_eq!(id.len(), 16);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        let again = Keypair::from_pkcs8_pem(&pair.to_pkcs8_pem().unwrap()).unwrap();
        assert_eq!(again.key_id(), id);
        // Debug output must never contain secret material.
        assert!(!format!("{pair:?}").contains("PRIVATE"));
    }
    check("regulator-2026");
    check("regulator-2025-retired");
    check("stranger");

    let fresh = Keypair::generate();
    let reread = Keypair::from_pkcs8_pem(&fresh.to_pkcs8_pem().unwrap()).unwrap();
    assert_eq!(reread.public_key(), fresh.public_key());
    assert_ne!(fresh.key_id(), keypair("regulator-2026").key_id());

    let bad =
        Keypair::from_pkcs8_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
            .unwrap_err();
    assert_eq!(bad.code(), "key.bad_secret_key");
    let bad = PublicKey::from_pem(&fixture_str("keys/stranger.pem")).unwrap_err();
    assert_eq!(bad.code(), "key.bad_public_key");

    let bundle = ring(&["regulator-2025-retired", "regulator-2026"])
        .to_pem_bundle()
        .unwrap();
    let reread = KeyRing::from_pem_bundle(&bundle).unwrap();
    assert_eq!(reread.keys().len(), 2);
    assert!(reread
        .get(&keypair("regulator-2025-retired").key_id())
        .is_some());
    assert!(KeyRing::from_pem_bundle("garbage").is_err());
}

// ---------------------------------------------------------------- signing and verification

#[test]
fn signed_files_match_golden() {
    fn check(letter_name: &str, key: &str, golden_name: &str) {
        let signed = sign(&letter(letter_name), &keypair(key)).unwrap();
        golden(
            &format!("signed/{golden_name}"),
            &signed.to_file_bytes().unwrap(),
        );
    }
    check(
        "fsc-nal-2026-0001",
        "regulator-2026",
        "fsc-nal-2026-0001.json",
    );
    check(
        "fsc-nal-2026-0001",
        "regulator-2025-retired",
        "fsc-nal-2026-0001.old-key.json",
    );
    check(
        "fsc-nal-2026-0001",
        "stranger",
        "fsc-nal-2026-0001.stranger.json",
    );
    check("small", "regulator-2026", "small.json");
}

#[test]
fn verify_against_key_rings() {
    fn check(file: &str, keys: &[&str], expect: &str) {
        let result = verify(&fixture(&format!("signed/{file}")), &ring(keys));
        assert_eq!(outcome(&result), expect, "{file} with {keys:?}: {result:?}");
        if let Ok(v) = result {
            assert_eq!(v.letter().letter_number, "FSC-NAL-2026-0001");
            assert_eq!(v.content_sha256.len(), 64);
        }
    }
    let both = &["regulator-2025-retired", "regulator-2026"];
    check("fsc-nal-2026-0001.json", &["regulator-2026"], "ok");
    check("fsc-nal-2026-0001.json", both, "ok");
    // Rotation: the old key stays in the ring, so its letters keep verifying.
    check("fsc-nal-2026-0001.old-key.json", both, "ok");
    check(
        "fsc-nal-2026-0001.old-key.json",
        &["regulator-2026"],
        "letter.unknown_key",
    );
    check(
        "fsc-nal-2026-0001.stranger.json",
        both,
        "letter.unknown_key",
    );
    check("fsc-nal-2026-0001.json", &[], "letter.unknown_key");
}

#[test]
fn verified_letter_carries_what_the_cli_prints() {
    let v = verify(
        &fixture("signed/fsc-nal-2026-0001.json"),
        &ring(&["regulator-2026"]),
    )
    .unwrap();
    assert_eq!(v.letter().holder.name.ko, "한빛가상은행 주식회사");
    assert_eq!(v.letter().valid_until.to_string(), "2027-06-22");
    assert_eq!(v.key_id(), keypair("regulator-2026").key_id());
    assert_eq!(v.signed.letter, letter("fsc-nal-2026-0001"));
    assert_eq!(
        v.summary(),
        format!(
            "FSC-NAL-2026-0001 | 한빛가상은행 주식회사 / Hanbit Fictional Bank Co., Ltd. (inst-0007) \
             | valid 2026-06-23 to 2027-06-22 | signed by key {}",
            v.key_id()
        )
    );
}

#[test]
fn forged_key_id_is_a_bad_signature() {
    // A stranger signs and claims to be the regulator's key.
    let mut signed = sign(&letter("small"), &keypair("stranger")).unwrap();
    signed.signature.key_id = keypair("regulator-2026").key_id();
    let err = verify(&signed.to_file_bytes().unwrap(), &ring(&["regulator-2026"])).unwrap_err();
    assert_eq!(err.code(), "letter.bad_signature");
    assert!(err.to_string().contains("altered"), "{err}");
}

#[test]
fn tampered_files_fail_with_the_right_reason() {
    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        replace: String,
        with: String,
        expect: String,
    }
    fn check(case: &Case, original: &str) {
        assert!(
            original.contains(&case.replace),
            "{}: pattern not in file",
            case.name
        );
        let tampered = original.replacen(&case.replace, &case.with, 1);
        let result = verify(
            tampered.as_bytes(),
            &ring(&["regulator-2025-retired", "regulator-2026"]),
        );
        assert_eq!(outcome(&result), case.expect, "{}: {result:?}", case.name);
        if let Err(e) = result {
            assert!(!e.to_string().is_empty());
        }
    }
    let original = fixture_str("signed/fsc-nal-2026-0001.json");
    let cases: Vec<Case> = serde_json::from_slice(&fixture("tamper-cases.json")).unwrap();
    assert!(cases.len() >= 10);
    for case in &cases {
        check(case, &original);
    }
}

#[test]
fn malformed_errors_say_where() {
    fn check(text: &str, location_part: &str) {
        let err = verify(text.as_bytes(), &ring(&["regulator-2026"])).unwrap_err();
        match &err {
            VerifyError::Malformed { location, .. } => {
                assert!(location.contains(location_part), "{text}: {err}")
            }
            other => panic!("{text}: expected malformed, got {other:?}"),
        }
    }
    check("{\"letter\":{},\n\"signature\":", "line 2 column");
    check("[]", "$");
    check("{\"letter\":{}}", "$.signature");
    check(
        "{\"letter\":{},\"signature\":{\"alg\":\"Ed25519\",\"key_id\":1,\"value\":\"\"}}",
        "$.signature.key_id",
    );
}

#[test]
fn signed_but_wrong_fields_report_their_path() {
    // A correctly signed object with a bad date: the regulator's key signed nonsense. Verify
    // must say where the nonsense is rather than "bad signature".
    let key = keypair("regulator-2026");
    let mut value: serde_json::Value =
        serde_json::from_slice(&fixture("letters/small.json")).unwrap();
    value["valid_until"] = serde_json::Value::String("2027-02-30".to_owned());
    let bytes = jcs::canonicalize(&value).unwrap();
    let file = resign_raw(&bytes, &key);
    let err = verify(&file, &ring(&["regulator-2026"])).unwrap_err();
    assert_eq!(err.code(), "letter.malformed");
    assert!(err.to_string().contains("$.letter.valid_until"), "{err}");

    value["valid_until"] = serde_json::Value::String("2027-06-22".to_owned());
    value["schema"] = serde_json::Value::String("haechi.no-action-letter/2".to_owned());
    let file = resign_raw(&jcs::canonicalize(&value).unwrap(), &key);
    let err = verify(&file, &ring(&["regulator-2026"])).unwrap_err();
    assert_eq!(err.code(), "letter.unsupported_schema");
}

/// Build a letter file whose signature covers arbitrary canonical bytes, by round-tripping
/// through a signed file of the same key (the library offers no raw signing on purpose).
fn resign_raw(canonical: &[u8], key: &Keypair) -> Vec<u8> {
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    use ed25519_dalek::Signer;
    let pem = key.to_pkcs8_pem().unwrap();
    let dalek = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).unwrap();
    let sig = dalek.sign(canonical);
    use base64::Engine;
    let value = base64::engine::general_purpose::STANDARD.encode(sig.to_bytes());
    let mut file = b"{\"letter\":".to_vec();
    file.extend_from_slice(canonical);
    file.extend_from_slice(
        format!(
            ",\"signature\":{{\"alg\":\"Ed25519\",\"key_id\":\"{}\",\"value\":\"{value}\"}}}}",
            key.key_id()
        )
        .as_bytes(),
    );
    file
}

#[test]
fn flipping_any_byte_of_the_letter_fails_verification() {
    let keys = ring(&["regulator-2026"]);
    let file = fixture("signed/small.json");
    assert!(verify(&file, &keys).is_ok());
    let start = b"{\"letter\":".len();
    let end = start
        + file[start..]
            .windows(b",\"signature\":".len())
            .position(|w| w == b",\"signature\":")
            .unwrap();
    let mut changed_json = 0;
    let mut broken_json = 0;
    // XOR 0x01 flips the lowest bit (digits and letters stay printable); XOR 0x20 flips ASCII
    // case; XOR 0x80 breaks UTF-8. Between them every position is hit in both ways.
    for mask in [0x01u8, 0x20, 0x80] {
        for pos in start..end {
            let mut bytes = file.clone();
            bytes[pos] ^= mask;
            let err = verify(&bytes, &keys).expect_err("a flipped byte must not verify");
            let still_json = serde_json::from_slice::<serde_json::Value>(&bytes).is_ok();
            let expect = if still_json {
                changed_json += 1;
                "letter.bad_signature"
            } else {
                broken_json += 1;
                "letter.malformed"
            };
            assert_eq!(
                err.code(),
                expect,
                "byte {pos} ^ {mask:#04x} ({:?}): {err}",
                char::from(file[pos])
            );
        }
    }
    // Both kinds of damage really happened.
    assert!(changed_json > 100, "{changed_json}");
    assert!(broken_json > 100, "{broken_json}");
}

#[test]
fn signing_refuses_inconsistent_letters() {
    fn check(edit: fn(&mut NoActionLetter), expect: &str) {
        let mut l = letter("small");
        edit(&mut l);
        let err = sign(&l, &keypair("regulator-2026")).unwrap_err();
        assert_eq!(err.code(), expect, "{err}");
    }
    check(
        |l| l.valid_until = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        "letter.date_order",
    );
    check(|l| l.holder.name.ko = " ".to_owned(), "letter.empty_field");
    check(|l| l.schema = "x/1".to_owned(), "letter.unsupported_schema");
}

// ---------------------------------------------------------------- status

#[test]
fn status_on_a_date() {
    let v = verify(
        &fixture("signed/fsc-nal-2026-0001.json"),
        &ring(&["regulator-2026"]),
    )
    .unwrap();
    let check = |today: &str, revoked: Option<RevocationInfo>, expect: &str| {
        let today: NaiveDate = today.parse().unwrap();
        let s = status(&v, today, revoked.as_ref());
        assert_eq!(s.code(), expect, "{today} {revoked:?}: {}", s.reason());
        assert_eq!(s.is_valid(), expect == "valid");
        if let Some(r) = revoked.filter(|_| expect == "revoked") {
            assert!(s.reason().contains(&r.reason));
        }
    };
    let mut rows = csv::Reader::from_reader(std::io::Cursor::new(fixture("status-cases.csv")));
    for row in rows.records() {
        let row = row.unwrap();
        let revoked = (!row[1].is_empty()).then(|| RevocationInfo {
            letter_number: row[1].to_owned(),
            effective_on: row[2].parse().unwrap(),
            reason: "condition breached (test)".to_owned(),
        });
        check(&row[0], revoked, &row[3]);
    }
}

// ---------------------------------------------------------------- rendering

fn signed_fixture() -> SignedLetter {
    verify(
        &fixture("signed/fsc-nal-2026-0001.json"),
        &ring(&["regulator-2026"]),
    )
    .unwrap()
    .signed
}

#[test]
fn html_is_bilingual_print_ready_and_escaped() {
    let signed = signed_fixture();
    fn check(html: &str, must: &[&str], must_not: &[&str]) {
        for m in must {
            assert!(html.contains(m), "missing {m:?}");
        }
        for m in must_not {
            assert!(!html.contains(m), "unexpected {m:?}");
        }
    }
    let ko = render_html(&signed.letter, Some(&signed.signature), Lang::Ko);
    check(
        &ko,
        &[
            "<html lang=\"ko\">",
            "@page { size: A4",
            "비조치의견서",
            "No-Action Letter",
            "FSC-NAL-2026-0001",
            "한빛가상은행 주식회사",
            "Hanbit Fictional Bank Co., Ltd.",
            "CloudScan 보안취약점 진단 SaaS",
            "2026-06-23 ~ 2027-06-22",
            &signed.signature.key_id,
            &signed.signature.fingerprint(),
        ],
        &["DRAFT", "<script"],
    );
    // Korean leads in the Korean page, English in the English one.
    let pos = |h: &str, s: &str| h.find(s).unwrap();
    assert!(pos(&ko, "한빛가상은행") < pos(&ko, "Hanbit Fictional"));
    let en = render_html(&signed.letter, Some(&signed.signature), Lang::En);
    assert!(pos(&en, "Hanbit Fictional") < pos(&en, "한빛가상은행"));
    check(&en, &["<html lang=\"en\">"], &[]);

    let mut hostile = signed.letter.clone();
    hostile.holder.name.en = "<script>alert(1)</script> & \"co\"".to_owned();
    let draft = render_html(&hostile, None, Lang::Ko);
    check(
        &draft,
        &[
            "DRAFT",
            "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;co&quot;",
        ],
        &["<script>"],
    );
}

#[test]
fn pdf_has_extractable_korean_text_and_stays_small() {
    fn check(signed: &SignedLetter, must: &[&str]) {
        let pdf = render_pdf(signed).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        // Subsetting keeps it far below the 4.7 MB font.
        assert!(pdf.len() < 200_000, "PDF is {} bytes", pdf.len());
        let text = pdf_extract::extract_text_from_mem(&pdf).unwrap();
        for m in must {
            assert!(text.contains(m), "{m:?} not in extracted text:\n{text}");
        }
        // Same letter, same bytes.
        assert_eq!(render_pdf(signed).unwrap(), pdf);
    }
    let signed = signed_fixture();
    check(
        &signed,
        &[
            "비조치의견서",
            "FSC-NAL-2026-0001",
            "한빛가상은행 주식회사",
            "No-Action Letter",
            &signed.signature.key_id,
        ],
    );
    let small = sign(&letter("small"), &keypair("regulator-2026")).unwrap();
    assert!(haechi_letter::embedded_font_license().contains("SIL OPEN FONT LICENSE"));
    assert!(haechi_letter::embedded_font().starts_with(&[0, 1, 0, 0]));
    check(&small, &["비조치의견서", "FSC-NAL-2026-0002", "가나은행"]);
}

#[test]
fn pdf_and_print_page_carry_the_verification_address_and_its_qr_code() {
    let signed = signed_fixture();
    let url = "https://haechi.example/verify?number=FSC-NAL-2026-0001";
    let options = haechi_letter::PdfOptions {
        verify_url: Some(url),
    };
    let pdf = haechi_letter::render_pdf_with(&signed, &options).unwrap();
    let text = pdf_extract::extract_text_from_mem(&pdf).unwrap();
    assert!(text.contains(url), "{text}");
    assert!(text.contains("진위 확인"), "{text}");
    // The QR code is drawn: the page with it is bigger than the one without.
    assert!(pdf.len() > render_pdf(&signed).unwrap().len());
    // The number is where a verification page finds it; other bytes carry none.
    assert_eq!(
        haechi_letter::letter_number_of_pdf(&pdf).as_deref(),
        Some("FSC-NAL-2026-0001")
    );
    assert_eq!(
        haechi_letter::letter_number_of_pdf(b"{\"letter\": 1}"),
        None
    );
    assert_eq!(
        haechi_letter::letter_number_of_pdf(b"%PDF-1.7 nothing"),
        None
    );

    let html = haechi_letter::render_html_with(
        &signed.letter,
        Some(&signed.signature),
        Lang::Ko,
        &haechi_letter::HtmlOptions {
            stylesheet: Some("/assets/letter-print.css"),
            verify_url: Some(url),
        },
    );
    assert!(!html.contains("<style"));
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/assets/letter-print.css\">"));
    assert!(html.contains("<svg") && html.contains(&haechi_letter::html::escape(url)));
    assert!(haechi_letter::print_css().contains("@page"));
}

#[test]
fn saas_self_evaluations_are_a_kind_of_report_in_the_schedule() {
    let mut l = letter("small");
    l.reporting.push(haechi_letter::ReportingObligation {
        kind: haechi_letter::ReportKind::SaasSelfEvaluation,
        period_start: l.valid_from,
        period_end: l.valid_from,
        due_on: l.valid_from,
    });
    l.validate().unwrap();
    let json = serde_json::to_value(&l).unwrap();
    assert_eq!(
        json["reporting"].as_array().unwrap().last().unwrap()["kind"],
        "saas_self_evaluation"
    );
    let html = render_html(&l, None, Lang::Ko);
    assert!(html.contains("SaaS 자체 점검"));
}
