//! Reader adapters shared by every format: progress counting and transparent gunzip.
//!
//! These wrap a caller-supplied `std::io::Read`; nothing here opens files or sockets.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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
}
