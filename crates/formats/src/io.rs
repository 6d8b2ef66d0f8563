//! Reader adapters shared by every format: progress counting, transparent gunzip and exact
//! byte-offset tracking for error messages.
//!
//! These wrap a caller-supplied `std::io::Read`; nothing here opens files or sockets.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

/// The two magic bytes every gzip member starts with (RFC 1952 §2.3.1).
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Counts the raw bytes pulled from the wrapped reader into a shared counter, so another thread
/// (a progress bar, an HTTP status endpoint) can poll how far an import has got.
///
/// The count is of *input* bytes, i.e. compressed bytes for a gzip upload, which is what the
/// caller can compare with the upload size.
#[derive(Debug)]
pub struct CountingReader<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R: Read> CountingReader<R> {
    /// Wraps `inner` with a fresh counter starting at zero.
    pub fn new(inner: R) -> Self {
        Self::with_counter(inner, Arc::new(AtomicU64::new(0)))
    }

    /// Wraps `inner`, adding to an existing counter (e.g. one already handed to a progress UI).
    pub fn with_counter(inner: R, counter: Arc<AtomicU64>) -> Self {
        Self { inner, counter }
    }

    /// The shared counter; clone it before handing the reader to a parser.
    pub fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.counter)
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.counter.load(Ordering::Relaxed)
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A reader that is either passed through or gunzipped, decided by the first two bytes.
pub enum MaybeGz<R: Read> {
    /// The stream did not start with the gzip magic.
    Plain(io::Chain<io::Cursor<Vec<u8>>, R>),
    /// The stream started with the gzip magic; all concatenated members are decoded.
    Gzip(Box<MultiGzDecoder<io::Chain<io::Cursor<Vec<u8>>, R>>>),
}

impl<R: Read> MaybeGz<R> {
    /// Peeks at the first bytes of `inner` and decides whether to gunzip. The peeked bytes are
    /// replayed, so nothing is lost for non-gzip input.
    pub fn new(mut inner: R) -> io::Result<Self> {
        let mut head = Vec::with_capacity(2);
        // A short read is legal, so keep reading until we have two bytes or hit EOF.
        while head.len() < 2 {
            let mut b = [0u8; 2];
            let want = 2 - head.len();
            match inner.read(&mut b[..want]) {
                Ok(0) => break,
                Ok(n) => head.extend_from_slice(&b[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        let gz = head.as_slice() == GZIP_MAGIC;
        let chained = io::Cursor::new(head).chain(inner);
        Ok(if gz {
            MaybeGz::Gzip(Box::new(MultiGzDecoder::new(chained)))
        } else {
            MaybeGz::Plain(chained)
        })
    }

    /// Whether the input was recognised as gzip.
    pub fn is_gzip(&self) -> bool {
        matches!(self, MaybeGz::Gzip(_))
    }
}

impl<R: Read> Read for MaybeGz<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MaybeGz::Plain(r) => r.read(buf),
            MaybeGz::Gzip(r) => r.read(buf),
        }
    }
}

/// How far the parser has got, shared between the reader and the code that reports errors.
///
/// serde_json reports line and column exactly but keeps consuming closing brackets while an
/// error unwinds, so the consumed count overshoots. Remembering where the last few lines began
/// turns serde_json's (line, column) back into an exact byte offset.
#[derive(Debug)]
pub(crate) struct Position {
    consumed: Cell<u64>,
    /// Newlines seen so far.
    newlines: Cell<u64>,
    /// `line_starts[k % N]` = offset where line `k + 1` (1-based) begins, for recent lines.
    line_starts: [Cell<u64>; LINE_RING],
}

const LINE_RING: usize = 256;

impl Default for Position {
    fn default() -> Self {
        Self {
            consumed: Cell::new(0),
            newlines: Cell::new(0),
            line_starts: std::array::from_fn(|_| Cell::new(0)),
        }
    }
}

impl Position {
    /// Bytes handed to the parser so far.
    pub(crate) fn consumed(&self) -> u64 {
        self.consumed.get()
    }

    fn line_start(&self, line: u64) -> Option<u64> {
        // `line` is 1-based.
        let k = line.checked_sub(1)?;
        let newlines = self.newlines.get();
        if k > newlines || newlines - k >= LINE_RING as u64 {
            return None;
        }
        Some(if k == 0 {
            0
        } else {
            self.line_starts[(k % LINE_RING as u64) as usize].get()
        })
    }

    /// Byte offset of the byte at 1-based `line` and `column` (serde_json's convention: the
    /// column of the last byte consumed, 0 when that byte was the previous line's newline), if
    /// the line is recent enough to be remembered.
    pub(crate) fn offset_of(&self, line: usize, column: usize) -> Option<u64> {
        let start = self.line_start(u64::try_from(line).ok()?)?;
        if column == 0 {
            return start.checked_sub(1);
        }
        Some(start + column as u64 - 1)
    }

    /// serde_json's (line, 0) means "just after the newline ending line - 1"; say that as
    /// (line - 1, column of that newline), which is what an editor shows.
    pub(crate) fn normalise(&self, line: usize, column: usize) -> (usize, usize) {
        if column != 0 || line <= 1 {
            return (line, column);
        }
        let prev = (line - 1) as u64;
        match (self.line_start(prev), self.line_start(line as u64)) {
            (Some(a), Some(b)) => (line - 1, (b - a) as usize),
            _ => (line, column),
        }
    }

    #[inline]
    fn advance(&self, bytes: &[u8]) {
        let base = self.consumed.get();
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\n' {
                let n = self.newlines.get() + 1;
                self.newlines.set(n);
                self.line_starts[(n % LINE_RING as u64) as usize].set(base + i as u64 + 1);
            }
        }
        self.consumed.set(base + bytes.len() as u64);
    }
}

/// A buffered reader that knows exactly how many (decompressed) bytes the parser has consumed,
/// so a JSON error can name its byte offset and not just line and column.
///
/// serde_json's reader path pulls one byte at a time; the fast path below serves those single
/// bytes straight from the buffer.
pub(crate) struct TrackingReader<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
    position: Rc<Position>,
}

impl<R: Read> TrackingReader<R> {
    /// `position` is shared so the parser's visitors can name the offset while the JSON
    /// deserializer owns the reader.
    pub(crate) fn new(inner: R, position: Rc<Position>) -> Self {
        Self {
            inner,
            buf: vec![0u8; 64 * 1024].into_boxed_slice(),
            pos: 0,
            filled: 0,
            position,
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        loop {
            match self.inner.read(&mut self.buf) {
                Ok(n) => {
                    self.pos = 0;
                    self.filled = n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl<R: Read> Read for TrackingReader<R> {
    #[inline]
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.filled {
            self.refill()?;
            if self.filled == 0 {
                return Ok(0);
            }
        }
        let n = out.len().min(self.filled - self.pos);
        if n == 1 {
            let b = self.buf[self.pos];
            out[0] = b;
            self.pos += 1;
            self.position.advance(&[b]);
            return Ok(1);
        }
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.position.advance(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maybe_gz_passes_plain_and_short_input_through() {
        for input in [&b""[..], b"{", b"{\"a\":1}"] {
            let mut r = MaybeGz::new(input).unwrap();
            assert!(!r.is_gzip());
            let mut out = Vec::new();
            r.read_to_end(&mut out).unwrap();
            assert_eq!(out, input);
        }
    }

    #[test]
    fn tracking_reader_counts_consumed_bytes() {
        let data = vec![7u8; 200_000];
        let pos = Rc::new(Position::default());
        let mut r = TrackingReader::new(&data[..], Rc::clone(&pos));
        let mut one = [0u8; 1];
        for _ in 0..70_000 {
            assert_eq!(r.read(&mut one).unwrap(), 1);
        }
        assert_eq!(pos.consumed(), 70_000);
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert_eq!(pos.consumed(), 200_000);
    }

    #[test]
    fn position_maps_line_and_column_to_offsets() {
        let data = b"ab\ncde\n\nfg";
        let pos = Rc::new(Position::default());
        let mut r = TrackingReader::new(&data[..], Rc::clone(&pos));
        let mut one = [0u8; 1];
        while r.read(&mut one).unwrap() == 1 {}
        for (line, col, want) in [
            (1, 1, Some(0)),
            (1, 2, Some(1)),
            (2, 3, Some(5)),
            (3, 0, Some(6)),
            (4, 2, Some(9)),
            (5, 1, None),
        ] {
            assert_eq!(pos.offset_of(line, col), want, "{line}:{col}");
        }
        assert_eq!(pos.normalise(3, 0), (2, 4));
        assert_eq!(pos.normalise(2, 2), (2, 2));
    }
}
