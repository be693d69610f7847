//! The `gnomon` server assembled: storage, ingest/export routers (gnomon-scrape), read
//! API (gnomon-promql), admin and `/metrics`, basic auth, TLS, graceful shutdown.

use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use gnomon_scrape::http::{AppenderFactory, IngestCounters, IngestOptions};
use gnomon_tsdb_core::Storage;
use gnomon_tsdb_core::model::{Appender, Querier};

use crate::config::ServerConfig;
use crate::metrics::{HttpStats, MetricsSources};
use crate::{admin, auth, metrics, scraping, search, serve, ui};

/// Every endpoint of the server over `storage` plus the `extra` routes (scraping's),
/// with request counting and, when configured, basic auth.
pub fn app(storage: Storage, cfg: &ServerConfig, sources: MetricsSources, extra: Router) -> Router {
    let querier: Arc<dyn Querier> = Arc::new(storage.clone());
    let for_appenders = storage.clone();
    let appenders: AppenderFactory =
        Arc::new(move || Box::new(for_appenders.appender()) as Box<dyn Appender + Send>);
    let mut ingest_opts = IngestOptions {
        max_body_bytes: cfg.max_insert_bytes,
        ..IngestOptions::default()
    };
    cfg.push.apply(&mut ingest_opts);
    let http_stats = sources.http.clone();
    let sources = Arc::new(sources);
    let for_metrics = storage.clone();
    let mut cache = None;
    let mut app = Router::new()
        .merge(gnomon_scrape::http::ingest_router(
            appenders,
            sources.ingest.clone(),
            ingest_opts,
        ))
        .merge(gnomon_scrape::http::export_router(querier.clone()))
        .merge(gnomon_scrape::http::federate_router(
            querier.clone(),
            cfg.search.engine.lookback_delta,
        ))
        .merge(search::router(querier, cfg, &mut cache))
        .merge(gnomon_promql::http::status_router(Arc::new(
            storage.clone(),
        )))
        .merge(crate::rules::router(&storage, &cfg.rules, &cfg.listen_addr))
        .merge(search::reset_after(admin::router(storage), cache))
        .merge(ui::router())
        .merge(extra)
        .route(
            "/metrics",
            get(move || {
                let stats = for_metrics.stats();
                let sources = sources.clone();
                async move { metrics::response(&stats, &sources) }
            }),
        )
        .layer(from_fn_with_state(http_stats, metrics::count_requests));
    if let Some(a) = &cfg.auth {
        app = app.layer(from_fn_with_state(Arc::new(a.clone()), auth::require));
    }
    app
}

/// Opens the storage, serves until SIGINT/SIGTERM, then finishes in-flight requests and
/// closes the storage (flushing everything).
///
/// # Errors
/// The storage cannot be opened or closed, the TLS files cannot be loaded, the address
/// cannot be bound.
pub async fn run(cfg: ServerConfig) -> anyhow::Result<()> {
    let start_time_secs = metrics::unix_now_secs();
    crate::rules::check(&cfg.rules)?;
    // Bound first: a port in use or a bad TLS file fails before the storage opens.
    let bound = serve::Bound::bind(&cfg.listen_addr, cfg.tls.as_ref()).await?;
    let (path, opts) = (cfg.data_path.clone(), cfg.storage.clone());
    log::info!(
        "opening storage at {} (retention {:?}, dedup interval {:?}, cache budget {} bytes)",
        path.display(),
        opts.retention,
        opts.dedup_interval,
        opts.memory_budget
    );
    let storage = tokio::task::spawn_blocking(move || Storage::open(&path, opts))
        .await?
        .with_context(|| format!("cannot open storage at {}", cfg.data_path.display()))?;
    let sources = MetricsSources {
        ingest: Arc::new(IngestCounters::default()),
        http: Arc::new(HttpStats::default()),
        start_time_secs,
    };
    let for_scrapes = storage.clone();
    let scrape_appenders: AppenderFactory =
        Arc::new(move || Box::new(for_scrapes.appender()) as Box<dyn Appender + Send>);
    crate::listeners::start(
        &cfg.push,
        cfg.max_insert_bytes,
        scrape_appenders.clone(),
        sources.ingest.clone(),
    )
    .await?;
    let scraping = scraping::Scraping::start(cfg.scrape.clone(), scrape_appenders)
        .await
        .context("cannot load -promscrape.config")?;
    bound
        .serve_until_signal(app(storage.clone(), &cfg, sources, scraping.router()))
        .await;
    scraping.stop().await;
    log::info!("closing storage at {}", cfg.data_path.display());
    tokio::task::spawn_blocking(move || storage.close())
        .await?
        .context("cannot close storage")?;
    log::info!("storage closed; bye");
    Ok(())
}
