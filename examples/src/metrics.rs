//! The server's own metrics at `/metrics`, in Prometheus text format, with
//! VictoriaMetrics' metric names where one exists (`vm_*`, `process_*`) and `gnomon_*`
//! for the rest.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gnomon_scrape::http::IngestCounters;
use gnomon_tsdb_core::storage::Stats;

/// Requests and error responses (4xx/5xx) per route.
#[derive(Debug, Default)]
pub struct HttpStats {
    by_path: Mutex<BTreeMap<String, (u64, u64)>>,
}

impl HttpStats {
    /// Counts one request of `path` and whether it failed.
    pub fn record(&self, path: &str, failed: bool) {
        let mut map = self.by_path.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.entry(path.to_owned()).or_default();
        e.0 += 1;
        e.1 += u64::from(failed);
    }

    /// Requests and errors per route, so far.
    pub fn snapshot(&self) -> BTreeMap<String, (u64, u64)> {
        self.by_path
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Middleware counting requests by route (the route pattern, so the label set stays
/// bounded; unrouted paths count as `unsupported`).
pub async fn count_requests(
    State(stats): State<Arc<HttpStats>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unsupported".to_owned(), |p| p.as_str().to_owned());
    let resp = next.run(req).await;
    let failed = resp.status().is_client_error() || resp.status().is_server_error();
    stats.record(&path, failed);
    resp
}

/// What `/metrics` reads, besides the storage.
pub struct MetricsSources {
    /// Rows accepted by the ingest handlers.
    pub ingest: Arc<IngestCounters>,
    /// Requests per route.
    pub http: Arc<HttpStats>,
    /// Process start, seconds since the Unix epoch.
    pub start_time_secs: f64,
}

/// The `/metrics` response.
pub fn response(stats: &Stats, src: &MetricsSources) -> Response {
    let mut r = (StatusCode::OK, render(stats, src, &ProcessStats::read())).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Process figures read from /proc.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessStats {
    /// Resident set size.
    pub resident_bytes: u64,
    /// User + system CPU time.
    pub cpu_seconds: f64,
    /// Open file descriptors.
    pub open_fds: u64,
}

impl ProcessStats {
    /// Reads /proc/self; zeros where it is unavailable.
    pub fn read() -> Self {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // SAFETY: sysconf has no preconditions; it only reads a system constant.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        // SAFETY: as above.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let (cpu_ticks, rss_pages) = parse_proc_stat(&stat).unwrap_or((0, 0));
        ProcessStats {
            resident_bytes: rss_pages * u64::try_from(page).unwrap_or(4096),
            cpu_seconds: cpu_ticks as f64 / ticks.max(1) as f64,
            open_fds: std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64),
        }
    }
}

impl ProcessStats {
    /// The `process_*` metrics and `vm_app_version` of the binary named `app`, started
    /// at `start_time_secs`.
    pub fn lines(&self, start_time_secs: f64, app: &str) -> Vec<(String, String)> {
        vec![
            (
                "process_resident_memory_bytes".into(),
                self.resident_bytes.to_string(),
            ),
            (
                "process_cpu_seconds_total".into(),
                self.cpu_seconds.to_string(),
            ),
            ("process_open_fds".into(), self.open_fds.to_string()),
            (
                "process_start_time_seconds".into(),
                format!("{start_time_secs:.0}"),
            ),
            (
                "process_cpu_cores_available".into(),
                std::thread::available_parallelism()
                    .map_or(1, |n| n.get())
                    .to_string(),
            ),
            (
                format!(
                    "vm_app_version{{version=\"{app}-v{v}\", short_version=\"v{v}\"}}",
                    v = env!("CARGO_PKG_VERSION")
                ),
                "1".into(),
            ),
        ]
    }
}

/// `(utime + stime, rss)` from /proc/self/stat; fields are counted after the `)` that
/// closes the command name, which may itself hold spaces.
fn parse_proc_stat(stat: &str) -> Option<(u64, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ")": state is field 3 of proc(5), so field N is at index N - 3.
    let utime: u64 = f.get(14 - 3)?.parse().ok()?;
    let stime: u64 = f.get(15 - 3)?.parse().ok()?;
    let rss: u64 = f.get(24 - 3)?.parse().ok()?;
    Some((utime + stime, rss))
}

/// Renders every metric, one `name{labels} value` line each, sorted by name.
pub fn render(s: &Stats, src: &MetricsSources, p: &ProcessStats) -> String {
    let ingest = &src.ingest;
    let mut lines: Vec<(String, String)> = Vec::new();
    let mut m = |name: &str, value: String| lines.push((name.to_owned(), value));
    let rows = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed).to_string();
    for p in gnomon_scrape::http::Protocol::ALL {
        m(
            &format!(r#"vm_rows_inserted_total{{type="{}"}}"#, p.type_label()),
            rows(ingest.rows(p)),
        );
    }
    m(
        "vm_relabel_metrics_dropped_total",
        rows(&ingest.relabel_dropped),
    );
    m(
        r#"vm_rows_invalid_total{type="import"}"#,
        rows(&ingest.bad_lines),
    );
    for (kind, rows, parts, blocks, merges) in [
        (
            "inmemory",
            s.inmemory_rows,
            s.inmemory_parts,
            s.inmemory_blocks,
            s.inmemory_merges_total,
        ),
        (
            "small",
            s.small_rows,
            s.small_parts,
            s.small_blocks,
            s.small_merges_total,
        ),
        (
            "big",
            s.big_rows,
            s.big_parts,
            s.big_blocks,
            s.big_merges_total,
        ),
    ] {
        m(
            &format!(r#"vm_rows{{type="storage/{kind}"}}"#),
            rows.to_string(),
        );
        m(
            &format!(r#"vm_parts{{type="storage/{kind}"}}"#),
            parts.to_string(),
        );
        m(
            &format!(r#"vm_blocks{{type="storage/{kind}"}}"#),
            blocks.to_string(),
        );
        m(
            &format!(r#"vm_merges_total{{type="storage/{kind}"}}"#),
            merges.to_string(),
        );
    }
    m(
        r#"vm_active_merges{type="storage"}"#,
        s.active_merges.to_string(),
    );
    m(
        r#"vm_pending_rows{type="storage"}"#,
        s.pending_rows.to_string(),
    );
    m(
        "vm_new_timeseries_created_total",
        s.new_series_total.to_string(),
    );
    m(
        "vm_too_small_timestamp_rows_total",
        s.rows_too_old_total.to_string(),
    );
    m(
        r#"vm_deduplicated_samples_total{type="merge"}"#,
        s.dedup_rows_removed_total.to_string(),
    );
    m(
        r#"vm_data_size_bytes{type="storage"}"#,
        s.data_bytes.to_string(),
    );
    m(
        r#"vm_data_size_bytes{type="indexdb"}"#,
        s.index_bytes.to_string(),
    );
    m(r#"vm_data_size_bytes{type="wal"}"#, s.wal_bytes.to_string());
    m(
        r#"vm_cache_entries{type="storage/tsid"}"#,
        s.series_cache_entries.to_string(),
    );
    m(
        r#"vm_cache_size_max{type="storage/tsid"}"#,
        s.series_cache_capacity.to_string(),
    );
    m(
        r#"vm_cache_requests_total{type="storage/tsid"}"#,
        (s.series_cache_hits_total + s.series_cache_misses_total).to_string(),
    );
    m(
        r#"vm_cache_misses_total{type="storage/tsid"}"#,
        s.series_cache_misses_total.to_string(),
    );
    m("gnomon_series", s.series.to_string());
    m("gnomon_active_series", s.active_series.to_string());
    m("gnomon_deleted_series", s.deleted_series.to_string());
    m(
        "gnomon_deleted_rows_purged_total",
        s.deleted_rows_purged_total.to_string(),
    );
    m("gnomon_partitions", s.partitions.to_string());
    m("gnomon_snapshots", s.snapshots.to_string());
    m("gnomon_selects_total", s.selects_total.to_string());
    let http = src.http.snapshot();
    for (path, (requests, errors)) in &http {
        let mut label = String::new();
        gnomon_promql::http::write_json_string(&mut label, path);
        m(
            &format!("vm_http_requests_total{{path={label}}}"),
            requests.to_string(),
        );
        m(
            &format!("vm_http_request_errors_total{{path={label}}}"),
            errors.to_string(),
        );
    }
    gnomon_promql::http::cache::metrics()
        .into_iter()
        .for_each(|(n, v)| m(&n, v.to_string()));
    lines.extend(p.lines(src.start_time_secs, "gnomon"));
    text(lines)
}

/// `name{labels} value` lines, sorted, as the `/metrics` body.
pub fn text(mut lines: Vec<(String, String)>) -> String {
    lines.sort();
    let mut out = String::new();
    for (name, value) in lines {
        let _ = writeln!(out, "{name} {value}");
    }
    out
}

/// Seconds since the Unix epoch, now.
pub fn unix_now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_fields_after_the_command_name() {
        let stat = "123 (my (odd) cmd) S 1 2 3 4 5 6 7 8 9 10 11 22 0 0 20 0 1 0 100 4096 77 rest";
        assert_eq!(parse_proc_stat(stat), Some((33, 77)));
        assert_eq!(parse_proc_stat("garbage"), None);
        assert!(ProcessStats::read().resident_bytes > 0);
    }

    #[test]
    fn renders_vm_names() {
        let src = MetricsSources {
            ingest: Arc::new(IngestCounters::default()),
            http: Arc::new(HttpStats::default()),
            start_time_secs: 1_700_000_000.0,
        };
        src.ingest.prometheus_rows.fetch_add(7, Ordering::Relaxed);
        src.http.record("/api/v1/import", false);
        src.http.record("/api/v1/import", true);
        let mut stats = Stats::default();
        stats.small_rows = 42;
        let text = render(&stats, &src, &ProcessStats::default());
        for want in [
            "vm_rows_inserted_total{type=\"prometheus\"} 7\n",
            "vm_rows{type=\"storage/small\"} 42\n",
            "vm_http_requests_total{path=\"/api/v1/import\"} 2\n",
            "vm_http_request_errors_total{path=\"/api/v1/import\"} 1\n",
            "process_start_time_seconds 1700000000\n",
            "vm_app_version{version=\"gnomon-v0.1.0\", short_version=\"v0.1.0\"} 1\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }
}
