//! A minimal JSON structure scanner over a `Read`: walks the outer skeleton of a SARIF log
//! (`{ "runs": [ { "results": [ … ] } ] }`) and hands out each inner value as one contiguous
//! byte slice, which serde_json then parses with its fast slice reader.
//!
//! Why: serde_json's `from_reader` pulls one byte at a time through `io::Read` and is about
//! three times slower than `from_slice`; and it cannot stream array items (serde-rs/json #404).
//! The scanner only finds value boundaries (strings, brackets); it does not validate a captured
//! value: serde_json does, and its errors are mapped back to absolute offset/line/column here.
//! Memory: the buffer holds the current value only (plus read-ahead), so one result at a time.

use std::io::{self, Read};

use serde::de::DeserializeOwned;
use serde_json::error::Category;

use super::error::SarifError;

const INITIAL_BUF: usize = 256 * 1024;

pub(crate) struct Scanner<R> {
    src: R,
    buf: Vec<u8>,
    /// Next unread byte.
    pos: usize,
    /// End of valid bytes in `buf`.
    end: usize,
    /// Absolute offset of `buf[0]` in the (decompressed) stream.
    base: u64,
    eof: bool,
    /// 1-based line of `pos`.
    line: usize,
    /// Absolute offset where the current line starts.
    line_start: u64,
    /// Whether `src` is a gzip decoder, so its data errors mean corrupt gzip.
    gzip: bool,
}

/// Position of a captured value, for error mapping.
#[derive(Clone, Copy)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
    abs: u64,
    line: usize,
    col: usize,
}

impl<R: Read> Scanner<R> {
    pub(crate) fn new(src: R, gzip: bool) -> Self {
        Self {
            src,
            buf: vec![0; INITIAL_BUF],
            pos: 0,
            end: 0,
            base: 0,
            eof: false,
            line: 1,
            line_start: 0,
            gzip,
        }
    }

    /// Whether the input is gunzipped.
    pub(crate) fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// Bytes consumed so far.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn here(&self) -> (u64, usize, usize) {
        let abs = self.offset();
        (abs, self.line, (abs - self.line_start) as usize + 1)
    }

    /// Reads more input, keeping `buf[keep_from..end]`. Returns how far kept bytes moved left,
    /// or `None` at end of input.
    fn refill(&mut self, keep_from: usize) -> Result<Option<usize>, SarifError> {
        if self.eof {
            return Ok(None);
        }
        let shift = keep_from;
        if shift > 0 {
            self.buf.copy_within(keep_from..self.end, 0);
            self.end -= shift;
            self.pos -= shift;
            self.base += shift as u64;
        }
        if self.end == self.buf.len() {
            // A single value larger than the buffer: grow (the value has to be parsed whole).
            let n = self.buf.len() * 2;
            self.buf.resize(n, 0);
        }
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(None);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(Some(shift));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(self.io_error(source)),
            }
        }
    }

    fn io_error(&self, source: io::Error) -> SarifError {
        let (offset, line, column) = self.here();
        if let Some(e) = source
            .get_ref()
            .and_then(|e| e.downcast_ref::<crate::io::InflateLimitExceeded>())
        {
            return SarifError::InflatedTooLarge { limit: e.0 };
        }
        match source.kind() {
            io::ErrorKind::UnexpectedEof => SarifError::Truncated {
                offset,
                line,
                column,
            },
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData if self.gzip => {
                SarifError::InvalidGzip {
                    offset,
                    message: source.to_string(),
                }
            }
            _ => SarifError::Io { offset, source },
        }
    }

    /// Moves `pos` to `new_pos`, keeping the line count.
    fn advance(&mut self, new_pos: usize) {
        let chunk = &self.buf[self.pos..new_pos];
        if let Some(last) = memchr::memrchr(b'\n', chunk) {
            self.line += memchr::memchr_iter(b'\n', chunk).count();
            self.line_start = self.base + (self.pos + last + 1) as u64;
        }
        self.pos = new_pos;
    }

    pub(crate) fn truncated(&self) -> SarifError {
        let (offset, line, column) = self.here();
        SarifError::Truncated {
            offset,
            line,
            column,
        }
    }

    pub(crate) fn syntax(&self, message: &str) -> SarifError {
        let (offset, line, column) = self.here();
        SarifError::InvalidJson {
            offset,
            line,
            column,
            message: message.to_owned(),
        }
    }

    /// Skips whitespace and returns the next byte without consuming it (`None` at EOF).
    pub(crate) fn peek(&mut self) -> Result<Option<u8>, SarifError> {
        loop {
            let mut i = self.pos;
            while i < self.end {
                match self.buf[i] {
                    b' ' | b'\t' | b'\r' | b'\n' => i += 1,
                    b => {
                        self.advance(i);
                        return Ok(Some(b));
                    }
                }
            }
            self.advance(i);
            if self.refill(self.pos)?.is_none() {
                return Ok(None);
            }
        }
    }

    /// Consumes `b` (after whitespace) or fails with `message`.
    pub(crate) fn expect(&mut self, b: u8, message: &str) -> Result<(), SarifError> {
        match self.peek()? {
            Some(c) if c == b => {
                self.advance(self.pos + 1);
                Ok(())
            }
            Some(_) => Err(self.syntax(message)),
            None => Err(self.truncated()),
        }
    }

    /// After an element: consumes `,` (returns true) or `close` (returns false).
    pub(crate) fn comma_or(&mut self, close: u8, message: &str) -> Result<bool, SarifError> {
        match self.peek()? {
            Some(b',') => {
                self.advance(self.pos + 1);
                Ok(true)
            }
            Some(c) if c == close => {
                self.advance(self.pos + 1);
                Ok(false)
            }
            Some(_) => Err(self.syntax(message)),
            None => Err(self.truncated()),
        }
    }

    /// Consumes `close` if it is next (an empty container).
    pub(crate) fn eat(&mut self, close: u8) -> Result<bool, SarifError> {
        if self.peek()? == Some(close) {
            self.advance(self.pos + 1);
            return Ok(true);
        }
        Ok(false)
    }

    /// Scans one complete JSON value starting at the next non-whitespace byte and returns its
    /// span in the buffer (valid until the next scanner call).
    pub(crate) fn value(&mut self) -> Result<Span, SarifError> {
        let first = self.peek()?.ok_or_else(|| self.truncated())?;
        if matches!(first, b',' | b':' | b']' | b'}') {
            return Err(self.syntax("expected a value"));
        }
        let (abs, line, col) = self.here();
        let mut start = self.pos;
        let mut i = start;
        let mut depth = 0usize;
        let mut in_string = false;
        let scalar = !matches!(first, b'{' | b'[' | b'"');
        let end = 'scan: loop {
            while i < self.end {
                if in_string {
                    match memchr::memchr2(b'"', b'\\', &self.buf[i..self.end]) {
                        Some(k) => {
                            let j = i + k;
                            if self.buf[j] == b'\\' {
                                if j + 1 >= self.end {
                                    // The escaped byte is not read yet: refill and redo.
                                    i = j;
                                    break;
                                }
                                i = j + 2;
                            } else {
                                in_string = false;
                                i = j + 1;
                                if depth == 0 {
                                    break 'scan i;
                                }
                            }
                        }
                        None => i = self.end,
                    }
                    continue;
                }
                let b = self.buf[i];
                if scalar {
                    if matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n') {
                        break 'scan i;
                    }
                    i += 1;
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            break 'scan i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            match self.refill(start)? {
                Some(shift) => {
                    start -= shift;
                    i -= shift;
                }
                None if scalar => break 'scan i,
                None => {
                    // Report where the input ended.
                    self.advance(self.end);
                    return Err(self.truncated());
                }
            }
        };
        let span = Span {
            start,
            end,
            abs,
            line,
            col,
        };
        self.advance(end);
        Ok(span)
    }

    /// A "wrong type" error at a captured value.
    pub(crate) fn wrong_type(&self, span: Span, path: String, message: &str) -> SarifError {
        SarifError::WrongType {
            path,
            offset: span.abs,
            line: span.line,
            column: span.col,
            message: message.to_owned(),
        }
    }

    pub(crate) fn bytes(&self, span: Span) -> &[u8] {
        &self.buf[span.start..span.end]
    }

    /// Parses a captured value; errors get absolute positions and `path`.
    pub(crate) fn parse<T: DeserializeOwned>(
        &self,
        span: Span,
        path: &dyn Fn() -> String,
    ) -> Result<T, SarifError> {
        let bytes = self.bytes(span);
        serde_json::from_slice(bytes).map_err(|e| map_error(e, bytes, span, path))
    }

    /// Parses the next value as `T`. Objects (the hot path: one per result) are parsed straight
    /// from the buffer by serde_json's streaming slice reader, without a separate scan; a value
    /// cut by the end of the buffer is retried after a refill. Other values go through
    /// [`Self::value`].
    pub(crate) fn next<T: DeserializeOwned>(
        &mut self,
        path: &dyn Fn() -> String,
    ) -> Result<T, SarifError> {
        match self.peek()? {
            Some(b'{') => {}
            Some(_) => {
                let span = self.value()?;
                return self.parse(span, path);
            }
            None => return Err(self.truncated()),
        }
        loop {
            let slice = &self.buf[self.pos..self.end];
            let mut stream = serde_json::Deserializer::from_slice(slice).into_iter::<T>();
            match stream.next() {
                Some(Ok(v)) => {
                    let n = stream.byte_offset();
                    self.advance(self.pos + n);
                    return Ok(v);
                }
                Some(Err(e)) if e.is_eof() => {
                    // Read at least as much again before retrying, so a huge value arriving in
                    // small chunks costs O(n log n) re-parsing, not O(n²).
                    let have = self.end - self.pos;
                    let want = have.saturating_mul(2).max(64 * 1024);
                    let mut more = false;
                    while self.end - self.pos < want {
                        if self.refill(self.pos)?.is_none() {
                            break;
                        }
                        more = true;
                    }
                    if !more {
                        self.advance(self.end);
                        return Err(self.truncated());
                    }
                }
                Some(Err(e)) => {
                    let (abs, line, col) = self.here();
                    let span = Span {
                        start: self.pos,
                        end: self.end,
                        abs,
                        line,
                        col,
                    };
                    return Err(map_error(e, slice, span, path));
                }
                None => return Err(self.truncated()),
            }
        }
    }

    /// Reads an object key (a JSON string) and the `:` after it.
    pub(crate) fn key(&mut self) -> Result<String, SarifError> {
        if self.peek()? != Some(b'"') {
            return Err(match self.peek()? {
                None => self.truncated(),
                Some(_) => self.syntax("expected an object key (a string)"),
            });
        }
        let span = self.value()?;
        let bytes = self.bytes(span);
        let key = if bytes.len() >= 2 && !bytes.contains(&b'\\') {
            std::str::from_utf8(&bytes[1..bytes.len() - 1])
                .map(str::to_owned)
                .map_err(|_| self.syntax("object key is not UTF-8"))?
        } else {
            self.parse::<String>(span, &|| "(key)".to_owned())?
        };
        self.expect(b':', "expected `:` after an object key")?;
        Ok(key)
    }

    /// At end of document: only whitespace may follow.
    pub(crate) fn finish(&mut self) -> Result<(), SarifError> {
        match self.peek()? {
            None => Ok(()),
            Some(_) => Err(self.syntax("trailing characters")),
        }
    }
}

/// serde_json reports (line, column) inside the slice; make them absolute. Its column is the
/// 1-based column of the last byte it consumed (0 right after a newline).
fn map_error(
    e: serde_json::Error,
    bytes: &[u8],
    span: Span,
    path: &dyn Fn() -> String,
) -> SarifError {
    let (l, c) = (e.line(), e.column());
    // Offset within the slice of serde's position.
    let mut line_start_in = 0usize;
    if l > 1 {
        let mut seen = 1;
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\n' {
                seen += 1;
                if seen == l {
                    line_start_in = i + 1;
                    break;
                }
            }
        }
    }
    let rel = if c == 0 {
        line_start_in.saturating_sub(1)
    } else {
        line_start_in + c - 1
    };
    let rel = rel.min(bytes.len().saturating_sub(1));
    let offset = span.abs + rel as u64;
    let (line, column) = if l <= 1 {
        (span.line, span.col + rel)
    } else if c == 0 {
        // Just after a newline: say it as the newline's own position.
        let prev_start = bytes[..line_start_in.saturating_sub(1)]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| p + 1);
        let line = span.line + l - 2;
        let col = if l == 2 {
            span.col + line_start_in - 1
        } else {
            line_start_in - prev_start
        };
        (line, col)
    } else {
        (span.line + l - 1, c)
    };
    let msg = e.to_string();
    let message = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    };
    match e.classify() {
        Category::Syntax => SarifError::InvalidJson {
            offset,
            line,
            column,
            message,
        },
        Category::Eof => SarifError::Truncated {
            offset,
            line,
            column,
        },
        Category::Data | Category::Io => SarifError::WrongType {
            path: path(),
            offset,
            line,
            column,
            message,
        },
    }
}
