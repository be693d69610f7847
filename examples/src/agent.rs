//! `gnomon-agent` assembled: scraping and the push endpoints write through the
//! remote-write client ([`gnomon_scrape::remote`]) instead of a storage; `/metrics`
//! shows vmagent's metric names.

use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gnomon_scrape::http::{IngestCounters, IngestOptions, Protocol};
use gnomon_scrape::remote::{RemoteWriter, get as counter};

use crate::agent_config::AgentConfig;
use crate::metrics::{HttpStats, ProcessStats};
use crate::{auth, metrics, scraping, serve};

/// What the agent's `/metrics` reads.
pub struct AgentSources {
    /// The remote-write client.
    pub writer: Arc<RemoteWriter>,
    /// Rows accepted by the push handlers.
    pub ingest: Arc<IngestCounters>,
    /// Requests per route.
    pub http: Arc<HttpStats>,
    /// Process start, seconds since the Unix epoch.
    pub start_time_secs: f64,
    /// `-remoteWrite.showURL`.
    pub show_url: bool,
}

/// Starts the remote-write client, the push listeners and scraping, serves until
/// SIGINT/SIGTERM, then stops scraping and closes the queues (pending samples are kept
/// on disk for the next start).
///
/// # Errors
/// A queue directory cannot be opened, the scrape config is not valid, the TLS files
/// cannot be loaded, or an address cannot be bound.
pub async fn run(cfg: AgentConfig) -> anyhow::Result<()> {
    let start_time_secs = metrics::unix_now_secs();
    let bound = serve::Bound::bind(&cfg.listen_addr, cfg.tls.as_ref()).await?;
    let writer = RemoteWriter::start(cfg.remote.clone()).context("cannot start remote write")?;
    for d in writer.destinations() {
        log::info!(
            "remote write {} ({} queues, queue at {}, {} blocks pending)",
            if cfg.show_url { d.url } else { d.label },
            d.queues,
            d.queue_path.display(),
            d.queue.pending_blocks
        );
    }
    let appenders = writer.appender_factory();
    let ingest = Arc::new(IngestCounters::default());
    crate::listeners::start(
        &cfg.push,
        cfg.max_insert_bytes,
        appenders.clone(),
        ingest.clone(),
    )
    .await?;
    let scraping = scraping::Scraping::start(cfg.scrape.clone(), appenders.clone())
        .await
        .context("cannot load -promscrape.config")?;
    let sources = Arc::new(AgentSources {
        writer: writer.clone(),
        ingest: ingest.clone(),
        http: Arc::new(HttpStats::default()),
        start_time_secs,
        show_url: cfg.show_url,
    });
    bound
        .serve_until_signal(app(&cfg, appenders, sources, scraping.router()))
        .await;
    scraping.stop().await;
    log::info!("stopping remote write; pending data stays queued on disk");
    writer
        .stop()
        .await
        .context("cannot close the remote write queues")?;
    for d in writer.destinations() {
        log::info!(
            "remote write {}: queued {} samples, sent {} blocks, pending {} bytes",
            if cfg.show_url { d.url } else { d.label },
            counter(&d.stats.rows_pushed_after_relabel),
            counter(&d.stats.blocks_sent),
            d.queue.pending_bytes
        );
    }
    log::info!("bye");
    Ok(())
}

/// The agent's endpoints: push, targets and reload (in `extra`), `/metrics`, `/health`.
pub fn app(
    cfg: &AgentConfig,
    appenders: gnomon_scrape::http::AppenderFactory,
    sources: Arc<AgentSources>,
    extra: Router,
) -> Router {
    let mut ingest_opts = IngestOptions {
        max_body_bytes: cfg.max_insert_bytes,
        ..IngestOptions::default()
    };
    cfg.push.apply(&mut ingest_opts);
    let http_stats = sources.http.clone();
    let mut app = Router::new()
        .merge(gnomon_scrape::http::ingest_router(
            appenders,
            sources.ingest.clone(),
            ingest_opts,
        ))
        .merge(extra)
        .route("/health", get(|| async { "OK" }))
        .route(
            "/metrics",
            get(move || {
                let s = sources.clone();
                async move { metrics_response(&s) }
            }),
        )
        .layer(from_fn_with_state(http_stats, metrics::count_requests));
    if let Some(a) = &cfg.auth {
        app = app.layer(from_fn_with_state(Arc::new(a.clone()), auth::require));
    }
    app
}

fn metrics_response(s: &AgentSources) -> Response {
    let mut r = (StatusCode::OK, render(s, &ProcessStats::read())).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Quotes a label value.
fn q(v: &str) -> String {
    let mut out = String::new();
    gnomon_promql::http::write_json_string(&mut out, v);
    out
}

/// Every metric of the agent, sorted, one `name{labels} value` line each.
pub fn render(s: &AgentSources, p: &ProcessStats) -> String {
    let mut lines: Vec<(String, String)> = Vec::new();
    let mut m = |name: String, value: String| lines.push((name, value));
    for proto in Protocol::ALL {
        m(
            format!(
                "vmagent_rows_inserted_total{{type={}}}",
                q(proto.type_label())
            ),
            counter(s.ingest.rows(proto)).to_string(),
        );
    }
    m(
        "vm_relabel_metrics_dropped_total".into(),
        counter(&s.ingest.relabel_dropped).to_string(),
    );
    for (path, (requests, errors)) in s.http.snapshot() {
        m(
            format!("vmagent_http_requests_total{{path={}}}", q(&path)),
            requests.to_string(),
        );
        m(
            format!("vmagent_http_request_errors_total{{path={}}}", q(&path)),
            errors.to_string(),
        );
    }
    let g = s.writer.global_stats();
    for (name, c) in [
        (
            "vmagent_remotewrite_global_rows_pushed_before_relabel_total",
            &g.rows_pushed_before_relabel,
        ),
        (
            "vmagent_remotewrite_global_relabel_metrics_dropped_total",
            &g.relabel_dropped,
        ),
        ("vmagent_remotewrite_block_size_rows_count", &g.blocks),
        ("vmagent_remotewrite_block_size_rows_sum", &g.block_rows),
        ("vmagent_remotewrite_block_size_bytes_count", &g.blocks),
        ("vmagent_remotewrite_block_size_bytes_sum", &g.block_bytes),
    ] {
        m(name.into(), counter(c).to_string());
    }
    for d in s.writer.destinations() {
        let url = q(if s.show_url { d.url } else { d.label });
        let path = q(&d.queue_path.to_string_lossy());
        let st = d.stats;
        for (name, c) in [
            ("vmagent_remotewrite_blocks_sent_total", &st.blocks_sent),
            ("vmagent_remotewrite_bytes_sent_total", &st.bytes_sent),
            ("vmagent_remotewrite_errors_total", &st.errors),
            ("vmagent_remotewrite_retries_count_total", &st.retries),
            (
                "vmagent_remotewrite_packets_dropped_total",
                &st.packets_dropped,
            ),
        ] {
            m(format!("{name}{{url={url}}}"), counter(c).to_string());
        }
        for (class, c) in [
            ("2XX", &st.requests_2xx),
            ("4XX", &st.requests_4xx),
            ("5XX", &st.requests_5xx),
        ] {
            m(
                format!("vmagent_remotewrite_requests_total{{url={url}, status_code=\"{class}\"}}"),
                counter(c).to_string(),
            );
        }
        m(
            format!("vmagent_remotewrite_send_duration_seconds_total{{url={url}}}"),
            format!("{:.6}", counter(&st.send_nanos) as f64 / 1e9),
        );
        m(
            format!("vmagent_remotewrite_queues{{url={url}}}"),
            d.queues.to_string(),
        );
        m(
            format!("vmagent_remotewrite_pending_data_bytes{{path={path}, url={url}}}"),
            d.queue.pending_bytes.to_string(),
        );
        m(
            format!(
                "vmagent_remotewrite_rows_pushed_after_relabel_total{{path={path}, url={url}}}"
            ),
            counter(&st.rows_pushed_after_relabel).to_string(),
        );
        m(
            format!("vmagent_remotewrite_relabel_metrics_dropped_total{{path={path}, url={url}}}"),
            counter(&st.relabel_dropped).to_string(),
        );
        let qs = &d.queue;
        for (name, v) in [
            ("vm_persistentqueue_bytes_pending", qs.pending_bytes),
            ("vm_persistentqueue_blocks_pending", qs.pending_blocks),
            ("vm_persistentqueue_blocks_written_total", qs.written_blocks),
            ("vm_persistentqueue_bytes_written_total", qs.written_bytes),
            ("vm_persistentqueue_blocks_dropped_total", qs.dropped_blocks),
            ("vm_persistentqueue_bytes_dropped_total", qs.dropped_bytes),
            (
                "vm_persistentqueue_blocks_corrupted_total",
                qs.corrupt_blocks,
            ),
        ] {
            m(format!("{name}{{path={path}}}"), v.to_string());
        }
    }
    lines.extend(p.lines(s.start_time_secs, "gnomon-agent"));
    metrics::text(lines)
}
