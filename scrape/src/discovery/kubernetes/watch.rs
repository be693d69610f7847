//! LIST then WATCH of one resource in one namespace, applied to the shared cache.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::objects::{
    EndpointSlice, Endpoints, Ingress, Node, Object, ObjectList, Pod, Service, WatchEvent,
};
use super::{Cache, Resource, Shared};
use crate::client::apply_auth;
use crate::config::KubernetesSelector;
use crate::discovery::DiscoveryError;

/// Where a cache keeps objects of type `T`.
type Slot<T> = fn(&mut Cache) -> &mut BTreeMap<String, T>;

/// Runs the list/watch loop of `res` in `ns` (all namespaces when `None`) forever.
pub(crate) async fn run(
    shared: Arc<Shared>,
    res: Resource,
    ns: Option<String>,
    selector: Option<KubernetesSelector>,
) {
    let w = Watcher {
        url: res.url(&shared.api_server, ns.as_deref()),
        shared,
        ns,
        selector,
    };
    match res {
        Resource::Pods => w.run::<Pod>(|c| &mut c.pods).await,
        Resource::Nodes => w.run::<Node>(|c| &mut c.nodes).await,
        Resource::Services => w.run::<Service>(|c| &mut c.services).await,
        Resource::Endpoints => w.run::<Endpoints>(|c| &mut c.endpoints).await,
        Resource::EndpointSlices => w.run::<EndpointSlice>(|c| &mut c.slices).await,
        Resource::Ingresses => w.run::<Ingress>(|c| &mut c.ingresses).await,
    }
}

/// How a watch request ended.
enum WatchEnd {
    /// The server closed the stream (timeout): watch again from this version.
    Closed(String),
    /// `410 Gone`: the version is too old; list again.
    Gone,
    /// A transport or protocol error: back off, then watch again from this version.
    Failed(DiscoveryError, String),
}

struct Watcher {
    shared: Arc<Shared>,
    url: String,
    ns: Option<String>,
    selector: Option<KubernetesSelector>,
}

impl Watcher {
    async fn run<T: Object>(&self, slot: Slot<T>) {
        let opts = &self.shared.opts;
        let mut backoff = opts.min_backoff;
        let mut synced = false;
        let mut version: Option<String> = None;
        loop {
            let rv = match version.take() {
                Some(rv) => rv,
                None => match self.list::<T>(slot).await {
                    Ok(rv) => {
                        if !synced {
                            synced = true;
                            self.shared.unsynced.fetch_sub(1, Ordering::AcqRel);
                        }
                        self.shared.changed.notify_one();
                        backoff = opts.min_backoff;
                        rv
                    }
                    Err(e) => {
                        log::warn!("kubernetes_sd: list failed: {e}");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(opts.max_backoff);
                        continue;
                    }
                },
            };
            match self.watch::<T>(slot, rv).await {
                WatchEnd::Closed(rv) => {
                    backoff = opts.min_backoff;
                    version = Some(rv);
                }
                WatchEnd::Gone => {
                    log::info!(
                        "kubernetes_sd: {}: resource version too old, listing again",
                        self.url
                    );
                }
                WatchEnd::Failed(e, rv) => {
                    log::warn!("kubernetes_sd: watch failed: {e}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(opts.max_backoff);
                    version = Some(rv);
                }
            }
        }
    }

    fn request(&self, extra: &[(&str, String)]) -> Result<reqwest::RequestBuilder, DiscoveryError> {
        let mut query: Vec<(&str, String)> = extra.to_vec();
        if let Some(s) = &self.selector {
            if let Some(l) = &s.label {
                query.push(("labelSelector", l.clone()));
            }
            if let Some(f) = &s.field {
                query.push(("fieldSelector", f.clone()));
            }
        }
        let req = self
            .shared
            .client
            .get(&self.url)
            .query(&query)
            .header("Accept", "application/json");
        Ok(apply_auth(req, &self.shared.http)?)
    }

    fn error(&self, message: impl Into<String>) -> DiscoveryError {
        DiscoveryError::Kubernetes {
            url: self.url.clone(),
            message: message.into(),
        }
    }

    /// Lists the objects, replaces this watcher's share of the cache, returns the list's
    /// resource version.
    async fn list<T: Object>(&self, slot: Slot<T>) -> Result<String, DiscoveryError> {
        let http = |source| DiscoveryError::Http {
            url: self.url.clone(),
            source,
        };
        let resp = self.request(&[])?.send().await.map_err(http)?;
        if !resp.status().is_success() {
            return Err(DiscoveryError::Status {
                url: self.url.clone(),
                status: resp.status().as_u16(),
            });
        }
        let body = resp.bytes().await.map_err(http)?;
        let list: ObjectList<T> =
            serde_json::from_slice(&body).map_err(|e| self.error(format!("bad list: {e}")))?;
        let mut cache = self.shared.cache.lock().unwrap_or_else(|e| e.into_inner());
        let map = slot(&mut cache);
        let prefix = self.ns.as_ref().map(|ns| format!("{ns}/"));
        map.retain(|k, _| prefix.as_ref().is_some_and(|p| !k.starts_with(p.as_str())));
        for item in list.items {
            map.insert(item.meta().key(), item);
        }
        Ok(list.metadata.resource_version)
    }

    /// Watches from `rv` until the stream ends, applying events to the cache.
    async fn watch<T: Object>(&self, slot: Slot<T>, mut rv: String) -> WatchEnd {
        let timeout = self.shared.opts.watch_timeout.as_secs().max(1).to_string();
        let req = match self.request(&[
            ("watch", "1".to_owned()),
            ("resourceVersion", rv.clone()),
            ("allowWatchBookmarks", "true".to_owned()),
            ("timeoutSeconds", timeout),
        ]) {
            Ok(r) => r,
            Err(e) => return WatchEnd::Failed(e, rv),
        };
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(source) => {
                let url = self.url.clone();
                return WatchEnd::Failed(DiscoveryError::Http { url, source }, rv);
            }
        };
        if resp.status() == reqwest::StatusCode::GONE {
            return WatchEnd::Gone;
        }
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let url = self.url.clone();
            return WatchEnd::Failed(DiscoveryError::Status { url, status }, rv);
        }
        let mut buf: Vec<u8> = Vec::new();
        loop {
            let chunk = match resp.chunk().await {
                Ok(Some(c)) => c,
                Ok(None) => return WatchEnd::Closed(rv),
                Err(source) => {
                    let url = self.url.clone();
                    return WatchEnd::Failed(DiscoveryError::Http { url, source }, rv);
                }
            };
            buf.extend_from_slice(&chunk);
            while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buf.drain(..=nl).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match self.apply::<T>(slot, &line, &mut rv) {
                    Ok(()) => {}
                    Err(end) => return end,
                }
            }
        }
    }

    /// Applies one watch event line.
    fn apply<T: Object>(
        &self,
        slot: Slot<T>,
        line: &[u8],
        rv: &mut String,
    ) -> Result<(), WatchEnd> {
        let ev: WatchEvent = serde_json::from_slice(line).map_err(|e| {
            WatchEnd::Failed(self.error(format!("bad watch event: {e}")), rv.clone())
        })?;
        match ev.kind.as_str() {
            "ADDED" | "MODIFIED" | "DELETED" => {
                let obj: T = serde_json::from_value(ev.object).map_err(|e| {
                    WatchEnd::Failed(
                        self.error(format!("bad {} object: {e}", ev.kind)),
                        rv.clone(),
                    )
                })?;
                let meta = obj.meta();
                if !meta.resource_version.is_empty() {
                    *rv = meta.resource_version.clone();
                }
                let key = meta.key();
                {
                    let mut cache = self.shared.cache.lock().unwrap_or_else(|e| e.into_inner());
                    let map = slot(&mut cache);
                    if ev.kind == "DELETED" {
                        map.remove(&key);
                    } else {
                        map.insert(key, obj);
                    }
                }
                self.shared.changed.notify_one();
                Ok(())
            }
            "BOOKMARK" => {
                if let Some(v) = ev.object["metadata"]["resourceVersion"].as_str() {
                    *rv = v.to_owned();
                }
                Ok(())
            }
            "ERROR" => {
                if ev.object["code"].as_u64() == Some(410) {
                    Err(WatchEnd::Gone)
                } else {
                    let msg = ev.object["message"].as_str().unwrap_or("").to_owned();
                    Err(WatchEnd::Failed(
                        self.error(format!("watch error: {msg}")),
                        rv.clone(),
                    ))
                }
            }
            other => Err(WatchEnd::Failed(
                self.error(format!("unknown watch event type {other:?}")),
                rv.clone(),
            )),
        }
    }
}
