//! Service discovery: turns the SD configs of each job into target groups, kept up to
//! date by background tasks.
//!
//! Module map:
//! - this file: [`TargetGroup`], [`LabelSet`], [`DiscoveryError`];
//! - `manager`: [`DiscoveryManager`] runs one task per SD config and publishes each
//!   job's merged groups through a `tokio::sync::watch` channel, coalescing updates;
//! - `static_sd`, `file_sd`, `http_sd`, `dns_sd`, `kubernetes`: the discoverers.
//!
//! Each discoverer sends full snapshots (all its groups) rather than deltas; the
//! manager replaces that discoverer's share of the job's groups.

mod dns_sd;
mod file_sd;
mod http_sd;
pub mod kubernetes;
mod manager;
mod static_sd;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use dns_sd::{addr_targets, mx_targets, srv_targets};
pub use file_sd::parse_target_groups;
pub use manager::{DiscoveryManager, DiscoveryOptions};
pub use static_sd::static_groups;

/// Label name → value.
pub type LabelSet = BTreeMap<String, String>;

/// `__address__`: the `host:port` of a target.
pub const ADDRESS_LABEL: &str = "__address__";

/// A set of targets sharing labels, from one source (a file, a URL, a Kubernetes
/// object...). Each target holds at least [`ADDRESS_LABEL`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetGroup {
    /// Where the group comes from; unique within one discoverer.
    pub source: String,
    /// The targets' own labels.
    pub targets: Vec<LabelSet>,
    /// Labels common to every target (a target's own labels win).
    pub labels: LabelSet,
}

impl TargetGroup {
    /// Each target's labels merged with the group's (the target's win).
    pub fn target_labels(&self) -> impl Iterator<Item = LabelSet> + '_ {
        self.targets.iter().map(|t| {
            let mut out = self.labels.clone();
            out.extend(t.iter().map(|(k, v)| (k.clone(), v.clone())));
            out
        })
    }
}

/// Why one refresh of a discoverer failed. Discoverers log these and keep their last
/// good targets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// A file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A target group list does not parse.
    #[error("{source_name}: {message}")]
    Parse {
        /// The file or URL.
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// An HTTP request failed.
    #[error("{url}: {source}")]
    Http {
        /// The URL.
        url: String,
        /// What reqwest said.
        #[source]
        source: reqwest::Error,
    },
    /// An HTTP response had an unexpected status.
    #[error("{url}: unexpected status {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The HTTP client cannot be built or a request not authenticated.
    #[error(transparent)]
    Client(#[from] crate::client::ClientError),
    /// A DNS lookup failed.
    #[error("DNS lookup of {name:?}: {message}")]
    Dns {
        /// The name.
        name: String,
        /// What the resolver said.
        message: String,
    },
    /// The Kubernetes API answered with something unexpected.
    #[error("kubernetes {url}: {message}")]
    Kubernetes {
        /// The request URL.
        url: String,
        /// What is wrong.
        message: String,
    },
}
