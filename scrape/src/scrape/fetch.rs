//! The HTTP side of a scrape: one GET with Prometheus' headers, a deadline and a body
//! size limit.

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT};

use crate::client::authorization_header;

use super::error::ScrapeError;
use super::options::LoopOptions;

/// The `User-Agent` of scrape requests.
pub const SCRAPE_USER_AGENT: &str = concat!("Gnomon/", env!("CARGO_PKG_VERSION"));

/// A fetched body and its `Content-Type`.
pub(crate) struct Fetched {
    pub body: Vec<u8>,
    pub content_type: String,
}

/// GETs `url`. `Accept-Encoding: gzip` is sent and the body decompressed by the client;
/// the size limit applies to the decompressed bytes.
///
/// # Errors
/// [`ScrapeError::Timeout`], [`ScrapeError::Status`] for a non-200 answer,
/// [`ScrapeError::BodyTooLarge`], [`ScrapeError::Transport`].
pub(crate) async fn fetch(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
    opts: &LoopOptions,
) -> Result<Fetched, ScrapeError> {
    match tokio::time::timeout(timeout, fetch_inner(client, url, timeout, opts)).await {
        Ok(r) => r,
        Err(_) => Err(ScrapeError::Timeout(timeout)),
    }
}

async fn fetch_inner(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
    opts: &LoopOptions,
) -> Result<Fetched, ScrapeError> {
    let mut req = client
        .get(url)
        .headers(opts.headers.clone())
        .header(USER_AGENT, SCRAPE_USER_AGENT)
        .header(
            "X-Prometheus-Scrape-Timeout-Seconds",
            timeout_header(timeout),
        );
    if let Ok(v) = HeaderValue::from_str(&opts.accept) {
        req = req.header(ACCEPT, v);
    }
    if let Some(v) = authorization_header(&opts.auth)? {
        req = req.header(AUTHORIZATION, v);
    }
    let mut resp = req.send().await?;
    let status = resp.status();
    if status != reqwest::StatusCode::OK {
        return Err(ScrapeError::Status(status.to_string()));
    }
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let limit = if opts.body_size_limit == 0 {
        usize::MAX
    } else {
        opts.body_size_limit
    };
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(ScrapeError::BodyTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched { body, content_type })
}

/// Seconds with up to millisecond precision, as Prometheus formats it (`10`, `0.5`).
fn timeout_header(timeout: Duration) -> String {
    let s = format!("{:.3}", timeout.as_secs_f64());
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_header_is_seconds() {
        assert_eq!(timeout_header(Duration::from_secs(10)), "10");
        assert_eq!(timeout_header(Duration::from_millis(500)), "0.5");
        assert_eq!(timeout_header(Duration::from_millis(1250)), "1.25");
    }
}
