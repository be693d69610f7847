//! The `-search.*` flags: query limits for the engine and the range-query result cache.
//!
//! | flag | default | what Gnomon does |
//! |---|---|---|
//! | `-search.maxQueryDuration` | 30s | the engine's timeout (503 `timeout`); a request's `timeout` may only lower it |
//! | `-search.maxSamplesPerQuery` | 1e9 | samples a query may read (422 `execution`) |
//! | `-search.maxUniqueTimeseries` | 300000 | series one selector may return (422) |
//! | `-search.maxSeries` | 0 | when positive, used instead of `-search.maxUniqueTimeseries` |
//! | `-search.maxPointsPerTimeseries` | 30000 | steps of a range query (400 `bad_data`) |
//! | `-search.maxStalenessInterval` | 0 (5m) | the lookback of instant selectors |
//! | `-search.latencyOffset` | 30s | accepted; not applied (see below) |
//! | `-search.maxMemoryPerQuery` | 0 (none) | bytes of intermediate state per query (422) |
//! | `-search.cacheTimestampOffset` | 5m | results newer than now minus this are not cached |
//! | `-search.disableCache` | false | no result cache |
//!
//! `-search.latencyOffset`: VictoriaMetrics moves instant queries near "now" back by
//! this offset and drops the last points of range queries, because its ingestion makes
//! samples searchable with a delay. Gnomon's samples are searchable once committed, so
//! it evaluates at the requested times, as Prometheus does; the flag is accepted so that
//! VictoriaMetrics command lines work.
//!
//! The result cache takes one eighth of the storage's memory budget
//! (`-memory.allowedPercent`), as VictoriaMetrics sizes its rollup result cache from
//! its allowed memory; it is emptied after every admin request (series deletion).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware::map_response;
use axum::response::Response;
use gnomon_promql::engine::EngineOptions;
use gnomon_promql::http::QueryConfig;
use gnomon_promql::http::cache::{CacheOptions, ResultCache};
use gnomon_tsdb_core::model::Querier;

use crate::config::ServerConfig;
use crate::flags::Flags;

/// Share of the storage memory budget the result cache may use.
const CACHE_SHARE_OF_BUDGET: u64 = 8;

/// The query settings from the `-search.*` flags.
#[derive(Clone, Debug)]
pub struct SearchConfig {
    /// The engine's limits.
    pub engine: EngineOptions,
    /// `-search.cacheTimestampOffset`.
    pub cache_timestamp_offset: Duration,
    /// `-search.latencyOffset` (accepted, not applied).
    pub latency_offset: Duration,
}

impl SearchConfig {
    /// Reads the `-search.*` flags (validated at parse time).
    pub fn from_flags(f: &Flags) -> SearchConfig {
        let count = |name: &str| usize::try_from(f.size(name)).unwrap_or(usize::MAX);
        let staleness = f.duration("search.maxStalenessInterval");
        let max_series = match count("search.maxSeries") {
            0 => count("search.maxUniqueTimeseries"),
            n => n,
        };
        SearchConfig {
            engine: EngineOptions {
                lookback_delta: if staleness.is_zero() {
                    Duration::from_secs(300)
                } else {
                    staleness
                },
                max_samples: count("search.maxSamplesPerQuery"),
                max_series,
                max_points_per_series: count("search.maxPointsPerTimeseries"),
                timeout: Some(f.duration("search.maxQueryDuration")),
                max_memory_per_query: count("search.maxMemoryPerQuery"),
                ..EngineOptions::default()
            },
            cache_timestamp_offset: f.duration("search.cacheTimestampOffset"),
            latency_offset: f.duration("search.latencyOffset"),
        }
    }

    /// The query endpoints' settings; a result cache unless `disable_cache`, sized from
    /// the storage's memory budget.
    pub fn query_config(&self, disable_cache: bool, memory_budget: u64) -> QueryConfig {
        let cache = (!disable_cache).then(|| {
            Arc::new(ResultCache::new(CacheOptions {
                max_bytes: usize::try_from(memory_budget / CACHE_SHARE_OF_BUDGET)
                    .unwrap_or(usize::MAX),
                timestamp_offset: self.cache_timestamp_offset,
            }))
        });
        QueryConfig {
            engine: self.engine.clone(),
            cache,
        }
    }
}

/// The promql read and query router for `cfg`; stores the result cache in `cache`.
pub fn router(
    querier: Arc<dyn Querier>,
    cfg: &ServerConfig,
    cache: &mut Option<Arc<ResultCache>>,
) -> Router {
    let qc = cfg
        .search
        .query_config(cfg.disable_cache, cfg.storage.memory_budget);
    cache.clone_from(&qc.cache);
    gnomon_promql::http::router_with(querier, qc)
}

/// `router` with the result cache emptied after each of its responses (the admin
/// router: a deletion must not be hidden by cached results).
pub fn reset_after(router: Router, cache: Option<Arc<ResultCache>>) -> Router {
    let Some(cache) = cache else {
        return router;
    };
    router.layer(map_response(move |r: Response| {
        cache.reset();
        async move { r }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SERVER_FLAGS;
    use crate::flags::parse;

    fn search(args: &[&str]) -> SearchConfig {
        let f = parse(SERVER_FLAGS, args.iter().map(|s| s.to_string())).unwrap();
        SearchConfig::from_flags(&f)
    }

    #[test]
    fn defaults_match_victoriametrics() {
        let s = search(&[]);
        assert_eq!(s.engine.timeout, Some(Duration::from_secs(30)));
        assert_eq!(s.engine.max_samples, 1_000_000_000);
        assert_eq!(s.engine.max_series, 300_000);
        assert_eq!(s.engine.max_points_per_series, 30_000);
        assert_eq!(s.engine.lookback_delta, Duration::from_secs(300));
        assert_eq!(s.engine.max_memory_per_query, 0);
        assert_eq!(s.cache_timestamp_offset, Duration::from_secs(300));
        assert_eq!(s.latency_offset, Duration::from_secs(30));
    }

    #[test]
    fn flags_reach_the_engine_options() {
        let s = search(&[
            "-search.maxQueryDuration=5s",
            "-search.maxSamplesPerQuery=1000",
            "-search.maxUniqueTimeseries=10",
            "-search.maxPointsPerTimeseries=500",
            "-search.maxStalenessInterval=1m",
            "-search.maxMemoryPerQuery=64MB",
            "-search.cacheTimestampOffset=1m",
        ]);
        assert_eq!(s.engine.timeout, Some(Duration::from_secs(5)));
        assert_eq!(s.engine.max_samples, 1000);
        assert_eq!(s.engine.max_series, 10);
        assert_eq!(s.engine.max_points_per_series, 500);
        assert_eq!(s.engine.lookback_delta, Duration::from_secs(60));
        assert_eq!(s.engine.max_memory_per_query, 64_000_000);
        assert_eq!(s.cache_timestamp_offset, Duration::from_secs(60));
        assert_eq!(search(&["-search.maxSeries=7"]).engine.max_series, 7);
    }

    #[test]
    fn disable_cache_leaves_no_cache_and_the_budget_sizes_it() {
        let s = search(&[]);
        assert!(s.query_config(true, 1 << 30).cache.is_none());
        let c = s.query_config(false, 1 << 30).cache.unwrap();
        assert_eq!(c.options().max_bytes, 1 << 27);
        assert_eq!(c.options().timestamp_offset, Duration::from_secs(300));
    }
}
