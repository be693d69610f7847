//! The senders of one destination: each takes the next block from the queue, `POST`s it
//! until the destination accepts or refuses it for good, then acknowledges it.
//!
//! Outcomes of a request: 2xx is delivered; 429, 5xx (and any other status) and
//! network errors are retried with a doubling wait between `retry_min_interval` and
//! `retry_max_interval`; another 4xx means the destination will never take the block,
//! so it is dropped and counted, as vmagent does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderName, HeaderValue};
use reqwest::{Client, StatusCode};
use tokio::sync::watch;

use super::destination::Destination;
use super::stats::add;
use crate::client::apply_auth;
use crate::queue::QueueError;

/// How long a request under way may still take once the client stops.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Resolves `grace` after `stop` turns true (or its sender is gone).
async fn stopped_then(mut stop: watch::Receiver<bool>, grace: Duration) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            break;
        }
    }
    tokio::time::sleep(grace).await;
}

/// Most of an error response body that is logged.
const MAX_ERROR_BODY: usize = 512;

/// Runs until `stop` turns true (or its sender is gone): takes blocks as they arrive.
pub(crate) async fn run(dest: Arc<Destination>, client: Client, mut stop: watch::Receiver<bool>) {
    let headers = match request_headers(&dest.opts.headers) {
        Ok(h) => h,
        Err(e) => {
            log::error!("remote write {}: {e}", dest.label);
            return;
        }
    };
    let notify = dest.queue.notify();
    loop {
        if *stop.borrow() {
            return;
        }
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        match dest.queue.next() {
            Ok(Some(block)) => {
                if !deliver(&dest, &client, &headers, block.data, &mut stop).await {
                    // Stopping: the block stays unacknowledged, so it is sent again by
                    // the next process.
                    return;
                }
                if let Err(e) = dest.queue.ack(block.id) {
                    log::error!(
                        "remote write {}: cannot acknowledge a block: {e}",
                        dest.label
                    );
                }
            }
            Ok(None) => {
                tokio::select! {
                    () = &mut notified => {}
                    r = stop.changed() => if r.is_err() { return },
                }
            }
            Err(QueueError::Closed) => return,
            Err(e) => {
                log::error!("remote write {}: cannot read the queue: {e}", dest.label);
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    r = stop.changed() => if r.is_err() { return },
                }
            }
        }
    }
}

fn request_headers(extra: &[(String, String)]) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let mut out = vec![
        (CONTENT_ENCODING, HeaderValue::from_static("snappy")),
        (
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        ),
        (
            HeaderName::from_static("x-prometheus-remote-write-version"),
            HeaderValue::from_static("0.1.0"),
        ),
    ];
    for (k, v) in extra {
        let name = HeaderName::from_bytes(k.trim().as_bytes())
            .map_err(|_| format!("invalid header name {k:?} in -remoteWrite.headers"))?;
        let value = HeaderValue::from_str(v.trim())
            .map_err(|_| format!("invalid value of header {k:?} in -remoteWrite.headers"))?;
        out.push((name, value));
    }
    Ok(out)
}

/// Sends `data` until it is delivered or refused for good (true), or `stop` (false).
async fn deliver(
    dest: &Destination,
    client: &Client,
    headers: &[(HeaderName, HeaderValue)],
    data: Vec<u8>,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let body = bytes::Bytes::from(data);
    let mut wait = dest.opts.retry_min_interval;
    loop {
        let started = Instant::now();
        // A request under way when the client stops gets a grace period to finish, so
        // that a clean stop does not leave a delivered block unacknowledged.
        let outcome = tokio::select! {
            o = attempt(dest, client, headers, body.clone()) => o,
            () = stopped_then(stop.clone(), STOP_GRACE) => return false,
        };
        add(&dest.stats.send_nanos, started.elapsed().as_nanos() as u64);
        let why = match outcome {
            Attempt::Delivered => {
                add(&dest.stats.blocks_sent, 1);
                add(&dest.stats.bytes_sent, body.len() as u64);
                return true;
            }
            Attempt::Refused(status, text) => {
                add(&dest.stats.packets_dropped, 1);
                log::error!(
                    "remote write {}: unexpected status code {status} for a block of {} bytes, dropping it: {text}",
                    dest.label,
                    body.len()
                );
                return true;
            }
            Attempt::Retry(why) => why,
        };
        add(&dest.stats.retries, 1);
        log::warn!(
            "remote write {}: cannot send a block of {} bytes: {why}; retrying in {:.3}s",
            dest.label,
            body.len(),
            wait.as_secs_f64()
        );
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            r = stop.changed() => if r.is_err() || *stop.borrow() { return false },
        }
        wait = (wait * 2).min(
            dest.opts
                .retry_max_interval
                .max(dest.opts.retry_min_interval),
        );
    }
}

enum Attempt {
    Delivered,
    Refused(StatusCode, String),
    Retry(String),
}

async fn attempt(
    dest: &Destination,
    client: &Client,
    headers: &[(HeaderName, HeaderValue)],
    body: bytes::Bytes,
) -> Attempt {
    let mut req = client.post(&dest.opts.url).body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let req = match apply_auth(req, &dest.opts.http) {
        Ok(r) => r,
        Err(e) => return Attempt::Retry(e.to_string()),
    };
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            add(&dest.stats.errors, 1);
            return Attempt::Retry(error_chain(&e));
        }
    };
    let status = resp.status();
    let counter = match status.as_u16() {
        200..=299 => &dest.stats.requests_2xx,
        400..=499 => &dest.stats.requests_4xx,
        _ => &dest.stats.requests_5xx,
    };
    add(counter, 1);
    if status.is_success() {
        // Drain the body so the connection can be reused.
        let _ = resp.bytes().await;
        return Attempt::Delivered;
    }
    let text = match resp.bytes().await {
        Ok(b) => String::from_utf8_lossy(&b[..b.len().min(MAX_ERROR_BODY)]).into_owned(),
        Err(e) => format!("(cannot read the response: {e})"),
    };
    if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
        Attempt::Refused(status, text)
    } else {
        Attempt::Retry(format!("unexpected status code {status}: {}", text.trim()))
    }
}

/// `e` with its sources, which hold the useful part (connection refused...).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
