//! Scrape sharding across a cluster of agents, as vmagent's `-promscrape.cluster.*`
//! flags do it: each target belongs to `replication` consecutive members starting at
//! `XXH64(labels) % members`, so every member computes the same split without talking
//! to the others.

use crate::target::Target;

/// This member's place in the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    /// Members in the cluster (`-promscrape.cluster.membersCount`), at least 2 for
    /// sharding to apply.
    pub members: u32,
    /// This member, `0..members` (`-promscrape.cluster.memberNum`).
    pub member: u32,
    /// Members scraping each target (`-promscrape.cluster.replicationFactor`).
    pub replication: u32,
}

impl Shard {
    /// Whether this member scrapes the target with the key `key` (the target's labels
    /// after relabeling, so targets with equal labels land on the same member).
    pub fn owns_key(&self, key: &[u8]) -> bool {
        if self.members <= 1 {
            return true;
        }
        let first = xxhash_rust::xxh64::xxh64(key, 0) % u64::from(self.members);
        let replicas = u64::from(self.replication.clamp(1, self.members));
        let distance =
            (u64::from(self.member) + u64::from(self.members) - first) % u64::from(self.members);
        distance < replicas
    }

    /// Whether this member scrapes `target`.
    pub fn owns(&self, target: &Target) -> bool {
        self.owns_key(target.labels.to_string().as_bytes())
    }
}

/// Parses `-promscrape.cluster.memberNum`: a number, or a Kubernetes StatefulSet pod
/// name ending in `-N` (`vmagent-2` is member 2).
///
/// # Errors
/// A message when neither form applies.
pub fn parse_member_num(s: &str) -> Result<u32, String> {
    if let Ok(n) = s.parse() {
        return Ok(n);
    }
    s.rsplit_once('-')
        .filter(|(pod, _)| !pod.is_empty())
        .and_then(|(_, n)| n.parse().ok())
        .ok_or_else(|| format!("want a number or a pod name ending in -N, got {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_has_exactly_replication_members() {
        for (members, replication) in [(2, 1), (3, 1), (3, 2), (5, 3), (4, 4), (3, 9)] {
            let owners: Vec<Shard> = (0..members)
                .map(|member| Shard {
                    members,
                    member,
                    replication,
                })
                .collect();
            let mut per_member = vec![0u32; members as usize];
            for i in 0..3000 {
                let key = format!("{{instance=\"host-{i}:9100\", job=\"node\"}}");
                let n: Vec<usize> = owners
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.owns_key(key.as_bytes()))
                    .map(|(m, _)| m)
                    .collect();
                assert_eq!(n.len() as u32, replication.min(members), "{key}");
                for m in n {
                    per_member[m] += 1;
                }
            }
            // Roughly even: each member gets its share within 20%.
            let share = 3000 * replication.min(members) / members;
            for c in per_member {
                assert!(c.abs_diff(share) < share / 5, "{c} vs {share}");
            }
        }
    }

    #[test]
    fn a_single_member_scrapes_everything() {
        let s = Shard {
            members: 1,
            member: 0,
            replication: 1,
        };
        assert!(s.owns_key(b"anything"));
    }

    #[test]
    fn member_num_accepts_statefulset_pod_names() {
        assert_eq!(parse_member_num("3"), Ok(3));
        assert_eq!(parse_member_num("vmagent-shard-12"), Ok(12));
        assert!(parse_member_num("vmagent").is_err());
        assert!(parse_member_num("-1").is_err());
    }
}
