//! Synthetic SARIF 2.1.0 generator for benchmarks (`haechi bench ingest`) and memory tests.
//!
//! Writes a realistic log to a caller-supplied `Write`: a SAST run (tool first, 200 rules with
//! CWE tags and `security-severity`, partial fingerprints, snippets, some code flows, AI
//! provenance) and a dependency run whose rules live in a tool extension and are referenced
//! through `rule.toolComponent`. Deterministic for a given seed. It must not be used as a
//! conformance oracle: it only emits shapes this crate is known to read.

use std::io::{self, BufWriter, Write};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SAST_RULES: usize = 200;
const EXT_RULES: usize = 50;
const CWES: [u32; 12] = [79, 89, 22, 78, 502, 798, 327, 611, 918, 352, 434, 117];
const DIRS: [&str; 6] = [
    "src/main/java/kr/example/payments",
    "src/main/java/kr/example/ledger",
    "services/auth/src",
    "web/static/js",
    "api/handlers",
    "batch/settlement",
];
const FILES: [&str; 8] = [
    "TransferController.java",
    "AccountRepository.java",
    "login.py",
    "app.js",
    "report.go",
    "export.ts",
    "Settlement.kt",
    "query_builder.py",
];

fn js<W: Write>(w: &mut W, s: &str) -> io::Result<()> {
    serde_json::to_writer(&mut *w, s).map_err(io::Error::other)
}

fn level_of(i: usize) -> &'static str {
    ["error", "warning", "note", "error"][i % 4]
}

/// Writes a SARIF log with `n_results` results in total (about 80% in the SAST run, the rest in
/// the dependency run) to `writer`.
pub fn generate<W: Write>(writer: W, n_results: usize, seed: u64) -> io::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut w = BufWriter::with_capacity(256 * 1024, writer);
    let n_sast = n_results - n_results / 5;
    let n_dep = n_results - n_sast;

    w.write_all(
        br#"{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":["#,
    )?;

    // Run 0: SAST, tool first.
    w.write_all(br#"{"tool":{"driver":{"name":"HaechiSynth SAST","version":"1.4.2","semanticVersion":"1.4.2","informationUri":"https://example.invalid/synth","rules":["#)?;
    for r in 0..SAST_RULES {
        if r > 0 {
            w.write_all(b",")?;
        }
        let cwe = CWES[r % CWES.len()];
        let sev = rng.gen_range(10..=99) as f64 / 10.0;
        write!(
            w,
            r#"{{"id":"synth/rule-{r:03}","name":"SynthRule{r}","shortDescription":{{"text":"Synthetic rule {r} for CWE-{cwe}"}},"defaultConfiguration":{{"level":"{}"}},"properties":{{"tags":["security","external/cwe/cwe-{cwe:03}"],"precision":"high","security-severity":"{sev:.1}"}}}}"#,
            level_of(r)
        )?;
    }
    w.write_all(br#"]}},"invocations":[{"executionSuccessful":true,"startTimeUtc":"2026-11-24T01:00:00Z","endTimeUtc":"2026-11-24T01:20:00Z"}],"automationDetails":{"id":"synth/nightly/2026-11-24"},"properties":{"ai.model":"synth-model","ai.modelVersion":"2026-10-01"},"results":["#)?;
    for i in 0..n_sast {
        if i > 0 {
            w.write_all(b",")?;
        }
        let r = rng.gen_range(0..SAST_RULES);
        let dir = DIRS[rng.gen_range(0..DIRS.len())];
        let file = FILES[rng.gen_range(0..FILES.len())];
        let line: u32 = rng.gen_range(1..2000);
        let col: u32 = rng.gen_range(1..60);
        let hash: u64 = rng.gen();
        w.write_all(br#"{"ruleId":"#)?;
        write!(w, r#""synth/rule-{r:03}","ruleIndex":{r},"#)?;
        if i % 3 != 0 {
            write!(w, r#""level":"{}","#, level_of(r))?;
        }
        write!(
            w,
            r#""message":{{"text":"Untrusted data reaches a sensitive sink in {file} (variable v{i})."}},"locations":[{{"physicalLocation":{{"artifactLocation":{{"uri":"{dir}/{file}","uriBaseId":"%SRCROOT%"}},"region":{{"startLine":{line},"startColumn":{col},"endLine":{line},"endColumn":{},"snippet":{{"text":"    String q = \"SELECT * FROM t WHERE id=\" + v{i};"}}}}}}}}],"partialFingerprints":{{"primaryLocationLineHash":"{hash:016x}:1"}}"#,
            col + 12
        )?;
        if i % 10 == 0 {
            w.write_all(br#","codeFlows":[{"threadFlows":[{"locations":["#)?;
            let steps = rng.gen_range(3..7);
            for s in 0..steps {
                if s > 0 {
                    w.write_all(b",")?;
                }
                let l = line.saturating_sub((steps - s) * 3).max(1);
                write!(
                    w,
                    r#"{{"location":{{"physicalLocation":{{"artifactLocation":{{"uri":"{dir}/{file}","uriBaseId":"%SRCROOT%"}},"region":{{"startLine":{l}}}}}}}}}"#
                )?;
            }
            w.write_all(b"]}]}]")?;
        }
        w.write_all(b"}")?;
    }
    w.write_all(b"]}")?;

    // Run 1: dependency scan with rules in an extension.
    w.write_all(br#",{"tool":{"driver":{"name":"HaechiSynth Deps","version":"0.9.0"},"extensions":[{"name":"synth-advisories","version":"2026.11.24","rules":["#)?;
    for r in 0..EXT_RULES {
        if r > 0 {
            w.write_all(b",")?;
        }
        let sev = rng.gen_range(20..=98) as f64 / 10.0;
        write!(
            w,
            r#"{{"id":"CVE-2026-{:05}","name":"LanguageSpecificPackageVulnerability","shortDescription":{{"text":"Vulnerable dependency {r}"}},"defaultConfiguration":{{"level":"{}"}},"properties":{{"tags":["vulnerability","security"],"security-severity":"{sev:.1}"}}}}"#,
            10000 + r,
            level_of(r + 1)
        )?;
    }
    w.write_all(br#"]}]},"results":["#)?;
    for i in 0..n_dep {
        if i > 0 {
            w.write_all(b",")?;
        }
        let r = rng.gen_range(0..EXT_RULES);
        let hash: u128 = rng.gen();
        w.write_all(br#"{"rule":{"id":"#)?;
        write!(
            w,
            r#""CVE-2026-{:05}","index":{r},"toolComponent":{{"index":0}}}},"message":{{"text":"#,
            10000 + r
        )?;
        js(
            &mut w,
            &format!(
                "Package: lib{} Installed Version: 1.{}.0 Vulnerability CVE-2026-{:05}",
                r,
                i % 7,
                10000 + r
            ),
        )?;
        write!(
            w,
            r#"}},"locations":[{{"physicalLocation":{{"artifactLocation":{{"uri":"services/app{}/package-lock.json","uriBaseId":"ROOTPATH"}},"region":{{"startLine":1,"startColumn":1,"endLine":1,"endColumn":1}}}}}}],"fingerprints":{{"matchBasedId/v1":"{hash:032x}"}}}}"#,
            i % 50
        )?;
    }
    w.write_all(b"]}]}\n")?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_log_is_valid_json_with_the_right_count() {
        let mut buf = Vec::new();
        generate(&mut buf, 101, 7).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        let n: usize = v["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["results"].as_array().unwrap().len())
            .sum();
        assert_eq!(n, 101);
        let mut again = Vec::new();
        generate(&mut again, 101, 7).unwrap();
        assert_eq!(buf, again, "same seed, same bytes");
    }
}
