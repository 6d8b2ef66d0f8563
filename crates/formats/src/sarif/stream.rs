//! The streaming driver: walks `runs[]` and `runs[].results[]` with the [`Scanner`] and hands
//! each result to the sink as soon as it is parsed, so a log is never held whole.
//!
//! Member order: SARIF does not order object members, so a run's `tool` (and its rules) may
//! follow its `results` (Semgrep writes members alphabetically). Strategy:
//! - `tool` before `results` (the common order): every result is resolved and delivered as soon
//!   as it is parsed; memory stays at one result plus the run's rule table.
//! - `results` before `tool`: that run's results are kept in their compact wire form (at most
//!   [`SarifOptions::max_pending_results`], else an error), then resolved and delivered in
//!   order when the run object ends. Only that run is buffered; other runs still stream.
//! - `version` after `runs`: results have already been delivered when the version is seen; a
//!   wrong or missing version still fails the whole parse, and the caller's all-or-nothing
//!   import discards what it received.
//!
//! Other members are parsed whole (run-level members such as `tool`, `invocations`,
//! `taxonomies`) or element by element (`runs`, `results`, `artifacts`, whose items can be
//! large, e.g. ESLint's embedded file contents). Unknown members are checked for JSON validity
//! and skipped; each is held in memory only while it is checked.

use std::io::Read;

use chrono::{DateTime, Utc};
use serde::de::IgnoredAny;
use serde::Deserialize;

use super::error::SarifError;
use super::model::{ResultSink, RunInfo, SarifSummary};
use super::raw::{
    RawArtifact, RawArtifactLocation, RawAutomationDetails, RawInvocation, RawResult, RawTool,
};
use super::resolve::{ai_provenance, build_finding, Limits, ResultPos, RunContext, ToolTable};
use super::scan::Scanner;
use crate::io::{gunzip_worker, sniff_gzip, InflateLimit, ThreadedGunzip};

/// Tuning knobs of the reader. The defaults suit GitHub-sized logs.
#[derive(Debug, Clone)]
pub struct SarifOptions {
    /// How many results of one run may be held while waiting for a `tool` that comes after
    /// `results`. Default 100,000 (GitHub's hard limit is 25,000 per run); a held result takes
    /// roughly its JSON size in memory, so the default bounds that run's buffer to ~100 MB for
    /// typical 1 KB results.
    pub max_pending_results: usize,
    /// How many code-flow steps are kept per finding. Default 32.
    pub max_code_flow_steps: usize,
    /// How many bytes a gzipped log may inflate to before it is refused
    /// ([`SarifError::InflatedTooLarge`]): a file of a few kilobytes can inflate to terabytes.
    /// Default 32 GiB (sixteen times the largest upload the service takes).
    pub max_inflated_bytes: u64,
}

impl Default for SarifOptions {
    fn default() -> Self {
        Self {
            max_pending_results: 100_000,
            max_code_flow_steps: 32,
            max_inflated_bytes: 32 << 30,
        }
    }
}

/// Reads a SARIF 2.1.0 log from `input` (gunzipping it if it starts with the gzip magic) and
/// delivers each result to `sink`. Stops at the first error; the caller decides whether to keep
/// anything delivered before it (an importer should not).
///
/// For progress, wrap `input` in [`crate::io::CountingReader`] and poll its counter.
pub fn read_sarif<R: Read, S: ResultSink>(
    input: R,
    sink: &mut S,
    options: &SarifOptions,
) -> Result<SarifSummary, SarifError> {
    let (gzip, input) = sniff_gzip(input).map_err(|source| SarifError::Io { offset: 0, source })?;
    if !gzip {
        return read_log(Scanner::new(input, false), sink, options);
    }
    // Gunzipping takes about a tenth of the parse: it runs beside it on a helper thread.
    std::thread::scope(|scope| {
        let (reader, worker) = ThreadedGunzip::new(input);
        scope.spawn(move || gunzip_worker(worker));
        let reader = InflateLimit::new(reader, options.max_inflated_bytes);
        // The reader is dropped when `read_log` returns, which stops the worker, so the scope
        // never waits on a blocked worker.
        read_log(Scanner::new(reader, true), sink, options)
    })
}

fn read_log<R: Read, S: ResultSink>(
    mut sc: Scanner<R>,
    sink: &mut S,
    options: &SarifOptions,
) -> Result<SarifSummary, SarifError> {
    let gzip = sc.is_gzip();
    let mut ctx = Ctx {
        sink,
        opts: options,
        runs: 0,
        results: 0,
    };
    let mut version_ok = false;
    match sc.peek()? {
        Some(b'{') => {}
        Some(_) => {
            let span = sc.value()?;
            sc.parse::<IgnoredAny>(span, &|| "(root)".to_owned())?;
            return Err(sc.wrong_type(span, "(root)".to_owned(), "expected a SARIF log object"));
        }
        None => return Err(sc.truncated()),
    }
    sc.expect(b'{', "expected `{`")?;
    if !sc.eat(b'}')? {
        loop {
            let key = sc.key()?;
            match key.as_str() {
                "version" => {
                    let span = sc.value()?;
                    let v: String = sc.parse(span, &|| "version".to_owned())?;
                    if v != "2.1.0" {
                        return Err(SarifError::UnsupportedVersion {
                            path: "version".to_owned(),
                            found: v,
                        });
                    }
                    version_ok = true;
                }
                "runs" => {
                    for_each(&mut sc, &|| "runs".to_owned(), |sc, i| {
                        read_run(sc, &mut ctx, i)
                    })?;
                }
                _ => {
                    let span = sc.value()?;
                    sc.parse::<IgnoredAny>(span, &|| key.clone())?;
                }
            }
            if !sc.comma_or(b'}', "expected `,` or `}` after an object member")? {
                break;
            }
        }
    }
    sc.finish()?;
    if !version_ok {
        return Err(SarifError::MissingVersion);
    }
    Ok(SarifSummary {
        runs: ctx.runs,
        results: ctx.results,
        bytes: sc.offset(),
        gzip,
    })
}

struct Ctx<'a, S> {
    sink: &'a mut S,
    opts: &'a SarifOptions,
    runs: usize,
    results: u64,
}

/// Calls `f` for each element of the array (or nothing for `null`) at the scanner.
fn for_each<R: Read>(
    sc: &mut Scanner<R>,
    path: &dyn Fn() -> String,
    mut f: impl FnMut(&mut Scanner<R>, usize) -> Result<(), SarifError>,
) -> Result<(), SarifError> {
    match sc.peek()? {
        Some(b'[') => {}
        Some(_) => {
            let span = sc.value()?;
            sc.parse::<IgnoredAny>(span, path)?;
            if sc.bytes(span) == b"null" {
                return Ok(());
            }
            return Err(sc.wrong_type(span, path(), "expected an array"));
        }
        None => return Err(sc.truncated()),
    }
    sc.expect(b'[', "expected `[`")?;
    if sc.eat(b']')? {
        return Ok(());
    }
    let mut i = 0;
    loop {
        f(sc, i)?;
        i += 1;
        if !sc.comma_or(b']', "expected `,` or `]` after an array element")? {
            return Ok(());
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawTaxonomy {
    name: Option<String>,
    taxa: Vec<super::raw::RawTaxon>,
}

struct RunState {
    index: usize,
    tool: Option<ToolTable>,
    rctx: RunContext,
    info: RunInfo,
    pending: Vec<(usize, RawResult)>,
    started: bool,
}

fn parse_time(s: &str, path: String, offset: u64) -> Result<DateTime<Utc>, SarifError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| SarifError::WrongType {
            path,
            offset,
            line: 0,
            column: 0,
            message: format!("{s:?} is not an RFC 3339 date-time: {e}"),
        })
}

fn read_run<R: Read, S: ResultSink>(
    sc: &mut Scanner<R>,
    ctx: &mut Ctx<'_, S>,
    ri: usize,
) -> Result<(), SarifError> {
    match sc.peek()? {
        Some(b'{') => {}
        Some(_) => {
            let span = sc.value()?;
            sc.parse::<IgnoredAny>(span, &|| format!("runs[{ri}]"))?;
            return Err(sc.wrong_type(span, format!("runs[{ri}]"), "expected a run object"));
        }
        None => return Err(sc.truncated()),
    }
    sc.expect(b'{', "expected `{`")?;
    let mut st = RunState {
        index: ri,
        tool: None,
        rctx: RunContext::default(),
        info: RunInfo {
            run_index: ri,
            ..RunInfo::default()
        },
        pending: Vec::new(),
        started: false,
    };
    if !sc.eat(b'}')? {
        loop {
            let key = sc.key()?;
            let path = || format!("runs[{ri}].{key}");
            match key.as_str() {
                "tool" => {
                    let span = sc.value()?;
                    let tool: RawTool = sc.parse(span, &path)?;
                    let Some(driver) = tool.driver else {
                        return Err(SarifError::MissingField {
                            path: format!("{}.driver", path()),
                            offset: sc.offset(),
                        });
                    };
                    let (table, driver, extensions) = ToolTable::build(
                        driver,
                        tool.extensions,
                        &st.rctx.taxonomies,
                        &path(),
                        sc.offset(),
                    )?;
                    st.info.driver = driver;
                    st.info.extensions = extensions;
                    st.tool = Some(table);
                }
                "results" => {
                    for_each(sc, &path, |sc, i| {
                        let raw: RawResult = sc.next(&|| format!("runs[{ri}].results[{i}]"))?;
                        if st.tool.is_some() {
                            emit(ctx, &mut st, raw, i, sc.offset())
                        } else if st.pending.len() >= ctx.opts.max_pending_results {
                            Err(SarifError::TooManyPendingResults {
                                path: format!("runs[{ri}].results"),
                                limit: ctx.opts.max_pending_results,
                            })
                        } else {
                            st.pending.push((i, raw));
                            Ok(())
                        }
                    })?;
                }
                "artifacts" => {
                    let mut artifacts = Vec::new();
                    for_each(sc, &path, |sc, i| {
                        let a: RawArtifact = sc.next(&|| format!("runs[{ri}].artifacts[{i}]"))?;
                        artifacts.push(a.location);
                        Ok(())
                    })?;
                    st.rctx.artifacts = artifacts;
                }
                "invocations" => {
                    let span = sc.value()?;
                    let invs: Option<Vec<RawInvocation>> = sc.parse(span, &path)?;
                    apply_invocations(&mut st.info, invs.unwrap_or_default(), ri, sc.offset())?;
                }
                "automationDetails" => {
                    let span = sc.value()?;
                    let a: Option<RawAutomationDetails> = sc.parse(span, &path)?;
                    if let Some(a) = a {
                        st.info.automation_id = a.id;
                        st.info.automation_guid = a.guid;
                        st.info.automation_description =
                            a.description.and_then(|d| d.text.or(d.markdown));
                    }
                }
                "properties" => {
                    let span = sc.value()?;
                    let p: Option<serde_json::Map<String, serde_json::Value>> =
                        sc.parse(span, &path)?;
                    if let Some(p) = p {
                        st.info.ai = ai_provenance(&p);
                        st.info.properties = Some(p);
                    }
                }
                "originalUriBaseIds" => {
                    let span = sc.value()?;
                    let m: Option<std::collections::BTreeMap<String, RawArtifactLocation>> =
                        sc.parse(span, &path)?;
                    st.info.original_uri_base_ids = m
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|(k, v)| v.uri.map(|u| (k, u)))
                        .collect();
                }
                "taxonomies" => {
                    let span = sc.value()?;
                    let t: Option<Vec<RawTaxonomy>> = sc.parse(span, &path)?;
                    st.rctx.taxonomies = t
                        .unwrap_or_default()
                        .into_iter()
                        .map(|t| {
                            (
                                t.name.unwrap_or_default(),
                                t.taxa.into_iter().map(|x| x.id).collect(),
                            )
                        })
                        .collect();
                }
                "columnKind" => {
                    let span = sc.value()?;
                    st.info.column_kind = sc.parse(span, &path)?;
                }
                _ => {
                    let span = sc.value()?;
                    sc.parse::<IgnoredAny>(span, &path)?;
                }
            }
            if !sc.comma_or(b'}', "expected `,` or `}` after an object member")? {
                break;
            }
        }
    }
    ctx.runs = ri + 1;
    finish_run(ctx, st, sc.offset())
}

fn apply_invocations(
    info: &mut RunInfo,
    invs: Vec<RawInvocation>,
    ri: usize,
    offset: u64,
) -> Result<(), SarifError> {
    for (j, inv) in invs.into_iter().enumerate() {
        if let Some(s) = inv.start_time_utc {
            let t = parse_time(
                &s,
                format!("runs[{ri}].invocations[{j}].startTimeUtc"),
                offset,
            )?;
            info.start_time_utc = Some(info.start_time_utc.map_or(t, |o| o.min(t)));
        }
        if let Some(s) = inv.end_time_utc {
            let t = parse_time(
                &s,
                format!("runs[{ri}].invocations[{j}].endTimeUtc"),
                offset,
            )?;
            info.end_time_utc = Some(info.end_time_utc.map_or(t, |o| o.max(t)));
        }
        if let Some(ok) = inv.execution_successful {
            info.execution_successful = Some(info.execution_successful.unwrap_or(true) && ok);
        }
    }
    Ok(())
}

fn finish_run<S: ResultSink>(
    ctx: &mut Ctx<'_, S>,
    mut st: RunState,
    offset: u64,
) -> Result<(), SarifError> {
    if st.tool.is_none() {
        return Err(SarifError::MissingField {
            path: format!("runs[{}].tool", st.index),
            offset,
        });
    }
    for (i, raw) in std::mem::take(&mut st.pending) {
        emit(ctx, &mut st, raw, i, offset)?;
    }
    let run_path = || format!("runs[{}]", st.index);
    if !st.started {
        ctx.sink
            .run_started(&st.info)
            .map_err(|source| SarifError::Sink {
                path: run_path(),
                source,
            })?;
    }
    ctx.sink
        .run_finished(&st.info)
        .map_err(|source| SarifError::Sink {
            path: run_path(),
            source,
        })
}

fn emit<S: ResultSink>(
    ctx: &mut Ctx<'_, S>,
    st: &mut RunState,
    raw: RawResult,
    idx: usize,
    offset: u64,
) -> Result<(), SarifError> {
    let run_index = st.index;
    let base = move || format!("runs[{run_index}].results[{idx}]");
    let Some(tool) = st.tool.as_ref() else {
        return Err(SarifError::MissingField {
            path: format!("runs[{run_index}].tool"),
            offset,
        });
    };
    let limits = Limits {
        max_code_flow_steps: ctx.opts.max_code_flow_steps,
    };
    let pos = ResultPos {
        run: run_index,
        result: idx,
        offset,
    };
    let finding = build_finding(tool, &st.rctx, &limits, raw, &pos)?;
    if !st.started {
        ctx.sink
            .run_started(&st.info)
            .map_err(|source| SarifError::Sink {
                path: format!("runs[{run_index}]"),
                source,
            })?;
        st.started = true;
    }
    st.info.result_count += 1;
    ctx.results += 1;
    ctx.sink.result(finding).map_err(|source| SarifError::Sink {
        path: base(),
        source,
    })
}
