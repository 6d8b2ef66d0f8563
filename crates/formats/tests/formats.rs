//! Integration tests of haechi-formats: every fixture under `tests/fixtures/` is a file written
//! from the rules in standards.md, in the shapes real producers emit.

// clippy.toml allows these inside #[test] functions only; the shared check helpers here are
// test code too, where a panic is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use haechi_formats::io::{CountingReader, HashingReader};
use haechi_formats::sarif::{
    self, fingerprint_with_scope, AiOrigin, FingerprintSource, ResultSink, RunInfo, SarifError,
    SarifFinding, SarifOptions, SinkError,
};

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn read_fixture(path: &str) -> Vec<u8> {
    std::fs::read(fixture(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

// ---------------------------------------------------------------------------------------------
// SARIF
// ---------------------------------------------------------------------------------------------

/// Collects everything (fine for small fixtures; the memory test uses a counting sink).
#[derive(Default)]
struct Collect {
    events: Vec<String>,
    findings: Vec<SarifFinding>,
    started: Vec<RunInfo>,
    finished: Vec<RunInfo>,
}

impl ResultSink for Collect {
    fn run_started(&mut self, run: &RunInfo) -> Result<(), SinkError> {
        self.events
            .push(format!("start r{} {}", run.run_index, run.driver.name));
        self.started.push(run.clone());
        Ok(())
    }
    fn result(&mut self, f: SarifFinding) -> Result<(), SinkError> {
        self.events
            .push(format!("result r{}#{}", f.run_index, f.result_index));
        self.findings.push(f);
        Ok(())
    }
    fn run_finished(&mut self, run: &RunInfo) -> Result<(), SinkError> {
        self.events
            .push(format!("finish r{} n={}", run.run_index, run.result_count));
        self.finished.push(run.clone());
        Ok(())
    }
}

/// The memory test measures the process-wide peak RSS, so it takes this lock exclusively while
/// every other SARIF parse takes it shared.
static MEMORY_TEST: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    MEMORY_TEST.read().unwrap_or_else(|e| e.into_inner())
}

fn parse(bytes: &[u8]) -> Result<Collect, SarifError> {
    let mut sink = Collect::default();
    sarif::read_sarif(bytes, &mut sink, &SarifOptions::default())?;
    Ok(sink)
}

/// One line per finding with the fields the importer relies on.
fn render(f: &SarifFinding) -> String {
    let loc = match f.primary_location() {
        Some(l) => format!(
            "{}{}:{}:{}{}",
            l.uri_base_id
                .as_deref()
                .map(|b| format!("[{b}]"))
                .unwrap_or_default(),
            l.path.as_deref().unwrap_or("?"),
            l.start_line.map_or("-".into(), |n| n.to_string()),
            l.start_column.map_or("-".into(), |n| n.to_string()),
            if l.placeholder_region {
                " (placeholder)"
            } else {
                ""
            }
        ),
        None => "-".to_owned(),
    };
    let fp = match &f.fingerprint_source {
        FingerprintSource::Fingerprints { key } => format!("fingerprints/{key}"),
        FingerprintSource::PartialFingerprints { key } => format!("partial/{key}"),
        FingerprintSource::Computed => "computed".to_owned(),
    };
    format!(
        "r{}#{} rule={} level={}({:?}) kind={} sev={} cwe={:?} cve={:?} loc={} fp={} msg={:?}",
        f.run_index,
        f.result_index,
        f.rule_id.as_deref().unwrap_or("-"),
        f.level.as_str(),
        f.level_source,
        f.kind.as_str(),
        f.security_severity.map_or("-".into(), |s| s.to_string()),
        f.cwes,
        f.cves,
        loc,
        fp,
        f.message
    )
}

fn check_sarif(name: &str, expect: &[&str]) -> Collect {
    let got = parse(&read_fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let lines: Vec<String> = got.findings.iter().map(render).collect();
    assert_eq!(lines, expect, "{name}");
    // Identity is stable across parses.
    let again = parse(&read_fixture(name)).unwrap();
    for (a, b) in got.findings.iter().zip(&again.findings) {
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.content_hash, b.content_hash);
    }
    got
}

#[test]
fn sarif_codeql_extensions_and_taxa() {
    let _guard = shared();
    let got = check_sarif(
        "sarif/codeql.sarif",
        &[
            r#"r0#0 rule=js/sql-injection level=error(RuleDefault) kind=fail sev=8.8 cwe=[89, 90] cve=[] loc=[%SRCROOT%]src/db/accounts.js:42:17 fp=partial/primaryLocationLineHash msg="This query string depends on a [user-provided value](1).""#,
            r#"r0#1 rule=js/reflected-xss level=warning(Result) kind=fail sev=6.1 cwe=[20, 79, 116] cve=[] loc=[%SRCROOT%]src/routes/transfer.js:31:5 fp=partial/primaryLocationLineHash msg="Cross-site scripting vulnerability due to a user-provided value.""#,
            r#"r0#2 rule=js/unused-local-variable level=note(RuleDefault) kind=fail sev=- cwe=[] cve=[] loc=[%SRCROOT%]src/db/accounts.js:7:7 fp=partial/primaryLocationLineHash msg="Unused variable tmp.""#,
        ],
    );
    let mut capped = Collect::default();
    let opts = SarifOptions {
        max_code_flow_steps: 2,
        ..SarifOptions::default()
    };
    sarif::read_sarif(&read_fixture("sarif/codeql.sarif")[..], &mut capped, &opts).unwrap();
    assert_eq!(
        capped.findings[0].code_flow,
        ["src/routes/transfer.js:10", "src/routes/transfer.js:14"]
    );
    assert_eq!(capped.findings[0].code_flow_total, 3);
    let f = &got.findings[0];
    assert_eq!(
        f.code_flow,
        [
            "src/routes/transfer.js:10",
            "src/routes/transfer.js:14",
            "src/db/accounts.js:42"
        ]
    );
    assert_eq!(f.code_flow_total, 3);
    let rule = f.rule.as_ref().unwrap();
    assert_eq!(rule.component.as_deref(), Some("codeql/javascript-queries"));
    assert_eq!(rule.problem_severity.as_deref(), Some("error"));
    assert_eq!(
        f.partial_fingerprints
            .get("primaryLocationLineHash")
            .unwrap(),
        "a974941e886f4b3:1"
    );
    let run = &got.finished[0];
    assert_eq!(run.driver.name, "CodeQL");
    assert_eq!(run.driver.semantic_version.as_deref(), Some("2.19.3"));
    assert_eq!(run.extensions[0].name, "codeql/javascript-queries");
    assert_eq!(run.extensions[0].rule_count, 3);
    assert_eq!(run.automation_id.as_deref(), Some("/language:javascript/"));
    assert_eq!(
        run.start_time_utc.unwrap().to_rfc3339(),
        "2026-11-20T09:00:00+00:00"
    );
    assert_eq!(
        run.end_time_utc.unwrap().to_rfc3339(),
        "2026-11-20T09:14:31.250+00:00"
    );
    assert_eq!(run.column_kind.as_deref(), Some("utf16CodeUnits"));
    assert_eq!(run.result_count, 3);
    assert_eq!(
        got.events,
        [
            "start r0 CodeQL",
            "result r0#0",
            "result r0#1",
            "result r0#2",
            "finish r0 n=3"
        ]
    );
}

#[test]
fn sarif_semgrep_severity_only_on_rules_and_tool_last() {
    let _guard = shared();
    let got = check_sarif(
        "sarif/semgrep.sarif",
        &[
            r#"r0#0 rule=python.django.security.injection.sql.sql-injection-using-raw level=error(RuleDefault) kind=fail sev=- cwe=[89] cve=[] loc=[%SRCROOT%]app/views.py:27:5 fp=computed msg="Detected string concatenation with a non-literal variable in a SQL query.""#,
            r#"r0#1 rule=python.django.security.audit.django-debug level=note(RuleDefault) kind=fail sev=3.1 cwe=[489] cve=[] loc=[%SRCROOT%]app/settings.py:3:1 fp=fingerprints/matchBasedId/v1 msg="Django DEBUG is enabled.""#,
        ],
    );
    // The gated placeholder is kept as data but never used as identity.
    assert_eq!(
        got.findings[0].fingerprints.get("matchBasedId/v1").unwrap(),
        "requires login"
    );
    assert_eq!(got.finished[0].driver.name, "Semgrep OSS");
    assert_eq!(
        got.finished[0].driver.semantic_version.as_deref(),
        Some("1.185.0")
    );
    assert_eq!(got.finished[0].execution_successful, Some(true));
}

#[test]
fn sarif_bandit_without_level() {
    let _guard = shared();
    let got = check_sarif(
        "sarif/bandit.sarif",
        &[
            r#"r0#0 rule=B104 level=warning(RuleDefault) kind=fail sev=- cwe=[605] cve=[] loc=/home/dev/bankapp/server.py:12:15 fp=partial/primaryLocationLineHash msg="Possible binding to all interfaces.""#,
            r#"r0#1 rule=B608 level=error(Result) kind=fail sev=- cwe=[89] cve=[] loc=/home/dev/bankapp/db.py:40:9 fp=computed msg="Possible SQL injection vector through string-based query construction.""#,
        ],
    );
    assert_eq!(
        got.findings[0].locations[0].snippet.as_deref(),
        Some("app.run(host='0.0.0.0')\n")
    );
    assert_eq!(
        got.finished[0].end_time_utc.unwrap().to_rfc3339(),
        "2026-11-21T03:04:05+00:00"
    );
}

#[test]
fn sarif_trivy_cve_rules_and_placeholder_lines() {
    let _guard = shared();
    let got = check_sarif(
        "sarif/trivy.sarif",
        &[
            r#"r0#0 rule=CVE-2021-44228 level=error(Result) kind=fail sev=10 cwe=[] cve=["CVE-2021-44228"] loc=[ROOTPATH]app/lib/log4j-core-2.14.1.jar:1:1 (placeholder) fp=computed msg="Package: org.apache.logging.log4j:log4j-core\nInstalled Version: 2.14.1\nVulnerability CVE-2021-44228\nSeverity: CRITICAL\nFixed Version: 2.15.0\nLink: [CVE-2021-44228](https://avd.aquasec.com/nvd/cve-2021-44228)""#,
            r#"r0#1 rule=KSV014 level=error(Result) kind=fail sev=8 cwe=[] cve=[] loc=[ROOTPATH]deploy/payments.yaml:21:1 fp=computed msg="Artifact: deploy/payments.yaml\nType: kubernetes\nVulnerability KSV014\nSeverity: HIGH\nMessage: Container 'api' should set 'securityContext.readOnlyRootFilesystem' to true""#,
        ],
    );
    let rule = got.findings[0].rule.as_ref().unwrap();
    assert_eq!(
        rule.cvss_v3_vector.as_deref(),
        Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")
    );
    let run = &got.finished[0];
    assert_eq!(run.original_uri_base_ids["ROOTPATH"], "file:///");
    assert_eq!(
        run.properties.as_ref().unwrap()["imageName"],
        "registry.example/payments:1.2"
    );
    assert!(run.ai.is_empty());
}

#[test]
fn sarif_eslint_file_uris() {
    let _guard = shared();
    let got = check_sarif(
        "sarif/eslint.sarif",
        &[
            r#"r0#0 rule=no-eval level=error(Result) kind=fail sev=- cwe=[] cve=[] loc=/home/dev/web app/src/app.js:5:1 fp=computed msg="eval can be harmful.""#,
            r#"r0#1 rule=no-unused-vars level=warning(Result) kind=fail sev=- cwe=[] cve=[] loc=/home/dev/web app/src/app.js:9:7 fp=computed msg="'tmp' is assigned a value but never used.""#,
        ],
    );
    assert_eq!(
        got.findings[0].locations[0].uri.as_deref(),
        Some("file:///home/dev/web%20app/src/app.js")
    );
    assert!(!got.findings[0].suppressed);
    assert!(got.findings[1].suppressed);
    assert_eq!(got.finished[0].driver.version.as_deref(), Some("8.57.0"));
}

#[test]
fn sarif_message_strings_kind_and_ai_provenance() {
    let _guard = shared();
    let got = check_sarif(
        "sarif/message_strings.sarif",
        &[
            r#"r0#0 rule=AIPT001 level=warning(Default) kind=fail sev=9.3 cwe=[79, 116] cve=[] loc=- fp=computed msg="Parameter 'q' of /search is reflected without encoding ({raw}).""#,
            r#"r0#1 rule=AIPT002 level=none(KindNotFail) kind=pass sev=- cwe=[] cve=[] loc=- fp=computed msg="**Checked** login throttling.""#,
            r#"r0#2 rule=AIPT002/sub level=error(RuleDefault) kind=fail sev=- cwe=[] cve=["CVE-2014-3566"] loc=?:-:- fp=computed msg="Weak TLS on CVE-2014-3566 style fallback.""#,
            r#"r0#3 rule=- level=warning(Default) kind=fail sev=- cwe=[] cve=[] loc=- fp=computed msg="Rule-less observation.""#,
        ],
    );
    // Rule-level 7.2 is overridden by the result's 9.3; "0.0" means no security severity.
    assert_eq!(
        got.findings[0].rule.as_ref().unwrap().security_severity,
        Some(7.2)
    );
    assert_eq!(
        got.findings[1].rule.as_ref().unwrap().security_severity,
        None
    );
    assert_eq!(got.findings[2].logical_locations[0].name, "auth::login");
    let run = &got.finished[0];
    assert_eq!(run.ai.model.as_deref(), Some("fin-audit-llm"));
    assert_eq!(run.ai.model_version.as_deref(), Some("2026.10"));
    assert_eq!(run.ai.provider.as_deref(), Some("Example AI"));
    assert_eq!(run.automation_id.as_deref(), Some("ai-pentest/2026-11-24"));
    assert_eq!(
        run.start_time_utc.unwrap().to_rfc3339(),
        "2026-11-24T01:00:00+00:00"
    );
    assert_eq!(
        run.end_time_utc.unwrap().to_rfc3339(),
        "2026-11-23T17:30:00+00:00"
    );
    assert_eq!(run.execution_successful, Some(false));
}

#[test]
fn sarif_tool_after_results_is_buffered_then_resolved() {
    let _guard = shared();
    let got = check_sarif(
        "sarif/tool_after_results.sarif",
        &[
            r#"r0#0 rule=R2 level=error(RuleDefault) kind=fail sev=- cwe=[787] cve=[] loc=a.c:3:- fp=computed msg="second rule""#,
            r#"r0#1 rule=R1 level=note(RuleDefault) kind=fail sev=- cwe=[] cve=[] loc=- fp=computed msg="first rule""#,
            r#"r1#0 rule=E1 level=warning(Default) kind=fail sev=- cwe=[] cve=[] loc=- fp=computed msg="streamed""#,
        ],
    );
    assert_eq!(
        got.events,
        [
            "start r0 LateTool",
            "result r0#0",
            "result r0#1",
            "finish r0 n=2",
            "start r1 EarlyTool",
            "result r1#0",
            "finish r1 n=1",
            "start r2 EmptyTool",
            "finish r2 n=0"
        ]
    );
    // Properties after results are still announced (run_started sees them here because the
    // run was buffered until its end).
    assert_eq!(got.started[0].ai.model.as_deref(), Some("model-x"));
    assert_eq!(got.finished[0].ai.model_version.as_deref(), Some("v7"));
}

#[test]
fn sarif_pending_limit_is_enforced() {
    let _guard = shared();
    let mut sink = Collect::default();
    let opts = SarifOptions {
        max_pending_results: 1,
        ..SarifOptions::default()
    };
    let err = sarif::read_sarif(
        &read_fixture("sarif/tool_after_results.sarif")[..],
        &mut sink,
        &opts,
    )
    .unwrap_err();
    assert_eq!(err.code(), "sarif.too_many_pending_results");
    assert_eq!(err.path(), Some("runs[0].results"));
}

#[test]
fn sarif_gzip_input_and_progress() {
    let _guard = shared();
    let plain = read_fixture("sarif/codeql.sarif");
    let gz = gzip(&plain);
    let counting = CountingReader::new(&gz[..]);
    let counter = counting.counter();
    let mut hashing = HashingReader::new(counting);
    let mut sink = Collect::default();
    let summary = sarif::read_sarif(&mut hashing, &mut sink, &SarifOptions::default()).unwrap();
    // The file hash is of the uploaded (compressed) bytes, all of them.
    use sha2::Digest;
    assert_eq!(hashing.sha256_hex(), hex::encode(sha2::Sha256::digest(&gz)));
    assert!(summary.gzip);
    assert_eq!(summary.results, 3);
    assert_eq!(summary.bytes, plain.len() as u64);
    assert_eq!(counter.load(Ordering::Relaxed), gz.len() as u64);
    let direct = parse(&plain).unwrap();
    let fps = |c: &Collect| c.findings.iter().map(|f| f.fingerprint).collect::<Vec<_>>();
    assert_eq!(fps(&sink), fps(&direct));

    // Corrupt and truncated gzip are reported, not mistaken for JSON.
    let mut corrupt = gz.clone();
    let mid = corrupt.len() / 2;
    for b in &mut corrupt[mid..mid + 8] {
        *b ^= 0xa5;
    }
    let err = sarif::read_sarif(
        &corrupt[..],
        &mut Collect::default(),
        &SarifOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err.code(),
            "sarif.invalid_gzip" | "sarif.invalid_json" | "sarif.truncated"
        ),
        "{err}"
    );
    let cut = &gz[..gz.len() / 2];
    let err =
        sarif::read_sarif(cut, &mut Collect::default(), &SarifOptions::default()).unwrap_err();
    assert_eq!(err.code(), "sarif.truncated", "{err}");
}

/// Hands out 1–7 bytes per read, so every value straddles buffer refills.
struct Dribble<'a> {
    data: &'a [u8],
    n: usize,
}

impl Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.n = self.n % 7 + 1;
        let k = self.n.min(buf.len()).min(self.data.len());
        buf[..k].copy_from_slice(&self.data[..k]);
        self.data = &self.data[k..];
        Ok(k)
    }
}

#[test]
fn sarif_tiny_reads_give_the_same_findings() {
    let _guard = shared();
    for name in [
        "codeql.sarif",
        "semgrep.sarif",
        "bandit.sarif",
        "trivy.sarif",
        "eslint.sarif",
        "message_strings.sarif",
        "tool_after_results.sarif",
    ] {
        let bytes = read_fixture(&format!("sarif/{name}"));
        let whole = parse(&bytes).unwrap();
        let mut sink = Collect::default();
        sarif::read_sarif(
            Dribble { data: &bytes, n: 0 },
            &mut sink,
            &SarifOptions::default(),
        )
        .unwrap();
        let a: Vec<String> = whole.findings.iter().map(render).collect();
        let b: Vec<String> = sink.findings.iter().map(render).collect();
        assert_eq!(a, b, "{name}");
        assert_eq!(whole.events, sink.events, "{name}");
    }
    // Errors keep their exact place too.
    for name in [
        "invalid_json.sarif",
        "wrong_type_pretty.sarif",
        "truncated.sarif",
    ] {
        let bytes = read_fixture(&format!("sarif/bad/{name}"));
        let whole = parse(&bytes).err().unwrap().to_string();
        let mut sink = Collect::default();
        let dribbled = sarif::read_sarif(
            Dribble { data: &bytes, n: 0 },
            &mut sink,
            &SarifOptions::default(),
        )
        .err()
        .unwrap()
        .to_string();
        assert_eq!(whole, dribbled, "{name}");
    }
}

#[test]
fn sarif_every_truncation_is_reported_as_truncated() {
    let _guard = shared();
    for name in ["semgrep.sarif", "eslint.sarif", "tool_after_results.sarif"] {
        let bytes = read_fixture(&format!("sarif/{name}"));
        let complete = bytes.trim_ascii_end().len();
        for n in 0..complete {
            match parse(&bytes[..n]) {
                Ok(_) => panic!("{name}: prefix of {n} bytes parsed"),
                Err(e) => {
                    assert_eq!(e.code(), "sarif.truncated", "{name} cut at {n}: {e}");
                    assert_eq!(e.offset(), Some(n as u64), "{name} cut at {n}: {e}");
                }
            }
        }
        assert!(parse(&bytes[..complete]).is_ok(), "{name}");
    }
}

/// Random single-byte damage must give an error or a result, never a panic, and errors must
/// point inside the input.
#[test]
fn sarif_damaged_inputs_never_panic() {
    use rand::{Rng, SeedableRng};
    let _guard = shared();
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let alphabet = b"{}[],:\"\\0123456789-eE.tfn \n\x00\xff";
    for name in ["codeql.sarif", "semgrep.sarif", "trivy.sarif"] {
        let bytes = read_fixture(&format!("sarif/{name}"));
        let mut errors = 0;
        for _ in 0..400 {
            let mut damaged = bytes.clone();
            let at = rng.gen_range(0..damaged.len());
            damaged[at] = alphabet[rng.gen_range(0..alphabet.len())];
            if let Err(e) = parse(&damaged) {
                errors += 1;
                if let Some(o) = e.offset() {
                    assert!(o <= damaged.len() as u64, "{name}: {e}");
                }
                assert!(!e.to_string().is_empty());
            }
        }
        assert!(errors > 0, "{name}: no damage was detected at all");
    }
}

/// Expected error: code, JSON path, byte offset, line/column (None = not checked).
struct BadCase {
    file: &'static str,
    code: &'static str,
    path: Option<&'static str>,
    offset: Option<u64>,
    line_col: Option<(usize, usize)>,
}

fn check_bad(case: &BadCase) {
    let err = match parse(&read_fixture(&format!("sarif/bad/{}", case.file))) {
        Ok(_) => panic!("{}: parsed but should fail", case.file),
        Err(e) => e,
    };
    assert_eq!(err.code(), case.code, "{}: {err}", case.file);
    if let Some(p) = case.path {
        assert_eq!(err.path(), Some(p), "{}: {err}", case.file);
    }
    if let Some(o) = case.offset {
        assert_eq!(err.offset(), Some(o), "{}: {err}", case.file);
    }
    if let Some((l, c)) = case.line_col {
        let (line, column) = match &err {
            SarifError::InvalidJson { line, column, .. }
            | SarifError::Truncated { line, column, .. }
            | SarifError::WrongType { line, column, .. } => (*line, *column),
            other => panic!("{}: no line/column in {other}", case.file),
        };
        assert_eq!((line, column), (l, c), "{}: {err}", case.file);
    }
    // The message names the place.
    let msg = err.to_string();
    if let Some(p) = case.path {
        assert!(msg.contains(p), "{}: message {msg:?} lacks {p}", case.file);
    }
}

#[test]
fn sarif_bad_inputs_name_the_place() {
    let _guard = shared();
    let cases = [
        BadCase {
            file: "invalid_json.sarif",
            code: "sarif.invalid_json",
            path: None,
            offset: Some(95),
            line_col: Some((1, 96)),
        },
        BadCase {
            file: "truncated.sarif",
            code: "sarif.truncated",
            path: None,
            offset: Some(111),
            line_col: Some((2, 52)),
        },
        BadCase {
            file: "trailing.sarif",
            code: "sarif.invalid_json",
            path: None,
            offset: Some(75),
            line_col: None,
        },
        BadCase {
            file: "version_missing.sarif",
            code: "sarif.missing_version",
            path: Some("version"),
            offset: None,
            line_col: None,
        },
        BadCase {
            file: "version_wrong.sarif",
            code: "sarif.unsupported_version",
            path: Some("version"),
            offset: None,
            line_col: None,
        },
        BadCase {
            file: "version_wrong_late.sarif",
            code: "sarif.unsupported_version",
            path: Some("version"),
            offset: None,
            line_col: None,
        },
        BadCase {
            file: "version_number.sarif",
            code: "sarif.wrong_type",
            path: Some("version"),
            offset: Some(13),
            line_col: Some((1, 14)),
        },
        BadCase {
            file: "not_object.sarif",
            code: "sarif.wrong_type",
            path: Some("(root)"),
            offset: None,
            line_col: None,
        },
        BadCase {
            file: "unknown_rule_index.sarif",
            code: "sarif.unknown_rule",
            path: Some("runs[0].results[1].ruleIndex"),
            offset: None,
            line_col: None,
        },
        BadCase {
            file: "unknown_rule_id.sarif",
            code: "sarif.unknown_rule",
            path: Some("runs[0].results[2].ruleId"),
            offset: None,
            line_col: None,
        },
        BadCase {
            file: "unknown_tool_component.sarif",
            code: "sarif.unknown_tool_component",
            path: Some("runs[0].results[0].rule.toolComponent"),
            offset: None,
            line_col: None,
        },
        BadCase {
            file: "unknown_rule_in_extension.sarif",
            code: "sarif.unknown_rule",
            path: Some("runs[0].results[0].rule.index"),
            offset: None,
            line_col: None,
        },
        BadCase {
            file: "unknown_rule_late_tool.sarif",
            code: "sarif.unknown_rule",
            path: Some("runs[0].results[0].ruleIndex"),
            offset: None,
            line_col: None,
        },
        BadCase {
            file: "rule_mismatch.sarif",
            code: "sarif.rule_mismatch",
            path: Some("runs[0].results[0]"),
            offset: None,
            line_col: None,
        },
        BadCase {
            file: "wrong_type.sarif",
            code: "sarif.wrong_type",
            path: Some("runs[0].results[0]"),
            offset: Some(154),
            line_col: Some((1, 155)),
        },
        BadCase {
            file: "wrong_type_pretty.sarif",
            code: "sarif.wrong_type",
            path: Some("runs[0].results[1]"),
            offset: Some(207),
            line_col: Some((10, 19)),
        },
        BadCase {
            file: "missing_tool.sarif",
            code: "sarif.missing_field",
            path: Some("runs[0].tool"),
            offset: None,
            line_col: None,
        },
        BadCase {
            file: "missing_message.sarif",
            code: "sarif.missing_field",
            path: Some("runs[0].results[1].message"),
            offset: None,
            line_col: None,
        },
        BadCase {
            file: "bad_level.sarif",
            code: "sarif.wrong_type",
            path: Some("runs[0].results[0]"),
            offset: None,
            line_col: None,
        },
    ];
    for case in &cases {
        check_bad(case);
    }
}

#[test]
fn sarif_sink_error_stops_with_the_result_path() {
    let _guard = shared();
    struct StopAt(usize, usize);
    impl ResultSink for StopAt {
        fn run_started(&mut self, _: &RunInfo) -> Result<(), SinkError> {
            Ok(())
        }
        fn result(&mut self, _: SarifFinding) -> Result<(), SinkError> {
            self.1 += 1;
            if self.1 > self.0 {
                return Err(SinkError::msg("database full"));
            }
            Ok(())
        }
    }
    let mut sink = StopAt(1, 0);
    let err = sarif::read_sarif(
        &read_fixture("sarif/codeql.sarif")[..],
        &mut sink,
        &SarifOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "sarif.sink");
    assert_eq!(err.path(), Some("runs[0].results[1]"));
    assert!(err.to_string().contains("database full"));
}

#[test]
fn sarif_fingerprints_identity_and_content() {
    let _guard = shared();
    let base = read_fixture("sarif/eslint.sarif");
    let a = parse(&base).unwrap();
    // A different message changes the computed identity (no producer fingerprint here) ...
    let text = String::from_utf8(base.clone()).unwrap();
    let changed = parse(
        text.replace("eval can be harmful.", "eval is harmful.")
            .as_bytes(),
    )
    .unwrap();
    assert_ne!(a.findings[0].fingerprint, changed.findings[0].fingerprint);
    // ... re-indenting the snippet does not ...
    let reindented = parse(
        text.replace("\"eval(userInput);\"", "\"  eval(userInput);\\n\"")
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        a.findings[0].fingerprint,
        reindented.findings[0].fingerprint
    );
    // ... but it is a content change.
    assert_ne!(
        a.findings[0].content_hash,
        reindented.findings[0].content_hash
    );
    assert_eq!(
        a.findings[1].content_hash,
        reindented.findings[1].content_hash
    );

    // Producer partial fingerprints: a level change keeps identity, changes content.
    let codeql = String::from_utf8(read_fixture("sarif/codeql.sarif")).unwrap();
    let c1 = parse(codeql.as_bytes()).unwrap();
    let c2 = parse(
        codeql
            .replace("\"level\": \"warning\"", "\"level\": \"error\"")
            .replace("Unused variable tmp.", "Unused variable tmp2.")
            .as_bytes(),
    )
    .unwrap();
    for i in 0..3 {
        assert_eq!(
            c1.findings[i].fingerprint, c2.findings[i].fingerprint,
            "#{i}"
        );
    }
    assert_eq!(c1.findings[0].content_hash, c2.findings[0].content_hash);
    assert_ne!(c1.findings[1].content_hash, c2.findings[1].content_hash);
    assert_ne!(c1.findings[2].content_hash, c2.findings[2].content_hash);
    // All distinct within a file.
    let mut all: Vec<_> = c1.findings.iter().map(|f| f.fingerprint).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 3);

    // Scope separates the same finding in two resources, deterministically.
    let f = &a.findings[0];
    let s1 = fingerprint_with_scope(f, "resource-1");
    assert_eq!(s1, fingerprint_with_scope(f, "resource-1"));
    assert_ne!(s1, fingerprint_with_scope(f, "resource-2"));
    assert_eq!(s1.to_hex().len(), 32);
    assert!(s1.to_hex().bytes().all(|b| b.is_ascii_hexdigit()));
}

/// Stored findings are keyed by these hashes, so their values may never drift: pinned for a
/// few fixed results, and as one digest over every fixture and a synthetic log.
#[test]
fn sarif_identity_and_content_hashes_are_pinned() {
    use sha2::{Digest, Sha256};
    let _guard = shared();
    let line = |f: &SarifFinding| {
        format!(
            "{} {} {}",
            f.fingerprint,
            f.content_hash,
            fingerprint_with_scope(f, "resource:1")
        )
    };
    let eslint = parse(&read_fixture("sarif/eslint.sarif")).unwrap();
    let codeql = parse(&read_fixture("sarif/codeql.sarif")).unwrap();
    let trivy = parse(&read_fixture("sarif/trivy.sarif")).unwrap();
    let got = [
        line(&eslint.findings[0]),
        line(&codeql.findings[0]),
        line(&trivy.findings[0]),
    ];
    let want = [PINNED_ESLINT_0, PINNED_CODEQL_0, PINNED_TRIVY_0];
    assert_eq!(got, want);

    let mut all = Sha256::new();
    for name in [
        "sarif/bandit.sarif",
        "sarif/codeql.sarif",
        "sarif/eslint.sarif",
        "sarif/message_strings.sarif",
        "sarif/semgrep.sarif",
        "sarif/tool_after_results.sarif",
        "sarif/trivy.sarif",
    ] {
        for f in &parse(&read_fixture(name)).unwrap().findings {
            all.update(line(f).as_bytes());
        }
    }
    let mut log = Vec::new();
    sarif::synth::generate(&mut log, 3000, 5).unwrap();
    for f in &parse(&log).unwrap().findings {
        all.update(line(f).as_bytes());
    }
    assert_eq!(hex::encode(all.finalize()), PINNED_ALL);
}

/// A result's short scalar properties are kept in file order (nested values and long strings
/// are not), and the AI origin comes from the result, else the run, else the run's AI model.
#[test]
fn sarif_result_properties_and_ai_origin() {
    let _g = shared();
    let got = parse(&read_fixture("sarif/ai_evidence.sarif")).unwrap();
    let f = &got.findings;
    assert_eq!(
        f[0].properties,
        vec![
            ("exploitConfirmed".to_string(), "true".to_string()),
            ("ai/origin".to_string(), "AI_Annotated".to_string()),
            ("confidence".to_string(), "0.97".to_string()),
        ]
    );
    assert_eq!(f[0].ai_origin, Some(AiOrigin::AiAnnotated));
    assert_eq!(f[0].cwes, vec![78]);
    assert!(f[1].properties.is_empty());
    assert_eq!(f[1].ai_origin, None);
    assert!(
        f[2].properties.is_empty(),
        "a bag that is not an object is ignored"
    );
    let runs = &got.finished;
    assert_eq!(runs[0].ai.origin, Some(AiOrigin::AiGenerated));
    assert_eq!(runs[0].ai.model.as_deref(), Some("sentinel-coder"));
    let effective: Vec<AiOrigin> = [(&f[0], &runs[0]), (&f[1], &runs[0]), (&f[2], &runs[1])]
        .iter()
        .map(|(f, r)| AiOrigin::effective(f.ai_origin, &r.ai))
        .collect();
    assert_eq!(
        effective,
        [
            AiOrigin::AiAnnotated,
            AiOrigin::AiGenerated,
            AiOrigin::Conventional
        ]
    );
    // The run's model alone makes its results AI-generated.
    let mut run = runs[0].ai.clone();
    run.origin = None;
    assert_eq!(AiOrigin::effective(None, &run), AiOrigin::AiGenerated);
    for (text, want) in [
        ("ai-generated", Some(AiOrigin::AiGenerated)),
        ("aiGenerated", Some(AiOrigin::AiGenerated)),
        ("human", Some(AiOrigin::Conventional)),
        ("ai-assisted", Some(AiOrigin::AiAnnotated)),
        ("maybe", None),
    ] {
        assert_eq!(AiOrigin::parse(text), want, "{text}");
    }
}

const PINNED_ESLINT_0: &str =
    "a91ca3142b3a1c0ae37fbc8bcb90bb4b 9be605699c5ad8aee951705086878ab3 c208c1e363add023804c548c421b7937";
const PINNED_CODEQL_0: &str =
    "bb2aa6da69687eabf8e92a5edf83d330 d7b798be7f53f16d543fbd06f17a9239 37bc83c502be2c4d035d84c05dfb8dab";
const PINNED_TRIVY_0: &str =
    "81c8dbf50f6d8a5d82f2f778b7ae2978 e571387bfa7a5bc38234b554bddfb78a 4b193bc80087291932d4adc196fa188c";
// Changed once on purpose (issue #13): results with scalar properties (Bandit's) hash them.
const PINNED_ALL: &str = "0dbba6512247ae38393db59fe46e1e248cac5b9637ae10ab23ca68be9017e5e6";

/// Peak resident memory of this process in KiB (Linux), to check that streaming stays bounded.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A `Read` fed by a generator thread through a bounded channel, so the log never exists whole.
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.cur.len() {
            match self.rx.recv() {
                Ok(v) => {
                    self.cur = v;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

struct ChannelWriter(std::sync::mpsc::SyncSender<Vec<u8>>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .send(buf.to_vec())
            .map_err(|_| std::io::Error::other("reader gone"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn sarif_huge_generated_log_streams_in_bounded_memory() {
    const N: usize = 200_000;
    let _exclusive = MEMORY_TEST.write().unwrap_or_else(|e| e.into_inner());
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
    let gen = std::thread::spawn(move || sarif::synth::generate(ChannelWriter(tx), N, 42));
    struct Count {
        n: u64,
        runs: usize,
        with_flow: u64,
        cwe: u64,
        ext_rules: u64,
    }
    impl ResultSink for Count {
        fn run_started(&mut self, _: &RunInfo) -> Result<(), SinkError> {
            self.runs += 1;
            Ok(())
        }
        fn result(&mut self, f: SarifFinding) -> Result<(), SinkError> {
            self.n += 1;
            self.with_flow += u64::from(!f.code_flow.is_empty());
            self.cwe += u64::from(!f.cwes.is_empty());
            self.ext_rules += u64::from(f.rule.as_ref().is_some_and(|r| r.component.is_some()));
            Ok(())
        }
    }
    let before = peak_rss_kib();
    let reader = CountingReader::new(ChannelReader {
        rx,
        cur: Vec::new(),
        pos: 0,
    });
    let counter = reader.counter();
    let mut sink = Count {
        n: 0,
        runs: 0,
        with_flow: 0,
        cwe: 0,
        ext_rules: 0,
    };
    let summary = sarif::read_sarif(reader, &mut sink, &SarifOptions::default()).unwrap();
    gen.join().unwrap().unwrap();
    assert_eq!(summary.results, N as u64);
    assert_eq!(sink.n, N as u64);
    assert_eq!(sink.runs, 2);
    assert_eq!(sink.ext_rules, (N / 5) as u64);
    assert_eq!(sink.cwe, (N - N / 5) as u64);
    assert!(sink.with_flow > 0);
    let bytes = counter.load(Ordering::Relaxed);
    assert!(bytes > 50_000_000, "generated {bytes} bytes");
    if let (Some(b), Some(a)) = (before, peak_rss_kib()) {
        // The log is > 50 MB; streaming must not come anywhere near holding it.
        eprintln!("peak RSS grew by {} KiB", a.saturating_sub(b));
        assert!(
            a.saturating_sub(b) < 40 * 1024,
            "peak RSS grew by {} KiB while streaming {bytes} bytes",
            a - b
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Feeds
// ---------------------------------------------------------------------------------------------

use haechi_formats::cyclonedx::read_cyclonedx;
use haechi_formats::feeds::cve::{read_cve_record, CvssVersion, MetricSource};
use haechi_formats::feeds::epss::EpssReader;
use haechi_formats::feeds::kev::{read_kev, RansomwareUse};
use haechi_formats::feeds::FeedError;

/// Renders an EPSS file as `header` then one `line cve epss percentile` per row.
fn epss_lines(bytes: &[u8]) -> Result<Vec<String>, FeedError> {
    let mut r = EpssReader::new(bytes)?;
    let h = r.header().clone();
    let mut out = vec![format!(
        "model={} date={}",
        h.model_version.as_deref().unwrap_or("-"),
        h.score_date.map_or("-".into(), |d| d.to_rfc3339())
    )];
    for row in &mut r {
        let row = row?;
        out.push(format!(
            "{} {} {} {}",
            row.line, row.cve, row.epss, row.percentile
        ));
    }
    Ok(out)
}

fn check_epss(file: &str, expect: &[&str]) {
    let bytes = read_fixture(file);
    assert_eq!(epss_lines(&bytes).unwrap(), expect, "{file}");
    assert_eq!(epss_lines(&gzip(&bytes)).unwrap(), expect, "{file} gzipped");
}

#[test]
fn epss_both_date_forms_and_scientific_notation() {
    check_epss(
        "feeds/epss_v4.csv",
        &[
            "model=v2025.03.14 date=2025-09-24T12:55:00+00:00",
            "3 CVE-2021-44228 0.94358 0.99954",
            "4 CVE-2023-4966 0.94205 0.99921",
            "5 CVE-1999-0001 0.00005 0.00012",
            "6 CVE-2024-12345 0.00012 0.0341",
        ],
    );
    check_epss(
        "feeds/epss_v3_old.csv",
        &[
            "model=v2023.03.01 date=2026-11-24T00:00:00+00:00",
            "3 CVE-2014-0160 0.97467 0.9998",
            "4 CVE-2022-22965 0.97456 0.99973",
        ],
    );
    check_epss(
        "feeds/epss_no_comment.csv",
        &["model=- date=-", "2 CVE-2020-1472 0.9 0.99"],
    );
}

fn check_epss_bad(file: &str, code: &str, line: u64, needle: &str) {
    let err = epss_lines(&read_fixture(file)).unwrap_err();
    assert_eq!(err.code(), code, "{file}: {err}");
    assert_eq!(err.line(), Some(line), "{file}: {err}");
    let msg = err.to_string();
    assert!(msg.contains(needle), "{file}: {msg:?} lacks {needle:?}");
    assert!(msg.contains(&format!("line {line}")), "{file}: {msg:?}");
}

#[test]
fn epss_bad_rows_name_the_line() {
    check_epss_bad("feeds/bad/epss_bad_score.csv", "feed.bad_row", 4, "`epss`");
    check_epss_bad(
        "feeds/bad/epss_out_of_range.csv",
        "feed.bad_row",
        5,
        "outside",
    );
    check_epss_bad("feeds/bad/epss_bad_cve.csv", "feed.bad_row", 4, "GHSA-1234");
    check_epss_bad(
        "feeds/bad/epss_bad_header.csv",
        "feed.bad_header",
        2,
        "cve,score",
    );
    check_epss_bad(
        "feeds/bad/epss_bad_date.csv",
        "feed.bad_comment",
        1,
        "24/09/2025",
    );
    check_epss_bad(
        "feeds/bad/epss_short_row.csv",
        "feed.bad_row",
        4,
        "expected 3 fields",
    );
}

#[test]
fn kev_fields() {
    let kev = read_kev(&read_fixture("feeds/kev.json")[..]).unwrap();
    assert_eq!(kev.catalog_version, "2026.11.24");
    assert_eq!(
        kev.date_released.to_rfc3339(),
        "2026-11-24T17:02:31.224500+00:00"
    );
    assert_eq!(kev.count, Some(3));
    let rows: Vec<String> = kev
        .vulnerabilities
        .iter()
        .map(|v| {
            format!(
                "{} {}/{} added={} due={} ransomware={:?} cwes={:?}",
                v.cve_id,
                v.vendor_project,
                v.product,
                v.date_added,
                v.due_date.map_or("-".into(), |d| d.to_string()),
                v.known_ransomware_campaign_use,
                v.cwes
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            r#"CVE-2021-44228 Apache/Log4j2 added=2021-12-10 due=2021-12-24 ransomware=Known cwes=["CWE-20", "CWE-400", "CWE-502"]"#,
            r#"CVE-2023-4966 Citrix/NetScaler ADC and NetScaler Gateway added=2023-10-18 due=2023-11-08 ransomware=Known cwes=["CWE-119"]"#,
            r#"CVE-2026-00001 Example/Teller Portal added=2026-11-20 due=2026-12-11 ransomware=Unknown cwes=[]"#,
        ]
    );
    assert_eq!(
        kev.vulnerabilities[0].required_action.as_deref(),
        Some("Apply updates per vendor instructions.")
    );
    assert_eq!(
        kev.vulnerabilities[2].known_ransomware_campaign_use,
        RansomwareUse::Unknown
    );
    // gzip is accepted too.
    let gz = read_kev(&gzip(&read_fixture("feeds/kev.json"))[..]).unwrap();
    assert_eq!(gz, kev);
}

fn check_json_bad(
    result: Result<impl std::fmt::Debug, FeedError>,
    file: &str,
    code: &str,
    path: &str,
) {
    let err = result.expect_err(file);
    assert_eq!(err.code(), code, "{file}: {err}");
    assert_eq!(err.path(), Some(path), "{file}: {err}");
    assert!(err.to_string().contains(path), "{file}: {err}");
}

#[test]
fn kev_bad_inputs_name_the_json_path() {
    for (file, code, path) in [
        (
            "kev_bad_date.json",
            "feed.invalid_value",
            "vulnerabilities[1].dateAdded",
        ),
        (
            "kev_bad_cve.json",
            "feed.invalid_value",
            "vulnerabilities[2].cveID",
        ),
        (
            "kev_wrong_type.json",
            "feed.invalid_json",
            "vulnerabilities[0].cwes",
        ),
        (
            "kev_missing_product.json",
            "feed.invalid_json",
            "vulnerabilities[1]",
        ),
    ] {
        let bytes = read_fixture(&format!("feeds/bad/{file}"));
        check_json_bad(read_kev(&bytes[..]), file, code, path);
    }
    // Truncated JSON reports where it ended.
    let bytes = read_fixture("feeds/kev.json");
    let err = read_kev(&bytes[..bytes.len() / 2]).unwrap_err();
    assert_eq!(err.code(), "feed.invalid_json", "{err}");
    assert!(err.line().unwrap() > 1, "{err}");
}

#[test]
fn cve_record_cna_metrics_cwe_and_affected() {
    let rec = read_cve_record(&read_fixture("feeds/cve_cna.json")[..]).unwrap();
    assert_eq!(rec.cve_id, "CVE-2026-10001");
    assert_eq!(rec.state, "PUBLISHED");
    assert_eq!(rec.data_version, "5.1");
    assert_eq!(rec.assigner_short_name.as_deref(), Some("ExampleCNA"));
    assert_eq!(
        rec.date_published.unwrap().to_rfc3339(),
        "2026-10-01T08:00:00+00:00"
    );
    // A date-time without offset is read as UTC.
    assert_eq!(
        rec.date_updated.unwrap().to_rfc3339(),
        "2026-11-02T10:30:00+00:00"
    );
    assert!(rec
        .description
        .as_deref()
        .unwrap()
        .starts_with("SQL injection"));
    let metrics: Vec<String> = rec
        .metrics
        .iter()
        .map(|m| {
            format!(
                "{:?} {} {:?} {:?} {}",
                m.version, m.vector, m.base_score, m.source, m.path
            )
        })
        .collect();
    assert_eq!(
        metrics,
        [
            "V4_0 CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N Some(8.7) Cna containers.cna.metrics[0].cvssV4_0",
            "V3_1 CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N Some(7.5) Cna containers.cna.metrics[0].cvssV3_1",
        ]
    );
    assert_eq!(rec.preferred_metric().unwrap().version, CvssVersion::V4_0);
    assert_eq!(rec.cwes.len(), 1);
    assert_eq!(rec.cwes[0].id, 89);
    let a = &rec.affected[0];
    assert_eq!(
        (
            a.vendor.as_deref(),
            a.product.as_deref(),
            a.default_status.as_deref()
        ),
        (Some("Example"), Some("Core Banking"), Some("unaffected"))
    );
    assert_eq!(a.versions[0].less_than.as_deref(), Some("3.4.2"));
    assert_eq!(a.versions[0].status, "affected");
    assert_eq!(a.versions[1].version, "3.4.2");
}

#[test]
fn cve_record_adp_only_metrics() {
    let rec = read_cve_record(&read_fixture("feeds/cve_adp_only.json")[..]).unwrap();
    assert_eq!(rec.metrics.len(), 1);
    let m = &rec.metrics[0];
    assert_eq!(m.version, CvssVersion::V3_1);
    assert_eq!(m.base_score, Some(7.5));
    assert_eq!(m.path, "containers.adp[1].metrics[0].cvssV3_1");
    assert_eq!(
        m.source,
        MetricSource::Adp {
            index: 1,
            short_name: Some("CISA-ADP".to_owned())
        }
    );
    assert_eq!(rec.cwes.len(), 1);
    assert_eq!(rec.cwes[0].id, 22);
    assert!(matches!(
        rec.cwes[0].source,
        MetricSource::Adp { index: 1, .. }
    ));
    assert!(rec.date_updated.is_none());
}

#[test]
fn cve_record_rejected_has_no_metrics() {
    let bytes = read_fixture("feeds/cve_rejected.json");
    let rec = read_cve_record(&gzip(&bytes)[..]).unwrap();
    assert_eq!(rec.state, "REJECTED");
    assert!(rec.metrics.is_empty() && rec.cwes.is_empty() && rec.affected.is_empty());
    assert!(rec.preferred_metric().is_none());
    assert!(rec.date_published.is_none());
    assert_eq!(
        rec.date_updated.unwrap().to_rfc3339(),
        "2026-11-01T00:00:00+00:00"
    );
}

#[test]
fn cve_record_bad_inputs_name_the_json_path() {
    for (file, code, path) in [
        (
            "cve_bad_data_version.json",
            "feed.unsupported",
            "dataVersion",
        ),
        (
            "cve_bad_vector.json",
            "feed.invalid_value",
            "containers.cna.metrics[0].cvssV3_1.vectorString",
        ),
        (
            "cve_bad_date.json",
            "feed.invalid_value",
            "cveMetadata.datePublished",
        ),
        (
            "cve_bad_score_type.json",
            "feed.invalid_json",
            "containers.cna.metrics[0].cvssV4_0.baseScore",
        ),
    ] {
        let bytes = read_fixture(&format!("feeds/bad/{file}"));
        check_json_bad(read_cve_record(&bytes[..]), file, code, path);
    }
}

// ---------------------------------------------------------------------------------------------
// CycloneDX
// ---------------------------------------------------------------------------------------------

fn check_bom(file: &str, spec: &str, subject: &str, expect: &[&str]) {
    let bom = read_cyclonedx(&read_fixture(file)[..]).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(bom.spec_version, spec);
    let s = bom.subject.as_ref().unwrap();
    assert_eq!(
        format!(
            "{} {} {}",
            s.kind,
            s.name,
            s.version.as_deref().unwrap_or("-")
        ),
        subject
    );
    let lines: Vec<String> = bom
        .components
        .iter()
        .map(|c| {
            format!(
                "{} {}{} {} purl={} ref={} parent={} at={}",
                c.kind,
                c.group
                    .as_deref()
                    .map(|g| format!("{g}:"))
                    .unwrap_or_default(),
                c.name,
                c.version.as_deref().unwrap_or("-"),
                c.purl.as_deref().unwrap_or("-"),
                c.bom_ref.as_deref().unwrap_or("-"),
                c.parent.as_deref().unwrap_or("-"),
                c.path
            )
        })
        .collect();
    assert_eq!(lines, expect, "{file}");
}

#[test]
fn cyclonedx_15_and_16() {
    check_bom(
        "cyclonedx/bom_15.json",
        "1.5",
        "application teller-portal 2.3.0",
        &[
            "library express 4.18.2 purl=pkg:npm/express@4.18.2 ref=pkg:npm/express@4.18.2 parent=- at=components[0]",
            "library org.apache.logging.log4j:log4j-core 2.14.1 purl=pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1 ref=log4j-core parent=- at=components[1]",
        ],
    );
    check_bom(
        "cyclonedx/bom_16.json",
        "1.6",
        "container registry.example/payments 1.2",
        &[
            "operating-system debian 12.7 purl=- ref=os parent=- at=components[0]",
            "library openssl 3.0.14-1~deb12u2 purl=pkg:deb/debian/openssl@3.0.14-1~deb12u2?distro=debian-12 ref=deb-openssl parent=os at=components[0].components[0]",
            "library libssl3 3.0.14-1~deb12u2 purl=- ref=deb-libssl3 parent=deb-openssl at=components[0].components[0].components[0]",
            "library requests 2.31.0 purl=pkg:pypi/requests@2.31.0 ref=- parent=- at=components[1]",
        ],
    );
    let bom = read_cyclonedx(&read_fixture("cyclonedx/bom_16.json")[..]).unwrap();
    assert_eq!(
        bom.components[3].cpe.as_deref(),
        Some("cpe:2.3:a:python:requests:2.31.0:*:*:*:*:*:*:*")
    );
    assert_eq!(bom.version, Some(3));
}

#[test]
fn cyclonedx_bad_inputs() {
    for (file, code, path) in [
        ("bom_14.json", "feed.unsupported", "specVersion"),
        ("bom_not_cyclonedx.json", "feed.unsupported", "bomFormat"),
        (
            "bom_missing_name.json",
            "feed.invalid_json",
            "components[1]",
        ),
        (
            "bom_nested_wrong_type.json",
            "feed.invalid_json",
            "components[0].components[0].name",
        ),
    ] {
        let bytes = read_fixture(&format!("cyclonedx/bad/{file}"));
        check_json_bad(read_cyclonedx(&bytes[..]), file, code, path);
    }
}

/// A gzip bomb: a few kilobytes that inflate to megabytes (terabytes in the wild) are refused at
/// the configured limit, not read to the end; under the limit the same log reads.
#[test]
fn sarif_gzip_bomb_is_refused_at_the_limit() {
    let _guard = shared();
    let mut log = br#"{"version":"2.1.0","runs":["#.to_vec();
    log.extend(std::iter::repeat_n(b' ', 16 << 20));
    log.extend_from_slice(b"]}");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&log).unwrap();
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 32 << 10, "{} compressed bytes", bomb.len());
    let opts = SarifOptions {
        max_inflated_bytes: 1 << 20,
        ..SarifOptions::default()
    };
    let err = sarif::read_sarif(&bomb[..], &mut Collect::default(), &opts).unwrap_err();
    assert!(
        matches!(err, SarifError::InflatedTooLarge { limit } if limit == 1 << 20),
        "{err:?}"
    );
    assert_eq!(err.code(), "sarif.inflated_too_large");
    assert!(err.to_string().contains("1048576"), "{err}");
    // Within the limit (the default) the same bytes are a valid, empty log.
    let ok = sarif::read_sarif(&bomb[..], &mut Collect::default(), &SarifOptions::default());
    assert!(ok.is_ok(), "{ok:?}");
}
