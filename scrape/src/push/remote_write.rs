//! Prometheus remote write 1.0: a snappy-compressed (block format) protobuf
//! `WriteRequest`, read without allocating per series or per label.
//!
//! ```text
//! WriteRequest  { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
//! TimeSeries    { repeated Label labels = 1; repeated Sample samples = 2;
//!                 repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
//! Label         { string name = 1; string value = 2; }
//! Sample        { double value = 1; int64 timestamp = 2; }
//! ```
//!
//! [`WriteRequest::parse`] checks the whole message once (wire types, lengths, UTF-8) and
//! keeps a borrowed view of each series; [`TimeSeries::labels`] and
//! [`TimeSeries::samples`] then walk the bytes again without failing. Metadata,
//! exemplars, native histograms and unknown fields are skipped (counted for metadata).
//! Arbitrary bytes give a [`RemoteWriteError`], never a panic.

use gnomon_tsdb_core::model::{Label, Labels, Sample};

/// Why a remote-write body was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteWriteError {
    /// The snappy block could not be decompressed.
    #[error("cannot decompress snappy block: {0}")]
    Snappy(String),
    /// The decompressed size the block announces exceeds the limit.
    #[error("decompressed body of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Announced size.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// The protobuf message is malformed.
    #[error("invalid protobuf at byte {offset}: {what}")]
    Protobuf {
        /// Offset in the decompressed message.
        offset: usize,
        /// What was wrong.
        what: &'static str,
    },
}

/// Decompresses a snappy block of at most `max` decompressed bytes.
///
/// # Errors
/// [`RemoteWriteError::TooLarge`] when the announced length exceeds `max`,
/// [`RemoteWriteError::Snappy`] when the block is corrupt.
pub fn decompress(body: &[u8], max: usize) -> Result<Vec<u8>, RemoteWriteError> {
    let size =
        snap::raw::decompress_len(body).map_err(|e| RemoteWriteError::Snappy(e.to_string()))?;
    if size > max {
        return Err(RemoteWriteError::TooLarge { size, max });
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| RemoteWriteError::Snappy(e.to_string()))
}

/// A checked `WriteRequest`: views of its series.
#[derive(Clone, Debug, Default)]
pub struct WriteRequest<'a> {
    /// The series, in message order.
    pub series: Vec<TimeSeries<'a>>,
    /// Number of `MetricMetadata` entries (ignored).
    pub metadata: usize,
}

/// One checked `TimeSeries` message.
#[derive(Clone, Copy, Debug)]
pub struct TimeSeries<'a> {
    raw: &'a [u8],
    /// Bytes of the leading run of label fields, when no label field follows another
    /// field: a stable key for the label set.
    key_len: Option<usize>,
    labels: usize,
    samples: usize,
}

impl<'a> WriteRequest<'a> {
    /// Checks `msg` (decompressed) and collects its series.
    ///
    /// # Errors
    /// [`RemoteWriteError::Protobuf`] with the offset of the first malformed byte.
    pub fn parse(msg: &'a [u8]) -> Result<WriteRequest<'a>, RemoteWriteError> {
        let mut req = WriteRequest::default();
        let mut r = Reader::new(msg, 0);
        while let Some((field, wire)) = r.key()? {
            match (field, wire) {
                (1, WIRE_LEN) => {
                    let (start, body) = r.len_delimited()?;
                    req.series.push(TimeSeries::check(body, start)?);
                }
                (1, _) => return Err(r.err("timeseries is not length-delimited")),
                (3, _) => {
                    r.skip(wire)?;
                    req.metadata += 1;
                }
                _ => r.skip(wire)?,
            }
        }
        Ok(req)
    }

    /// Total samples of every series.
    pub fn sample_count(&self) -> usize {
        self.series.iter().map(|s| s.samples).sum()
    }
}

impl<'a> TimeSeries<'a> {
    fn check(raw: &'a [u8], base: usize) -> Result<TimeSeries<'a>, RemoteWriteError> {
        let mut ts = TimeSeries {
            raw,
            key_len: Some(0),
            labels: 0,
            samples: 0,
        };
        let mut leading = true;
        let mut r = Reader::new(raw, base);
        while let Some((field, wire)) = r.key()? {
            match (field, wire) {
                (1, WIRE_LEN) => {
                    let (start, body) = r.len_delimited()?;
                    check_label(body, start)?;
                    ts.labels += 1;
                    if leading {
                        ts.key_len = Some(r.pos);
                    } else {
                        ts.key_len = None;
                    }
                }
                (2, WIRE_LEN) => {
                    let (start, body) = r.len_delimited()?;
                    check_sample(body, start)?;
                    ts.samples += 1;
                    leading = false;
                }
                (1 | 2, _) => return Err(r.err("label or sample is not length-delimited")),
                _ => {
                    r.skip(wire)?;
                    leading = false;
                }
            }
        }
        Ok(ts)
    }

    /// The labels as given (unsorted, maybe with empty values or repeated names).
    pub fn labels(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.fields(1).map(|body| {
            let mut name = "";
            let mut value = "";
            let mut r = Reader::new(body, 0);
            while let Ok(Some((field, wire))) = r.key() {
                match (field, wire) {
                    (1 | 2, WIRE_LEN) => {
                        let s = r.len_delimited().map_or(&b""[..], |(_, b)| b);
                        // Checked by `check_label`.
                        let s = std::str::from_utf8(s).unwrap_or("");
                        if field == 1 { name = s } else { value = s }
                    }
                    _ => {
                        if r.skip(wire).is_err() {
                            break;
                        }
                    }
                }
            }
            (name, value)
        })
    }

    /// The samples, in message order.
    pub fn samples(&self) -> impl Iterator<Item = Sample> + 'a {
        self.fields(2).map(|body| {
            let (mut t, mut v) = (0i64, 0f64);
            let mut r = Reader::new(body, 0);
            while let Ok(Some((field, wire))) = r.key() {
                match (field, wire) {
                    (1, WIRE_I64) => v = f64::from_bits(r.fixed64().unwrap_or(0)),
                    (2, WIRE_VARINT) => t = r.varint().unwrap_or(0) as i64,
                    _ => {
                        if r.skip(wire).is_err() {
                            break;
                        }
                    }
                }
            }
            Sample::new(t, v)
        })
    }

    /// Number of labels and of samples.
    pub fn counts(&self) -> (usize, usize) {
        (self.labels, self.samples)
    }

    /// The bytes of the label fields when they lead the message: equal keys mean equal
    /// label sets, so a caller may cache by them. `None` when labels are interleaved with
    /// other fields.
    pub fn label_key(&self) -> Option<&'a [u8]> {
        self.key_len.map(|n| &self.raw[..n])
    }

    /// The label set (sorted; empty values dropped; the last of repeated names wins).
    pub fn to_labels(&self) -> Labels {
        Labels::new(self.labels().map(|(n, v)| Label::new(n, v)).collect())
    }

    /// Bodies of the length-delimited fields numbered `want`.
    fn fields(&self, want: u64) -> impl Iterator<Item = &'a [u8]> + 'a {
        let mut r = Reader::new(self.raw, 0);
        std::iter::from_fn(move || {
            loop {
                let (field, wire) = r.key().ok()??;
                if field == want && wire == WIRE_LEN {
                    return r.len_delimited().ok().map(|(_, b)| b);
                }
                r.skip(wire).ok()?;
            }
        })
    }
}

fn check_label(body: &[u8], base: usize) -> Result<(), RemoteWriteError> {
    let mut r = Reader::new(body, base);
    while let Some((field, wire)) = r.key()? {
        match (field, wire) {
            (1 | 2, WIRE_LEN) => {
                let (start, s) = r.len_delimited()?;
                if std::str::from_utf8(s).is_err() {
                    return Err(RemoteWriteError::Protobuf {
                        offset: start,
                        what: "label name or value is not UTF-8",
                    });
                }
            }
            (1 | 2, _) => return Err(r.err("label name or value is not a string")),
            _ => r.skip(wire)?,
        }
    }
    Ok(())
}

fn check_sample(body: &[u8], base: usize) -> Result<(), RemoteWriteError> {
    let mut r = Reader::new(body, base);
    while let Some((field, wire)) = r.key()? {
        match (field, wire) {
            (1, WIRE_I64) => {
                r.fixed64()?;
            }
            (2, WIRE_VARINT) => {
                r.varint()?;
            }
            (1 | 2, _) => return Err(r.err("sample value or timestamp has a wrong wire type")),
            _ => r.skip(wire)?,
        }
    }
    Ok(())
}

const WIRE_VARINT: u8 = 0;
const WIRE_I64: u8 = 1;
const WIRE_LEN: u8 = 2;
const WIRE_I32: u8 = 5;

/// A protobuf wire-format cursor; `base` is the offset of `buf` in the whole message,
/// for error positions.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    fn err(&self, what: &'static str) -> RemoteWriteError {
        RemoteWriteError::Protobuf {
            offset: self.base + self.pos,
            what,
        }
    }

    fn varint(&mut self) -> Result<u64, RemoteWriteError> {
        let mut v = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(self.err("truncated varint"));
            };
            self.pos += 1;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(self.err("varint longer than 10 bytes"))
    }

    /// The next field number and wire type; `None` at the end.
    fn key(&mut self) -> Result<Option<(u64, u8)>, RemoteWriteError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let k = self.varint()?;
        let field = k >> 3;
        if field == 0 {
            return Err(self.err("field number 0"));
        }
        Ok(Some((field, (k & 7) as u8)))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], RemoteWriteError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| self.err("field runs past the end of its message"))?;
        let b = &self.buf[self.pos..end];
        self.pos = end;
        Ok(b)
    }

    /// A length-delimited field's body and its offset in the whole message.
    fn len_delimited(&mut self) -> Result<(usize, &'a [u8]), RemoteWriteError> {
        let n = self.varint()?;
        let n = usize::try_from(n).map_err(|_| self.err("length does not fit in memory"))?;
        let start = self.base + self.pos;
        Ok((start, self.take(n)?))
    }

    fn fixed64(&mut self) -> Result<u64, RemoteWriteError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn skip(&mut self, wire: u8) -> Result<(), RemoteWriteError> {
        match wire {
            WIRE_VARINT => self.varint().map(drop),
            WIRE_I64 => self.take(8).map(drop),
            WIRE_LEN => self.len_delimited().map(drop),
            WIRE_I32 => self.take(4).map(drop),
            _ => Err(self.err("unsupported wire type (groups are not used by remote write)")),
        }
    }
}

/// Encodes `series` as a `WriteRequest` (not compressed): labels in the given order,
/// then samples. What [`WriteRequest::parse`] reads back.
pub fn encode(series: &[(Labels, Vec<Sample>)]) -> Vec<u8> {
    let mut e = WriteRequestEncoder::default();
    for (labels, samples) in series {
        e.push(labels.as_slice(), samples);
    }
    e.take()
}

/// Builds a `WriteRequest` (not compressed) one series at a time, writing each field
/// once (message lengths are computed ahead, so nothing is encoded into a scratch
/// buffer and copied).
#[derive(Clone, Debug, Default)]
pub struct WriteRequestEncoder {
    out: Vec<u8>,
    series: usize,
    samples: usize,
}

/// Bytes of `v` as a varint.
fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Bytes of a length-delimited field with a one-byte key and `len` bytes of payload.
fn field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// Payload bytes of a `Label` message.
fn label_len(l: &Label) -> usize {
    field_len(l.name.len()) + field_len(l.value.len())
}

/// Payload bytes of a `Sample` message.
fn sample_len(s: &Sample) -> usize {
    1 + 8 + 1 + varint_len(s.t as u64)
}

impl WriteRequestEncoder {
    /// Appends one `TimeSeries`: `labels` in the given order, then `samples`.
    pub fn push(&mut self, labels: &[Label], samples: &[Sample]) {
        let ts_len: usize = labels
            .iter()
            .map(|l| field_len(label_len(l)))
            .sum::<usize>()
            + samples
                .iter()
                .map(|s| field_len(sample_len(s)))
                .sum::<usize>();
        let out = &mut self.out;
        out.reserve(field_len(ts_len));
        put_key_len(out, 1, ts_len);
        for l in labels {
            put_key_len(out, 1, label_len(l));
            put_bytes(out, 1, l.name.as_bytes());
            put_bytes(out, 2, l.value.as_bytes());
        }
        for s in samples {
            put_key_len(out, 2, sample_len(s));
            out.push((1 << 3) | WIRE_I64);
            out.extend_from_slice(&s.v.to_bits().to_le_bytes());
            out.push((2 << 3) | WIRE_VARINT);
            put_varint(out, s.t as u64);
        }
        self.series += 1;
        self.samples += samples.len();
    }

    /// Size of the message so far, in bytes.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether no series was pushed since the last [`WriteRequestEncoder::take`].
    pub fn is_empty(&self) -> bool {
        self.series == 0
    }

    /// Series pushed since the last take.
    pub fn series(&self) -> usize {
        self.series
    }

    /// Samples pushed since the last take.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// The message so far; the encoder starts a new one.
    pub fn take(&mut self) -> Vec<u8> {
        self.replace(Vec::new())
    }

    /// The message so far; the encoder starts a new one in `buf` (cleared), so that a
    /// caller recycling buffers does not grow a fresh one for every message.
    pub fn replace(&mut self, mut buf: Vec<u8>) -> Vec<u8> {
        buf.clear();
        self.series = 0;
        self.samples = 0;
        std::mem::replace(&mut self.out, buf)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The key and length of a length-delimited field (field numbers below 16: one byte).
fn put_key_len(out: &mut Vec<u8>, field: u8, len: usize) {
    out.push((field << 3) | WIRE_LEN);
    put_varint(out, len as u64);
}

fn put_bytes(out: &mut Vec<u8>, field: u8, b: &[u8]) {
    put_key_len(out, field, b.len());
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests;
