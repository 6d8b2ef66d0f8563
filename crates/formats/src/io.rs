//! Reader adapters shared by every format: progress counting and transparent gunzip.
//!
//! These wrap a caller-supplied `std::io::Read`; nothing here opens files or sockets.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

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

/// Computes the SHA-256 of the raw bytes pulled through it, so an importer can record the
/// uploaded file's hash (SPEC C12 provenance) without reading the file twice. Pass it by
/// `&mut` to a parser and call [`HashingReader::sha256_hex`] afterwards; the hash covers the
/// whole input only if the parser read to the end (the SARIF reader does on success).
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// SHA-256 of everything read so far.
    pub fn sha256(&self) -> [u8; 32] {
        self.hasher.clone().finalize().into()
    }

    /// [`Self::sha256`] as 64 lowercase hex digits.
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// How many bytes a gzipped feed file may inflate to ([`MaybeGz::new`]): real feeds inflate to
/// tens of megabytes (EPSS ~12 MB, KEV ~1.5 MB); a gzip bomb of a few megabytes would inflate
/// to terabytes.
pub const MAX_FEED_INFLATED_BYTES: u64 = 1 << 30;

/// A reader that is either passed through or gunzipped, decided by the first two bytes.
pub enum MaybeGz<R: Read> {
    /// The stream did not start with the gzip magic.
    Plain(Replayed<R>),
    /// The stream started with the gzip magic; all concatenated members are decoded, up to a
    /// limit of inflated bytes.
    Gzip(Box<InflateLimit<MultiGzDecoder<Replayed<R>>>>),
}

impl<R: Read> MaybeGz<R> {
    /// Peeks at the first bytes of `inner` and decides whether to gunzip. The peeked bytes are
    /// replayed, so nothing is lost for non-gzip input.
    pub fn new(inner: R) -> io::Result<Self> {
        Self::with_limit(inner, MAX_FEED_INFLATED_BYTES)
    }

    /// As [`MaybeGz::new`], failing with [`InflateLimitExceeded`] once gzip input inflates past
    /// `limit` bytes.
    pub fn with_limit(inner: R, limit: u64) -> io::Result<Self> {
        let (gz, chained) = sniff_gzip(inner)?;
        Ok(if gz {
            MaybeGz::Gzip(Box::new(InflateLimit::new(
                MultiGzDecoder::new(chained),
                limit,
            )))
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

/// `inner` with bytes already read from it put back in front.
pub(crate) type Replayed<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// Peeks at the first bytes of `inner`: whether they are the gzip magic, and a reader that
/// replays them.
pub(crate) fn sniff_gzip<R: Read>(mut inner: R) -> io::Result<(bool, Replayed<R>)> {
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
    Ok((gz, io::Cursor::new(head).chain(inner)))
}

/// Compressed bytes handed to the gunzip thread at a time.
const GUNZIP_IN_CHUNK: usize = 64 * 1024;
/// Compressed chunks queued for the gunzip thread.
const GUNZIP_IN_QUEUE: usize = 8;
/// Decompressed bytes handed back at a time, and how many such chunks may wait.
const GUNZIP_OUT_CHUNK: usize = 256 * 1024;
const GUNZIP_OUT_QUEUE: usize = 2;

/// Gunzips on a helper thread while the calling thread parses. The calling thread keeps
/// reading the input (which need not be `Send`) and queues compressed chunks; the helper sends
/// decompressed chunks back, then an empty chunk at the end, or the decoder's error after the
/// bytes decoded before it (so errors keep their place). Memory: the bounded queues, ~1 MB.
///
/// Run [`gunzip_worker`] on a scoped thread with the other ends of the channels; dropping this
/// reader stops it.
pub(crate) struct ThreadedGunzip<R> {
    inner: R,
    to_worker: Option<mpsc::SyncSender<Vec<u8>>>,
    from_worker: mpsc::Receiver<io::Result<Vec<u8>>>,
    /// A compressed chunk read but not yet accepted by the queue.
    pending: Option<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    done: bool,
}

/// The worker's ends of a [`ThreadedGunzip`]'s channels.
pub(crate) struct GunzipWorker {
    input: mpsc::Receiver<Vec<u8>>,
    output: mpsc::SyncSender<io::Result<Vec<u8>>>,
}

impl<R: Read> ThreadedGunzip<R> {
    /// A reader of `inner` (gzip bytes) and the ends for the worker thread.
    pub(crate) fn new(inner: R) -> (Self, GunzipWorker) {
        let (to_worker, input) = mpsc::sync_channel(GUNZIP_IN_QUEUE);
        let (output, from_worker) = mpsc::sync_channel(GUNZIP_OUT_QUEUE);
        (
            Self {
                inner,
                to_worker: Some(to_worker),
                from_worker,
                pending: None,
                cur: Vec::new(),
                pos: 0,
                done: false,
            },
            GunzipWorker { input, output },
        )
    }

    /// Queues compressed chunks until the queue is full or the input ends.
    fn feed(&mut self) -> io::Result<()> {
        loop {
            let Some(tx) = &self.to_worker else {
                return Ok(());
            };
            let chunk = match self.pending.take() {
                Some(c) => c,
                None => {
                    let mut c = vec![0u8; GUNZIP_IN_CHUNK];
                    let n = loop {
                        match self.inner.read(&mut c) {
                            Ok(n) => break n,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            Err(e) => return Err(e),
                        }
                    };
                    if n == 0 {
                        // End of input: closing the queue tells the worker.
                        self.to_worker = None;
                        return Ok(());
                    }
                    c.truncate(n);
                    c
                }
            };
            match tx.try_send(chunk) {
                Ok(()) => {}
                Err(mpsc::TrySendError::Full(c)) => {
                    self.pending = Some(c);
                    return Ok(());
                }
                Err(mpsc::TrySendError::Disconnected(_)) => {
                    self.to_worker = None;
                    return Ok(());
                }
            }
        }
    }
}

impl<R: Read> Read for ThreadedGunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.cur.len() {
                let n = buf.len().min(self.cur.len() - self.pos);
                buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            self.feed()?;
            // A short wait, then feed again: the worker may have emptied the queue meanwhile.
            match self
                .from_worker
                .recv_timeout(std::time::Duration::from_millis(1))
            {
                Ok(Ok(chunk)) => {
                    self.done = chunk.is_empty();
                    self.cur = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.done = true;
                    return Err(io::Error::other("the gunzip thread stopped"));
                }
            }
        }
    }
}

/// Compressed chunks from the queue as one `BufRead`; ends when the queue is closed.
struct QueueReader {
    input: mpsc::Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for QueueReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let have = io::BufRead::fill_buf(self)?;
        let n = buf.len().min(have.len());
        buf[..n].copy_from_slice(&have[..n]);
        io::BufRead::consume(self, n);
        Ok(n)
    }
}

impl io::BufRead for QueueReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.cur.len() {
            match self.input.recv() {
                Ok(c) => {
                    self.cur = c;
                    self.pos = 0;
                }
                Err(_) => return Ok(&[]),
            }
        }
        Ok(&self.cur[self.pos..])
    }
    fn consume(&mut self, n: usize) {
        self.pos += n;
    }
}

/// The gunzip thread's body: decodes every gzip member until the input ends, an error occurs
/// or the reader is dropped.
pub(crate) fn gunzip_worker(w: GunzipWorker) {
    let mut dec = flate2::bufread::MultiGzDecoder::new(QueueReader {
        input: w.input,
        cur: Vec::new(),
        pos: 0,
    });
    loop {
        let mut out = vec![0u8; GUNZIP_OUT_CHUNK];
        let mut n = 0;
        let mut failed = None;
        while n < out.len() {
            match dec.read(&mut out[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        out.truncate(n);
        let last = n == 0;
        if n > 0 && w.output.send(Ok(out)).is_err() {
            return;
        }
        if let Some(e) = failed {
            let _ = w.output.send(Err(e));
            return;
        }
        if last {
            let _ = w.output.send(Ok(Vec::new()));
            return;
        }
    }
}

/// The error an [`InflateLimit`] reader fails with once its input produced more than its limit
/// (the limit is the field).
#[derive(Debug)]
pub struct InflateLimitExceeded(pub u64);

impl std::fmt::Display for InflateLimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the gzip stream inflates to more than {} bytes", self.0)
    }
}

impl std::error::Error for InflateLimitExceeded {}

/// Fails (with [`InflateLimitExceeded`]) once `inner` yields more than `limit` bytes: a
/// decompressed stream is bounded even when the compressed file is small (a gzip bomb).
pub struct InflateLimit<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R> InflateLimit<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        Self {
            inner,
            left: limit,
            limit,
        }
    }
}

impl<R: Read> Read for InflateLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        match self.left.checked_sub(n as u64) {
            Some(left) => {
                self.left = left;
                Ok(n)
            }
            None => Err(io::Error::other(InflateLimitExceeded(self.limit))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maybe_gz_refuses_to_inflate_past_its_limit() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut enc, &vec![b' '; 4 << 20]).unwrap();
        let bomb = enc.finish().unwrap();
        let mut out = Vec::new();
        let err = MaybeGz::with_limit(&bomb[..], 1 << 20)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(
            err.get_ref()
                .and_then(|e| e.downcast_ref::<InflateLimitExceeded>())
                .is_some_and(|e| e.0 == 1 << 20),
            "{err}"
        );
        assert!(out.len() <= 1 << 20, "{}", out.len());
        // Under the limit, the same bytes read whole.
        let mut all = Vec::new();
        MaybeGz::with_limit(&bomb[..], 8 << 20)
            .unwrap()
            .read_to_end(&mut all)
            .unwrap();
        assert_eq!(all.len(), 4 << 20);
    }

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
}
