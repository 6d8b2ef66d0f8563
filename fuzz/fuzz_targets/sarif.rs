//! The SARIF stream reader (plain and gzipped): any bytes give findings or a located error,
//! never a panic, a hang or unbounded memory (the inflate limit is kept small here).
#![no_main]
use haechi_formats::sarif::{read_sarif, ResultSink, RunInfo, SarifFinding, SarifOptions, SinkError};
use libfuzzer_sys::fuzz_target;

struct Count(usize);

impl ResultSink for Count {
    fn run_started(&mut self, _run: &RunInfo) -> Result<(), SinkError> {
        Ok(())
    }
    fn result(&mut self, finding: SarifFinding) -> Result<(), SinkError> {
        // Touch what the importer derives from each finding.
        let _ = haechi_formats::sarif::fingerprint_with_scope(&finding, "fuzz");
        self.0 += 1;
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let opts = SarifOptions {
        max_pending_results: 1_000,
        max_code_flow_steps: 8,
        max_inflated_bytes: 64 << 20,
    };
    let _ = read_sarif(data, &mut Count(0), &opts);
});
