//! `http_sd_configs`: a URL returning a JSON list of target groups, fetched every
//! refresh interval. A failed fetch keeps the last good targets (logged).

use std::time::Duration;

use super::manager::Publisher;
use super::{DiscoveryError, TargetGroup};
use crate::client::{ClientOptions, apply_auth, build_client};
use crate::config::HttpSdConfig;

/// `__meta_url`: the URL a target was fetched from.
pub const URL_LABEL: &str = "__meta_url";

/// Fetches and parses the target groups at `cfg.url` once.
///
/// # Errors
/// [`DiscoveryError::Client`] when the client cannot be built or authenticated,
/// [`DiscoveryError::Http`] for transport errors, [`DiscoveryError::Status`] for a
/// status other than 200, [`DiscoveryError::Parse`] for a body that is not a list of
/// groups.
pub(crate) async fn fetch(
    client: &reqwest::Client,
    cfg: &HttpSdConfig,
    refresh: Duration,
) -> Result<Vec<TargetGroup>, DiscoveryError> {
    let http_err = |source| DiscoveryError::Http {
        url: cfg.url.clone(),
        source,
    };
    let req = client
        .get(&cfg.url)
        .header("Accept", "application/json")
        .header(
            "X-Prometheus-Refresh-Interval-Seconds",
            refresh.as_secs().to_string(),
        );
    let resp = apply_auth(req, &cfg.http_client())?
        .send()
        .await
        .map_err(http_err)?;
    if resp.status() != reqwest::StatusCode::OK {
        return Err(DiscoveryError::Status {
            url: cfg.url.clone(),
            status: resp.status().as_u16(),
        });
    }
    let body = resp.bytes().await.map_err(http_err)?;
    let mut groups = super::file_sd::parse_target_groups(&body, true, &cfg.url)?;
    for g in &mut groups {
        g.labels.remove(super::file_sd::FILEPATH_LABEL);
        g.labels.insert(URL_LABEL.to_owned(), cfg.url.clone());
    }
    Ok(groups)
}

/// Fetches every `every` and publishes each successful result.
pub(crate) async fn run(cfg: HttpSdConfig, every: Duration, timeout: Duration, out: Publisher) {
    let opts = ClientOptions {
        timeout: Some(timeout),
        ..ClientOptions::default()
    };
    let client = match build_client(&cfg.http_client(), &opts) {
        Ok(c) => c,
        Err(e) => {
            log::error!("http_sd {}: {e}", cfg.url);
            return;
        }
    };
    let mut ticker = tokio::time::interval(every.max(Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: Option<Vec<TargetGroup>> = None;
    loop {
        ticker.tick().await;
        match fetch(&client, &cfg, every).await {
            Ok(groups) => {
                // Unchanged answers are not republished.
                if last.as_ref() != Some(&groups) {
                    last = Some(groups.clone());
                    if !out.publish(groups) {
                        return;
                    }
                }
            }
            Err(e) => log::warn!("http_sd: {e}; keeping the previous targets"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::get;

    use super::*;
    use crate::discovery::LabelSet;

    /// Serves a different answer on each request: a list, an error, a new list.
    async fn serve() -> (String, tokio::task::JoinHandle<()>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let app = Router::new().route(
            "/sd",
            get(move |headers: HeaderMap| {
                let n = hits.fetch_add(1, Ordering::SeqCst);
                async move {
                    if headers.get("authorization").and_then(|v| v.to_str().ok())
                        != Some("Bearer s3cret")
                    {
                        return (StatusCode::UNAUTHORIZED, String::new());
                    }
                    let body = match n {
                        0 => r#"[{"targets": ["10.0.0.1:9100"], "labels": {"dc": "a"}}]"#,
                        1 => return (StatusCode::INTERNAL_SERVER_ERROR, "boom".to_owned()),
                        _ => r#"[{"targets": ["10.0.0.2:9100", "10.0.0.3:9100"]}]"#,
                    };
                    (StatusCode::OK, body.to_owned())
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/sd", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (url, task)
    }

    #[tokio::test]
    async fn fetches_and_keeps_last_good_targets() {
        let (url, server) = serve().await;
        let cfg: HttpSdConfig = serde_yaml_ng::from_str(&format!(
            "url: '{url}'\nauthorization: {{credentials: s3cret}}"
        ))
        .unwrap();
        let (p, mut rx) = Publisher::for_test();
        let task = tokio::spawn(run(
            cfg.clone(),
            Duration::from_millis(30),
            Duration::from_secs(5),
            p,
        ));
        let first = rx.recv().await.unwrap().1;
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].source, format!("{url}:0"));
        assert_eq!(
            first[0].labels,
            LabelSet::from([
                ("__meta_url".into(), url.clone()),
                ("dc".into(), "a".into())
            ])
        );
        // The 500 in between publishes nothing; the next list replaces the first.
        let second = rx.recv().await.unwrap().1;
        let addrs: Vec<&str> = second[0]
            .targets
            .iter()
            .map(|t| t["__address__"].as_str())
            .collect();
        assert_eq!(addrs, ["10.0.0.2:9100", "10.0.0.3:9100"]);
        task.abort();

        let mut unauth = cfg;
        unauth.authorization = None;
        let client = reqwest::Client::new();
        match fetch(&client, &unauth, Duration::from_secs(1)).await {
            Err(DiscoveryError::Status { status: 401, .. }) => {}
            other => panic!("{other:?}"),
        }
        server.abort();
    }
}
