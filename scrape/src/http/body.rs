//! Request bodies, streamed: chunks flow from the connection to a blocking worker through
//! a bounded channel, are gunzipped when `Content-Encoding: gzip`, and are cut at line
//! boundaries so that a body of any size is processed with bounded memory.

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::BodyExt;
use tokio::sync::mpsc;

/// Chunks in flight between the connection and the worker: a few network reads, so the
/// reader stays ahead of the parser without buffering the request.
const CHANNEL_CHUNKS: usize = 8;

/// Bytes read from the (decoded) stream at a time.
const READ_SIZE: usize = 1 << 20;
/// The first read of a body asks for this much; later ones double up to `READ_SIZE`.
const FIRST_READ_SIZE: usize = 64 << 10;

/// An error to answer with: status and message.
pub(super) type BodyError = (StatusCode, String);

/// Whether the body is gzip-encoded.
///
/// # Errors
/// 415 for an encoding other than gzip or identity.
pub(super) fn is_gzip(headers: &HeaderMap) -> Result<bool, BodyError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "" | "identity" => Ok(false),
        "gzip" | "x-gzip" => Ok(true),
        other => Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported Content-Encoding {other:?}; want gzip or none"),
        )),
    }
}

/// Forwards the chunks of `body` to the returned receiver (from a spawned task).
pub(super) fn forward(body: Body) -> mpsc::Receiver<Result<Bytes, String>> {
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    tokio::spawn(async move {
        let mut body = body;
        loop {
            match body.frame().await {
                None => return,
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data()
                        && tx.send(Ok(data)).await.is_err()
                    {
                        return;
                    }
                }
                Some(Err(e)) => {
                    let _ = tx.send(Err(e.to_string())).await;
                    return;
                }
            }
        }
    });
    rx
}

/// `Read` over the chunks of a channel, for the blocking worker.
pub(super) struct ChannelReader {
    rx: mpsc::Receiver<Result<Bytes, String>>,
    cur: Bytes,
}

impl ChannelReader {
    pub(super) fn new(rx: mpsc::Receiver<Result<Bytes, String>>) -> Self {
        ChannelReader {
            rx,
            cur: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        self.cur = self.cur.slice(n..);
        Ok(n)
    }
}

/// Reads `src` to the end, calling `f(lines, lines_before)` with runs of complete lines
/// (the final one may lack its newline); `lines_before` is the number of lines of the body
/// before the run. With `whole`, `f` is called once with the entire body.
///
/// # Errors
/// 400 when the stream cannot be read (broken gzip, connection error); 413 when one line
/// (or, with `whole`, the body) is longer than `max` bytes; errors returned by `f`.
pub(super) fn for_each_lines<E: From<BodyError>>(
    mut src: impl Read,
    max: usize,
    whole: bool,
    mut f: impl FnMut(&[u8], usize) -> Result<(), E>,
) -> Result<(), E> {
    // `buf` is zeroed once as it grows; `len` bytes of it hold data (the unfinished
    // line, then what the last read added).
    // Reads start small and double while they fill their window, so a small body does
    // not pay for zeroing a large buffer.
    let mut buf: Vec<u8> = Vec::new();
    let mut len = 0usize;
    let mut lines_before = 0usize;
    let mut window = FIRST_READ_SIZE;
    loop {
        let start = len;
        if buf.len() < start + window {
            buf.resize(start + window, 0);
        }
        let n = match src.read(&mut buf[start..start + window]) {
            Ok(n) => n,
            Err(e) => {
                return Err(E::from((
                    StatusCode::BAD_REQUEST,
                    format!("cannot read the request body: {e}"),
                )));
            }
        };
        len = start + n;
        if n == window {
            window = (window * 2).min(READ_SIZE);
        }
        if n == 0 {
            if len > 0 {
                f(&buf[..len], lines_before)?;
            }
            return Ok(());
        }
        if whole {
            if len > max {
                return Err(E::from(too_large("request body", max)));
            }
            continue;
        }
        let Some(nl) = buf[start..len].iter().rposition(|&b| b == b'\n') else {
            if len > max {
                return Err(E::from(too_large("line", max)));
            }
            continue;
        };
        let end = start + nl + 1;
        f(&buf[..end], lines_before)?;
        lines_before += buf[..end].iter().filter(|&&b| b == b'\n').count();
        buf.copy_within(end..len, 0);
        len -= end;
    }
}

/// Reads a whole body of at most `max` bytes, gunzipping it when `gzip` (the
/// decompressed size is bounded by `max` too), for formats that are not line based.
///
/// # Errors
/// 413 when the body is larger than `max`; 400 when it cannot be read or gunzipped.
pub(super) async fn read_all(body: Body, max: usize, gzip: bool) -> Result<Vec<u8>, BodyError> {
    let mut body = body;
    let mut out: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            (
                StatusCode::BAD_REQUEST,
                format!("cannot read the request body: {e}"),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > max {
                return Err(too_large("request body", max));
            }
            out.extend_from_slice(&data);
        }
    }
    if !gzip {
        return Ok(out);
    }
    let mut plain = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::MultiGzDecoder::new(&out[..])
        .take(limit)
        .read_to_end(&mut plain)
        .map_err(|e| {
            (
                StatusCode::BAD_REQUEST,
                format!("cannot gunzip the request body: {e}"),
            )
        })?;
    if plain.len() > max {
        return Err(too_large("decompressed request body", max));
    }
    Ok(plain)
}

fn too_large(what: &str, max: usize) -> BodyError {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("{what} is longer than {max} bytes (-maxInsertRequestSize)"),
    )
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[derive(Debug, PartialEq)]
    struct E(BodyError);

    impl From<BodyError> for E {
        fn from(e: BodyError) -> Self {
            E(e)
        }
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn collect(src: impl Read, max: usize, whole: bool) -> Result<Vec<(String, usize)>, E> {
        let mut out = Vec::new();
        for_each_lines(src, max, whole, |b, n| {
            out.push((String::from_utf8(b.to_vec()).unwrap(), n));
            Ok::<(), E>(())
        })?;
        Ok(out)
    }

    #[test]
    fn runs_end_on_line_boundaries_and_count_lines() {
        let data = b"a 1\nb 2\nc 3";
        let got = collect(&data[..], 100, false).unwrap();
        assert_eq!(got, vec![("a 1\nb 2\n".into(), 0), ("c 3".into(), 2)]);
        let got = collect(&data[..], 100, true).unwrap();
        assert_eq!(got, vec![("a 1\nb 2\nc 3".into(), 0)]);
    }

    /// Hands out at most `step` bytes per read, so lines straddle reads.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn lines_split_across_reads_come_out_whole_and_counted() {
        let data: Vec<u8> = (0..200)
            .flat_map(|i| format!("metric_{i}{{a=\"{}\"}} {i}\n", "x".repeat(i % 7)).into_bytes())
            .collect();
        for step in [1, 3, 17, 4096] {
            let got = collect(Trickle(&data, step), 100, false).unwrap();
            let mut lines = 0;
            for (run, before) in &got {
                assert!(run.ends_with('\n'), "{run:?}");
                assert_eq!(*before, lines);
                lines += run.matches('\n').count();
            }
            let joined: String = got.iter().map(|x| x.0.as_str()).collect();
            assert_eq!(joined.as_bytes(), &data[..], "step {step}");
        }
    }

    #[test]
    fn gzip_streams_and_limits_apply() {
        let data = b"up 1\n".repeat(1000);
        let got = collect(flate2::read::MultiGzDecoder::new(&gz(&data)[..]), 10, false).unwrap();
        assert_eq!(got.iter().map(|x| x.0.len()).sum::<usize>(), data.len());
        let err = collect(&b"x".repeat(100)[..], 10, false).unwrap_err();
        assert_eq!(err.0.0, StatusCode::PAYLOAD_TOO_LARGE);
        let err = collect(&data[..], 10, true).unwrap_err();
        assert_eq!(err.0.0, StatusCode::PAYLOAD_TOO_LARGE);
        let err = collect(
            flate2::read::MultiGzDecoder::new(&b"not gzip"[..]),
            10,
            false,
        )
        .unwrap_err();
        assert_eq!(err.0.0, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn encodings() {
        let mut h = HeaderMap::new();
        assert!(!is_gzip(&h).unwrap());
        h.insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
        assert!(is_gzip(&h).unwrap());
        h.insert(header::CONTENT_ENCODING, "br".parse().unwrap());
        assert_eq!(
            is_gzip(&h).unwrap_err().0,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }
}
