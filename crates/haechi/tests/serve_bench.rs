//! `haechi bench serve` at toy sizes, so the load and soak bench keeps working: the real binary
//! starts its own `haechi serve` child over the demo data plus a few thousand findings, ramps,
//! soaks for a few seconds while a findings file is uploaded through the API, and must end with
//! every request answered 200, the import succeeded and the server's memory reported.

// As clippy.toml says for tests: a panic here is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

/// The number after `key` in `line` (e.g. `errors 0`, `p99   3.1`).
fn number_after(line: &str, key: &str) -> f64 {
    let rest = &line[line
        .find(key)
        .unwrap_or_else(|| panic!("no '{key}' in {line}"))
        + key.len()..];
    let token: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    token
        .parse()
        .unwrap_or_else(|_| panic!("no number after '{key}' in {line}"))
}

#[test]
fn bench_serve_runs_small() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_haechi"));
    for (k, _) in std::env::vars() {
        if k.starts_with("HAECHI_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .args([
            "bench",
            "serve",
            "--findings",
            "2000",
            "--import-findings",
            "1000",
            "--connections",
            "4",
            "--start-rate",
            "20",
            "--max-rate",
            "30",
            "--step-secs",
            "1",
            "--soak-secs",
            "3",
            "--interval-secs",
            "1",
            // A loaded CI machine must not make the smoke test flaky: the target is generous;
            // the figures that matter come from the full run in release.
            "--p99-ms",
            "2000",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    // The large institution has the findings the bench imported before starting the server.
    assert!(
        stdout.contains("2000 results"),
        "no large institution line:\n{stdout}"
    );
    // Every request of the mix answered 200 before the ramp.
    let mix: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(" page ") || l.contains(" api  "))
        .collect();
    assert!(mix.len() >= 10, "request mix:\n{stdout}");
    assert!(mix.iter().all(|l| l.contains(" 200 ")), "{stdout}");
    // The ramp reached the cap (30/s) with no errors.
    let sustained = stdout
        .lines()
        .find(|l| l.starts_with("sustained:"))
        .unwrap_or_else(|| panic!("no sustained line:\n{stdout}"));
    assert_eq!(number_after(sustained, "sustained:"), 30.0, "{stdout}");
    // The soak: 70 % of 30/s for 3 s is about 63 requests, all answered, while an upload's import
    // succeeded with new findings; the server's RSS was read from /proc.
    let soak = stdout
        .lines()
        .find(|l| l.starts_with("soak:"))
        .unwrap_or_else(|| panic!("no soak line:\n{stdout}"));
    let requests = number_after(soak, "soak:");
    assert!((55.0..=70.0).contains(&requests), "{soak}");
    assert_eq!(number_after(soak, "errors"), 0.0, "{soak}");
    assert!(number_after(soak, "max") > 0.0, "{soak}");
    assert!(number_after(soak, "RSS start") > 1.0, "{soak}");
    let import = stdout
        .lines()
        .find(|l| l.contains("(soak-a.sarif.gz): succeeded"))
        .unwrap_or_else(|| panic!("no succeeded import:\n{stdout}"));
    assert!(!import.contains(" 0 new,"), "{import}");
}
