//! `static_configs`: targets listed in the config.

use super::{ADDRESS_LABEL, LabelSet, TargetGroup};
use crate::config::StaticConfig;

/// One group per static config, sourced by its index (`"0"`, `"1"`...) as in
/// Prometheus.
pub fn static_groups(configs: &[StaticConfig]) -> Vec<TargetGroup> {
    configs
        .iter()
        .enumerate()
        .map(|(i, c)| group_of(c, i.to_string()))
        .collect()
}

/// A static config as a target group with the given source.
pub(crate) fn group_of(c: &StaticConfig, source: String) -> TargetGroup {
    TargetGroup {
        source,
        targets: c
            .targets
            .iter()
            .map(|t| LabelSet::from([(ADDRESS_LABEL.to_owned(), t.clone())]))
            .collect(),
        labels: c.labels.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_index_with_merged_labels() {
        let configs: Vec<StaticConfig> = serde_yaml_ng::from_str(
            "- targets: [a:1, b:2]\n  labels: {env: prod}\n- targets: [c:3]\n",
        )
        .unwrap();
        let groups = static_groups(&configs);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[1].source, "1");
        let merged: Vec<LabelSet> = groups[0].target_labels().collect();
        assert_eq!(
            merged[1],
            LabelSet::from([
                ("__address__".into(), "b:2".into()),
                ("env".into(), "prod".into())
            ])
        );
    }
}
