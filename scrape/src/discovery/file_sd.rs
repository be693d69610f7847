//! `file_sd_configs`: JSON or YAML files of target groups, polled for changes.
//!
//! Every check interval the patterns are expanded again and each file whose
//! modification time or size changed is re-read. A file that fails to parse keeps its
//! last good groups (logged); a file that disappears loses its groups.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::manager::Publisher;
use super::static_sd::group_of;
use super::{DiscoveryError, TargetGroup};
use crate::config::{FileSdConfig, StaticConfig};

/// `__meta_filepath`: the file a target was read from.
pub const FILEPATH_LABEL: &str = "__meta_filepath";

/// Parses a file SD document (a list of `{targets, labels}`): JSON when `json`, else
/// YAML. Groups are sourced `SOURCE:INDEX` and labelled `__meta_filepath=SOURCE`.
///
/// # Errors
/// [`DiscoveryError::Parse`] naming `source` for a document that is not such a list.
pub fn parse_target_groups(
    bytes: &[u8],
    json: bool,
    source: &str,
) -> Result<Vec<TargetGroup>, DiscoveryError> {
    let parse_err = |message: String| DiscoveryError::Parse {
        source_name: source.to_owned(),
        message,
    };
    let configs: Vec<StaticConfig> = if json {
        serde_json::from_slice(bytes).map_err(|e| parse_err(e.to_string()))?
    } else {
        let text = std::str::from_utf8(bytes).map_err(|e| parse_err(e.to_string()))?;
        serde_yaml_ng::from_str::<Option<Vec<StaticConfig>>>(text)
            .map_err(|e| parse_err(e.to_string()))?
            .unwrap_or_default()
    };
    Ok(configs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut g = group_of(c, format!("{source}:{i}"));
            g.labels
                .insert(FILEPATH_LABEL.to_owned(), source.to_owned());
            g
        })
        .collect())
}

/// What was last read from one file.
struct FileState {
    stamp: (Option<SystemTime>, u64),
    groups: Vec<TargetGroup>,
}

/// Expands the patterns; unreadable directories and bad patterns are skipped.
fn list_files(patterns: &[String]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = patterns
        .iter()
        .filter_map(|p| glob::glob(p).ok())
        .flat_map(|paths| paths.filter_map(Result::ok))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn read_file(path: &Path) -> Result<Vec<TargetGroup>, DiscoveryError> {
    let bytes = std::fs::read(path).map_err(|source| DiscoveryError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let json = path.extension().is_some_and(|e| e == "json");
    parse_target_groups(&bytes, json, &path.to_string_lossy())
}

/// One polling round: updates `state` and says whether anything changed.
fn refresh(patterns: &[String], state: &mut BTreeMap<PathBuf, FileState>) -> bool {
    let files = list_files(patterns);
    let before = state.len();
    state.retain(|p, _| files.contains(p));
    let mut changed = state.len() != before;
    for f in files {
        let Ok(meta) = std::fs::metadata(&f) else {
            changed |= state.remove(&f).is_some();
            continue;
        };
        let stamp = (meta.modified().ok(), meta.len());
        if state.get(&f).is_some_and(|s| s.stamp == stamp) {
            continue;
        }
        match read_file(&f) {
            Ok(groups) => {
                state.insert(f, FileState { stamp, groups });
                changed = true;
            }
            Err(e) => {
                log::warn!("file_sd: {e}; keeping the previous targets of this file");
                if let Some(s) = state.get_mut(&f) {
                    s.stamp = stamp;
                }
            }
        }
    }
    changed
}

/// Polls the files of `cfg` every `every` and publishes on change.
pub(crate) async fn run(cfg: FileSdConfig, every: Duration, out: Publisher) {
    let mut state = BTreeMap::new();
    let mut first = true;
    let mut ticker = tokio::time::interval(every.max(Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let patterns = cfg.files.clone();
        let (changed, st) = match tokio::task::spawn_blocking(move || {
            let c = refresh(&patterns, &mut state);
            (c, state)
        })
        .await
        {
            Ok(r) => r,
            Err(_) => return,
        };
        state = st;
        if changed || first {
            first = false;
            let groups = state
                .values()
                .flat_map(|s| s.groups.iter().cloned())
                .collect();
            if !out.publish(groups) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::LabelSet;

    #[test]
    fn json_and_yaml_documents() {
        let g = parse_target_groups(
            br#"[{"targets": ["a:1"], "labels": {"env": "x"}}, {"targets": []}]"#,
            true,
            "/sd/a.json",
        )
        .unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].source, "/sd/a.json:0");
        assert_eq!(
            g[0].labels,
            LabelSet::from([
                ("__meta_filepath".into(), "/sd/a.json".into()),
                ("env".into(), "x".into())
            ])
        );
        let y = parse_target_groups(b"- targets: [b:2]\n", false, "b.yml").unwrap();
        assert_eq!(y[0].targets[0]["__address__"], "b:2");
        assert!(
            parse_target_groups(b"", false, "empty.yml")
                .unwrap()
                .is_empty()
        );
        match parse_target_groups(b"{\"targets\": 1}", true, "bad.json") {
            Err(DiscoveryError::Parse { source_name, .. }) => assert_eq!(source_name, "bad.json"),
            other => panic!("{other:?}"),
        }
        assert!(parse_target_groups(b"- targetz: [x]\n", false, "c.yml").is_err());
    }

    fn addresses(groups: &[TargetGroup]) -> Vec<String> {
        groups
            .iter()
            .flat_map(|g| g.targets.iter().map(|t| t["__address__"].clone()))
            .collect()
    }

    #[tokio::test]
    async fn add_change_remove() {
        let dir = tempfile::tempdir().unwrap();
        let pattern = dir.path().join("*.json").to_string_lossy().into_owned();
        let cfg = FileSdConfig {
            files: vec![pattern],
            refresh_interval: Duration::from_secs(300).into(),
        };
        let (p, mut rx) = Publisher::for_test();
        let task = tokio::spawn(run(cfg, Duration::from_millis(20), p));
        // Nothing yet: one empty snapshot.
        assert!(rx.recv().await.unwrap().1.is_empty());
        let a = dir.path().join("a.json");
        std::fs::write(&a, r#"[{"targets": ["a:1"]}]"#).unwrap();
        assert_eq!(addresses(&rx.recv().await.unwrap().1), ["a:1"]);
        // A change of size is seen even within the mtime granularity.
        std::fs::write(&a, r#"[{"targets": ["a:1", "a:22"]}]"#).unwrap();
        assert_eq!(addresses(&rx.recv().await.unwrap().1), ["a:1", "a:22"]);
        std::fs::write(dir.path().join("b.json"), r#"[{"targets": ["b:1"]}]"#).unwrap();
        assert_eq!(
            addresses(&rx.recv().await.unwrap().1),
            ["a:1", "a:22", "b:1"]
        );
        // A broken file keeps its last good targets: nothing is published.
        std::fs::write(&a, "[{").unwrap();
        std::fs::remove_file(dir.path().join("b.json")).unwrap();
        assert_eq!(addresses(&rx.recv().await.unwrap().1), ["a:1", "a:22"]);
        std::fs::remove_file(&a).unwrap();
        assert!(rx.recv().await.unwrap().1.is_empty());
        task.abort();
    }
}
