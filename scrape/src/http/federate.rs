//! `/federate`: the newest sample of every series matching a `match[]` selector, no
//! older than the lookback, in Prometheus text format grouped by metric name with
//! `# TYPE name untyped` lines, as Prometheus' federation endpoint writes them. A series
//! whose newest sample is a staleness marker is left out. `time` (Unix seconds or
//! RFC 3339) evaluates at another instant than now.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gnomon_promql::http::{ApiError, Params, blocking};
use gnomon_tsdb_core::model::{Labels, METRIC_NAME, Querier, Sample, TimeRange, is_stale_nan};

use super::ingest::now_ms;
use crate::push::vmjson::write_value;

/// Content type of Prometheus text format 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone)]
pub(super) struct FederateState {
    pub(super) querier: Arc<dyn Querier>,
    pub(super) lookback: Duration,
}

pub(super) async fn handle(
    State(st): State<FederateState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), &body);
    let selectors = params.required_matchers()?;
    let at = params.time("time")?.unwrap_or_else(now_ms);
    let lookback = i64::try_from(st.lookback.as_millis()).unwrap_or(i64::MAX);
    let range = TimeRange::new(at.saturating_sub(lookback), at);
    let text = blocking(move || {
        let mut newest: BTreeMap<(String, Labels), Sample> = BTreeMap::new();
        for matchers in &selectors {
            for s in st.querier.select(matchers, range)? {
                let s = s?;
                if let Some(last) = s.samples.last().filter(|x| !is_stale_nan(x.v)) {
                    let name = s.labels.get(METRIC_NAME).unwrap_or("").to_owned();
                    newest.insert((name, s.labels), *last);
                }
            }
        }
        Ok(render(&newest))
    })
    .await?;
    let mut r = (StatusCode::OK, text).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    Ok(r)
}

fn render(newest: &BTreeMap<(String, Labels), Sample>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut current: Option<&str> = None;
    for ((name, labels), sample) in newest {
        if current != Some(name.as_str()) {
            out.extend_from_slice(format!("# TYPE {name} untyped\n").as_bytes());
            current = Some(name);
        }
        out.extend_from_slice(name.as_bytes());
        let mut first = true;
        for l in labels.iter().filter(|l| l.name != METRIC_NAME) {
            out.push(if first { b'{' } else { b',' });
            first = false;
            out.extend_from_slice(l.name.as_bytes());
            out.extend_from_slice(b"=\"");
            for c in l.value.chars() {
                match c {
                    '\\' => out.extend_from_slice(b"\\\\"),
                    '"' => out.extend_from_slice(b"\\\""),
                    '\n' => out.extend_from_slice(b"\\n"),
                    c => {
                        let mut b = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                    }
                }
            }
            out.push(b'"');
        }
        if !first {
            out.push(b'}');
        }
        out.push(b' ');
        write_value(&mut out, sample.v);
        out.extend_from_slice(format!(" {}\n", sample.t).as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_name_and_escapes() {
        let mut m = BTreeMap::new();
        let a = Labels::from_pairs(&[("__name__", "up"), ("job", "a\"\\\nb")]);
        let b = Labels::from_pairs(&[("__name__", "up"), ("Z", "1")]);
        let c = Labels::from_pairs(&[("__name__", "go_goroutines")]);
        for (l, v) in [(a, 1.0), (b, f64::INFINITY), (c, 1e300)] {
            let name = l.get(METRIC_NAME).unwrap().to_owned();
            m.insert((name, l), Sample::new(1000, v));
        }
        assert_eq!(
            String::from_utf8(render(&m)).unwrap(),
            concat!(
                "# TYPE go_goroutines untyped\n",
                "go_goroutines 1e300 1000\n",
                "# TYPE up untyped\n",
                "up{Z=\"1\"} +Inf 1000\n",
                "up{job=\"a\\\"\\\\\\nb\"} 1 1000\n",
            )
        );
    }
}
