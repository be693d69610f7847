//! `/api/v1/export`: the samples of the series matching `match[]`, as JSON lines, streamed
//! as they are read (memory bounded by one series, whatever the export's size).

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gnomon_promql::http::{ApiError, Params};
use gnomon_tsdb_core::model::{Labels, Matcher, Querier, TimeRange};
use tokio::sync::mpsc;

use crate::push::vmjson;

/// Content type VictoriaMetrics answers exports with.
const CONTENT_TYPE: &str = "application/stream+json; charset=utf-8";

/// A chunk is sent once it holds this many bytes: large enough for few syscalls, small
/// enough that a slow client holds little memory (the channel holds a few chunks).
const CHUNK_BYTES: usize = 256 * 1024;

/// Chunks buffered between the reader and the connection.
const CHANNEL_CHUNKS: usize = 4;

type Chunk = Result<Bytes, String>;

pub(super) async fn handle(
    State(q): State<Arc<dyn Querier>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), &body);
    let selectors = params.required_matchers()?;
    let range = params.time_range()?;
    let max_per_line = match params.get("max_rows_per_line").filter(|s| !s.is_empty()) {
        None => usize::MAX,
        Some(s) => match s.parse::<usize>() {
            Ok(0) => usize::MAX,
            Ok(n) => n,
            Err(_) => {
                return Err(ApiError::bad_data(format!(
                    "cannot parse max_rows_per_line={s:?}"
                )));
            }
        },
    };
    let (tx, mut rx) = mpsc::channel::<Chunk>(CHANNEL_CHUNKS);
    tokio::task::spawn_blocking(move || produce(&*q, &selectors, range, max_per_line, &tx));
    // An error before anything was written is still an error response; later ones can
    // only cut the stream short (as in VictoriaMetrics).
    let first = match rx.recv().await {
        None => Bytes::new(),
        Some(Ok(b)) => b,
        Some(Err(e)) => return Err(ApiError::internal(e)),
    };
    let mut resp = Body::from_stream(ChunkStream {
        first: Some(first),
        rx,
    })
    .into_response();
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    Ok(resp)
}

/// Writes every matching series into chunks. Several selectors may match one series:
/// the set of labels written keeps each once.
fn produce(
    q: &dyn Querier,
    selectors: &[Vec<Matcher>],
    range: TimeRange,
    max_per_line: usize,
    tx: &mpsc::Sender<Chunk>,
) {
    let mut seen: HashSet<Labels> = HashSet::new();
    let mut buf = Vec::with_capacity(CHUNK_BYTES * 2);
    let send = |b: Chunk| tx.blocking_send(b).is_ok();
    for matchers in selectors {
        let series = match q.select(matchers, range) {
            Ok(s) => s,
            Err(e) => {
                send(Err(e.to_string()));
                return;
            }
        };
        for s in series {
            let s = match s {
                Ok(s) => s,
                Err(e) => {
                    send(Err(e.to_string()));
                    return;
                }
            };
            if selectors.len() > 1 && !seen.insert(s.labels.clone()) {
                continue;
            }
            for chunk in s.samples.chunks(max_per_line.min(s.samples.len().max(1))) {
                vmjson::write_line(&mut buf, &s.labels, chunk);
            }
            if buf.len() >= CHUNK_BYTES && !send(Ok(Bytes::from(std::mem::take(&mut buf)))) {
                return; // the client went away
            }
        }
    }
    send(Ok(Bytes::from(buf)));
}

/// The response body: the first chunk, then the rest from the channel.
struct ChunkStream {
    first: Option<Bytes>,
    rx: mpsc::Receiver<Chunk>,
}

impl futures_core::Stream for ChunkStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(b) = self.first.take() {
            return Poll::Ready(Some(Ok(b)));
        }
        self.rx
            .poll_recv(cx)
            .map(|o| o.map(|r| r.map_err(std::io::Error::other)))
    }
}
