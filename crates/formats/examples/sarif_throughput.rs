//! Measures SARIF parsing throughput on a synthetic log:
//! `cargo run --release -p haechi-formats --example sarif_throughput -- 200000`
//! (or `-- 200000 /tmp/x.sarif` to write the log to a file first and parse it from there,
//! which keeps generation out of a profile of the parse).

use std::time::Instant;

use haechi_formats::sarif::{self, ResultSink, RunInfo, SarifFinding, SinkError};

struct Count(u64);

impl ResultSink for Count {
    fn run_started(&mut self, _: &RunInfo) -> Result<(), SinkError> {
        Ok(())
    }
    fn result(&mut self, f: SarifFinding) -> Result<(), SinkError> {
        self.0 += u64::from(f.fingerprint.0[0]) & 1;
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(200_000);
    let buf = match args.next() {
        Some(path) => {
            if !std::path::Path::new(&path).exists() {
                sarif::synth::generate(std::fs::File::create(&path)?, n, 42)?;
            }
            std::fs::read(&path)?
        }
        None => {
            let mut buf = Vec::new();
            sarif::synth::generate(&mut buf, n, 42)?;
            buf
        }
    };
    let start = Instant::now();
    let mut sink = Count(0);
    let summary = sarif::read_sarif(&buf[..], &mut sink, &sarif::SarifOptions::default())?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} results, {:.1} MB in {:.3} s: {:.0} results/s, {:.0} MB/s",
        summary.results,
        buf.len() as f64 / 1e6,
        secs,
        summary.results as f64 / secs,
        buf.len() as f64 / 1e6 / secs
    );
    Ok(())
}
