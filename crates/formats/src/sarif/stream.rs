//! The streaming driver: serde `DeserializeSeed`s over `runs[]` and `runs[].results[]` that hand
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

use std::fmt;
use std::io::{self, Read};
use std::rc::Rc;

use chrono::{DateTime, Utc};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::error::Category;

use super::error::SarifError;
use super::model::{ResultSink, RunInfo, SarifSummary};
use super::raw::{
    RawArtifact, RawArtifactLocation, RawAutomationDetails, RawInvocation, RawResult, RawTool,
};
use super::resolve::{ai_provenance, build_finding, Limits, ResultPos, RunContext, ToolTable};
use crate::io::{MaybeGz, Position, TrackingReader};

/// Tuning knobs of the reader. The defaults suit GitHub-sized logs.
#[derive(Debug, Clone)]
pub struct SarifOptions {
    /// How many results of one run may be held while waiting for a `tool` that comes after
    /// `results`. Default 250,000 (GitHub's hard limit is 25,000 per run).
    pub max_pending_results: usize,
    /// How many code-flow steps are kept per finding. Default 32.
    pub max_code_flow_steps: usize,
}

impl Default for SarifOptions {
    fn default() -> Self {
        Self {
            max_pending_results: 250_000,
            max_code_flow_steps: 32,
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
    let gz = MaybeGz::new(input).map_err(|source| SarifError::Io { offset: 0, source })?;
    let gzip = gz.is_gzip();
    let position = Rc::new(Position::default());
    let mut reader = TrackingReader::new(gz, Rc::clone(&position));
    let mut de = serde_json::Deserializer::from_reader(&mut reader);
    let mut ctx = Ctx {
        sink,
        opts: options,
        position: Rc::clone(&position),
        error: None,
        top_key: None,
        run: None,
        run_key: None,
        result: None,
        version_ok: false,
        runs: 0,
        results: 0,
    };
    let parsed = LogSeed(&mut ctx)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Err(e) = parsed {
        return Err(ctx.convert(e, gzip));
    }
    if !ctx.version_ok {
        return Err(SarifError::MissingVersion);
    }
    Ok(SarifSummary {
        runs: ctx.runs,
        results: ctx.results,
        bytes: position.consumed(),
        gzip,
    })
}

struct Ctx<'a, S> {
    sink: &'a mut S,
    opts: &'a SarifOptions,
    position: Rc<Position>,
    /// Our own error, stashed because serde's error type can only carry a string.
    error: Option<SarifError>,
    top_key: Option<&'static str>,
    run: Option<usize>,
    run_key: Option<&'static str>,
    result: Option<usize>,
    version_ok: bool,
    runs: usize,
    results: u64,
}

impl<S> Ctx<'_, S> {
    fn offset(&self) -> u64 {
        self.position.consumed()
    }

    /// JSON path of what is being parsed now.
    fn path(&self) -> String {
        match (self.run, self.run_key, self.result) {
            (Some(r), Some("results"), Some(i)) => format!("runs[{r}].results[{i}]"),
            (Some(r), Some(k), _) => format!("runs[{r}].{k}"),
            (Some(r), None, _) => format!("runs[{r}]"),
            (None, _, _) => self.top_key.unwrap_or("(root)").to_owned(),
        }
    }

    fn fail<E: de::Error>(&mut self, e: SarifError) -> E {
        self.error = Some(e);
        E::custom("stopped (see the stored SARIF error)")
    }

    fn convert(&mut self, e: serde_json::Error, gzip: bool) -> SarifError {
        if let Some(err) = self.error.take() {
            return err;
        }
        let consumed = self.offset();
        // Exact offset of the byte serde_json stopped at; the consumed count can overshoot.
        let offset = self
            .position
            .offset_of(e.line(), e.column())
            .unwrap_or(consumed);
        let (line, column) = self.position.normalise(e.line(), e.column());
        let message = strip_position(&e.to_string());
        match e.classify() {
            Category::Io => {
                let source = io::Error::from(e);
                match source.kind() {
                    io::ErrorKind::UnexpectedEof => SarifError::Truncated {
                        offset: consumed,
                        line,
                        column,
                    },
                    io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData if gzip => {
                        SarifError::InvalidGzip {
                            offset: consumed,
                            message: source.to_string(),
                        }
                    }
                    _ => SarifError::Io {
                        offset: consumed,
                        source,
                    },
                }
            }
            Category::Eof => SarifError::Truncated {
                offset: consumed,
                line,
                column,
            },
            Category::Syntax => SarifError::InvalidJson {
                offset,
                line,
                column,
                message,
            },
            Category::Data => SarifError::WrongType {
                path: self.path(),
                offset,
                line,
                column,
                message,
            },
        }
    }
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum LogKey {
    Version,
    Runs,
    #[serde(other)]
    Other,
}

struct LogSeed<'c, 'a, S>(&'c mut Ctx<'a, S>);

impl<'de, S: ResultSink> DeserializeSeed<'de> for LogSeed<'_, '_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: ResultSink> Visitor<'de> for LogSeed<'_, '_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a SARIF log object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.0;
        while let Some(key) = map.next_key::<LogKey>()? {
            match key {
                LogKey::Version => {
                    ctx.top_key = Some("version");
                    let v: String = map.next_value()?;
                    if v != "2.1.0" {
                        return Err(ctx.fail(SarifError::UnsupportedVersion {
                            path: "version".to_owned(),
                            found: v,
                        }));
                    }
                    ctx.version_ok = true;
                }
                LogKey::Runs => {
                    ctx.top_key = Some("runs");
                    map.next_value_seed(RunsSeed(&mut *ctx))?;
                }
                LogKey::Other => {
                    ctx.top_key = None;
                    map.next_value::<IgnoredAny>()?;
                }
            }
            ctx.top_key = None;
        }
        Ok(())
    }
}

struct RunsSeed<'c, 'a, S>(&'c mut Ctx<'a, S>);

impl<'de, S: ResultSink> DeserializeSeed<'de> for RunsSeed<'_, '_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        // `runs` may be null (SARIF §3.13.4: the tool failed to start).
        d.deserialize_option(self)
    }
}

impl<'de, S: ResultSink> Visitor<'de> for RunsSeed<'_, '_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of runs or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ctx = self.0;
        let mut i = 0;
        loop {
            ctx.run = Some(i);
            ctx.run_key = None;
            ctx.result = None;
            if seq
                .next_element_seed(RunSeed {
                    ctx: &mut *ctx,
                    index: i,
                })?
                .is_none()
            {
                break;
            }
            i += 1;
            ctx.runs = i;
        }
        ctx.run = None;
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum RunKey {
    Tool,
    Results,
    Invocations,
    AutomationDetails,
    Properties,
    Artifacts,
    OriginalUriBaseIds,
    Taxonomies,
    ColumnKind,
    #[serde(other)]
    Other,
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

struct RunSeed<'c, 'a, S> {
    ctx: &'c mut Ctx<'a, S>,
    index: usize,
}

impl<'de, S: ResultSink> DeserializeSeed<'de> for RunSeed<'_, '_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
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

impl<'de, S: ResultSink> Visitor<'de> for RunSeed<'_, '_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a run object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let ri = self.index;
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
        while let Some(key) = map.next_key::<RunKey>()? {
            match key {
                RunKey::Tool => {
                    ctx.run_key = Some("tool");
                    let tool: RawTool = map.next_value()?;
                    let path = format!("runs[{ri}].tool");
                    let Some(driver) = tool.driver else {
                        let off = ctx.offset();
                        return Err(ctx.fail(SarifError::MissingField {
                            path: format!("{path}.driver"),
                            offset: off,
                        }));
                    };
                    let built = ToolTable::build(
                        driver,
                        tool.extensions,
                        &st.rctx.taxonomies,
                        &path,
                        ctx.offset(),
                    );
                    match built {
                        Ok((table, driver, extensions)) => {
                            st.info.driver = driver;
                            st.info.extensions = extensions;
                            st.tool = Some(table);
                        }
                        Err(e) => return Err(ctx.fail(e)),
                    }
                }
                RunKey::Results => {
                    ctx.run_key = Some("results");
                    map.next_value_seed(ResultsSeed {
                        ctx: &mut *ctx,
                        st: &mut st,
                    })?;
                    ctx.result = None;
                }
                RunKey::Invocations => {
                    ctx.run_key = Some("invocations");
                    let invs: Option<Vec<RawInvocation>> = map.next_value()?;
                    if let Err(e) =
                        apply_invocations(&mut st.info, invs.unwrap_or_default(), ri, ctx.offset())
                    {
                        return Err(ctx.fail(e));
                    }
                }
                RunKey::AutomationDetails => {
                    ctx.run_key = Some("automationDetails");
                    let a: Option<RawAutomationDetails> = map.next_value()?;
                    if let Some(a) = a {
                        st.info.automation_id = a.id;
                        st.info.automation_guid = a.guid;
                        st.info.automation_description =
                            a.description.and_then(|d| d.text.or(d.markdown));
                    }
                }
                RunKey::Properties => {
                    ctx.run_key = Some("properties");
                    let p: Option<serde_json::Map<String, serde_json::Value>> = map.next_value()?;
                    if let Some(p) = p {
                        st.info.ai = ai_provenance(&p);
                        st.info.properties = Some(p);
                    }
                }
                RunKey::Artifacts => {
                    ctx.run_key = Some("artifacts");
                    let a: Option<Vec<RawArtifact>> = map.next_value()?;
                    st.rctx.artifacts = a
                        .unwrap_or_default()
                        .into_iter()
                        .map(|a| a.location)
                        .collect();
                }
                RunKey::OriginalUriBaseIds => {
                    ctx.run_key = Some("originalUriBaseIds");
                    let m: Option<std::collections::BTreeMap<String, RawArtifactLocation>> =
                        map.next_value()?;
                    st.info.original_uri_base_ids = m
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|(k, v)| v.uri.map(|u| (k, u)))
                        .collect();
                }
                RunKey::Taxonomies => {
                    ctx.run_key = Some("taxonomies");
                    let t: Option<Vec<RawTaxonomy>> = map.next_value()?;
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
                RunKey::ColumnKind => {
                    ctx.run_key = Some("columnKind");
                    st.info.column_kind = map.next_value()?;
                }
                RunKey::Other => {
                    ctx.run_key = None;
                    map.next_value::<IgnoredAny>()?;
                }
            }
            ctx.run_key = None;
        }
        if let Err(e) = finish_run(ctx, st) {
            return Err(ctx.fail(e));
        }
        Ok(())
    }
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

fn finish_run<S: ResultSink>(ctx: &mut Ctx<'_, S>, mut st: RunState) -> Result<(), SarifError> {
    if st.tool.is_none() {
        return Err(SarifError::MissingField {
            path: format!("runs[{}].tool", st.index),
            offset: ctx.offset(),
        });
    }
    for (i, raw) in std::mem::take(&mut st.pending) {
        emit(ctx, &mut st, raw, i)?;
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
) -> Result<(), SarifError> {
    let run_index = st.index;
    let base = move || format!("runs[{run_index}].results[{idx}]");
    let Some(tool) = st.tool.as_ref() else {
        return Err(SarifError::MissingField {
            path: format!("runs[{run_index}].tool"),
            offset: ctx.offset(),
        });
    };
    let limits = Limits {
        max_code_flow_steps: ctx.opts.max_code_flow_steps,
    };
    let pos = ResultPos {
        run: run_index,
        result: idx,
        offset: ctx.offset(),
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

struct ResultsSeed<'c, 'a, S> {
    ctx: &'c mut Ctx<'a, S>,
    st: &'c mut RunState,
}

impl<'de, S: ResultSink> DeserializeSeed<'de> for ResultsSeed<'_, '_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, S: ResultSink> Visitor<'de> for ResultsSeed<'_, '_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of results or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let st = self.st;
        let mut i = 0usize;
        loop {
            ctx.result = Some(i);
            let Some(raw) = seq.next_element::<RawResult>()? else {
                break;
            };
            if st.tool.is_some() {
                if let Err(e) = emit(ctx, st, raw, i) {
                    return Err(ctx.fail(e));
                }
            } else {
                if st.pending.len() >= ctx.opts.max_pending_results {
                    let path = format!("runs[{}].results", st.index);
                    let limit = ctx.opts.max_pending_results;
                    return Err(ctx.fail(SarifError::TooManyPendingResults { path, limit }));
                }
                st.pending.push((i, raw));
            }
            i += 1;
        }
        Ok(())
    }
}
