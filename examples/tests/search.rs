//! The `-search.*` flags and the result cache through the `gnomon` binary: limits give
//! Prometheus' error envelopes, repeated range queries hit the cache (counted in
//! `/metrics`), `-search.disableCache` and series deletion are honoured.

mod common;

use common::{Server, data_dir, enc, tempdir};

/// Two series over ten minutes of 2024-01-01 (settled long ago: cacheable).
fn load(srv: &Server) {
    let mut body = String::new();
    for k in 0..=40i64 {
        let t = 1_704_067_200_000 + k * 15_000;
        body.push_str(&format!("c{{host=\"a\"}} {} {t}\n", 10 * k));
        body.push_str(&format!("c{{host=\"b\"}} {} {t}\n", 20 * k));
    }
    let r = srv.post("/api/v1/import/prometheus", body.as_bytes());
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(srv.get("/internal/force_flush").status, 200);
}

fn range(srv: &Server, q: &str) -> common::Response {
    srv.get(&format!(
        "/api/v1/query_range?query={}&start=1704067200&end=1704067800&step=60",
        enc(q)
    ))
}

fn metric(srv: &Server, name: &str) -> f64 {
    let text = srv.get("/metrics").text();
    let line = text
        .lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"));
    line[name.len() + 1..].parse().unwrap()
}

#[test]
fn limits_from_flags_give_prometheus_errors() {
    let dir = tempdir();
    let srv = Server::start(
        &data_dir(&dir),
        &[
            "-retentionPeriod=100y",
            "-search.maxUniqueTimeseries=1",
            "-search.maxPointsPerTimeseries=5",
        ],
    );
    load(&srv);
    let r = range(&srv, "c");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("exceeded maximum resolution of 5 points"),
        "{}",
        r.text()
    );
    let r = srv.get(&format!(
        "/api/v1/query?query={}&time=1704067800",
        enc("sum(rate(c[5m]))")
    ));
    assert_eq!(r.status, 422, "{}", r.text());
    let v = r.json();
    assert_eq!(v["errorType"], "execution");
    assert_eq!(v["error"], "the query selects more than 1 series");
    let r = srv.get(&format!(
        "/api/v1/query?query={}&time=1704067800",
        enc("c{host=\"a\"}")
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"]["result"][0]["value"][1], "400");
}

#[test]
fn repeated_range_queries_hit_the_cache_until_series_are_deleted() {
    let dir = tempdir();
    let srv = Server::start(&data_dir(&dir), &["-retentionPeriod=100y"]);
    load(&srv);
    let q = "sum by (host) (rate(c[2m]))";
    let first = range(&srv, q);
    assert_eq!(first.status, 200, "{}", first.text());
    let second = range(&srv, q);
    assert_eq!(second.text(), first.text());
    assert_eq!(metric(&srv, "vm_rollup_result_cache_miss_total"), 1.0);
    assert_eq!(metric(&srv, "vm_rollup_result_cache_full_hits_total"), 1.0);
    let nocache = srv.get(&format!(
        "/api/v1/query_range?query={}&start=1704067200&end=1704067800&step=60&nocache=1",
        enc(q)
    ));
    assert_eq!(nocache.text(), first.text());
    assert_eq!(metric(&srv, "vm_rollup_result_cache_full_hits_total"), 1.0);
    let r = srv.get(&format!(
        "/api/v1/admin/tsdb/delete_series?match[]={}",
        enc("c{host=\"a\"}")
    ));
    assert_eq!(r.status, 204, "{}", r.text());
    let after = range(&srv, q).json();
    let result = after["data"]["result"].as_array().unwrap().clone();
    assert_eq!(result.len(), 1, "{after}");
    assert_eq!(result[0]["metric"]["host"], "b");
    assert_eq!(metric(&srv, "vm_rollup_result_cache_miss_total"), 2.0);
}

#[test]
fn disable_cache_evaluates_every_request() {
    let dir = tempdir();
    let srv = Server::start(
        &data_dir(&dir),
        &["-retentionPeriod=100y", "-search.disableCache"],
    );
    load(&srv);
    for _ in 0..2 {
        assert_eq!(range(&srv, "c").status, 200);
    }
    assert_eq!(metric(&srv, "vm_rollup_result_cache_miss_total"), 0.0);
    assert_eq!(metric(&srv, "vm_rollup_result_cache_full_hits_total"), 0.0);
}
