//! Service discovery configs: `static_configs`, `file_sd_configs`, `http_sd_configs`,
//! `dns_sd_configs`, `kubernetes_sd_configs`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration::PromDuration;
use super::error::ConfigError;
use super::http_client::with_http_client;

/// One `static_configs` entry: targets sharing a label set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` addresses.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Labels added to every target.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `file_sd_configs` entry: JSON or YAML files (globs allowed in the last path element)
/// holding lists of static configs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    /// File names or globs ending in `.json`, `.yml` or `.yaml`.
    pub files: Vec<String>,
    /// How often the files are re-read; 5m when absent.
    #[serde(default = "default_file_refresh")]
    pub refresh_interval: PromDuration,
}

fn default_file_refresh() -> PromDuration {
    PromDuration(Duration::from_secs(300))
}

impl FileSdConfig {
    /// Checks the file patterns as Prometheus does.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for an empty list or a name not ending in
    /// `.json`/`.yml`/`.yaml`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.files.is_empty() {
            return Err(invalid(
                "file_sd_configs",
                "file service discovery config must contain at least one path name",
            ));
        }
        for f in &self.files {
            let ok = [".json", ".yml", ".yaml"].iter().any(|e| f.ends_with(e));
            if !ok {
                return Err(ConfigError::Invalid {
                    job: None,
                    field: "file_sd_configs",
                    message: format!("path name {f:?} is not valid for file discovery"),
                });
            }
        }
        Ok(())
    }
}

with_http_client! {
    /// `http_sd_configs` entry: a URL returning a JSON list of static configs.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct HttpSdConfig {
        /// The URL (http or https).
        pub url: String,
        /// How often the URL is fetched; 60s when absent.
        #[serde(default = "default_http_refresh")]
        pub refresh_interval: PromDuration,
    }
}

fn default_http_refresh() -> PromDuration {
    PromDuration(Duration::from_secs(60))
}

impl HttpSdConfig {
    /// Checks the URL and the client settings.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for a URL that is not http(s), or client settings that
    /// are not valid.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                job: None,
                field: "http_sd_configs",
                message: format!("URL scheme must be 'http' or 'https': {:?}", self.url),
            });
        }
        self.http_client().validate()
    }
}

/// DNS record type of a `dns_sd_configs` entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DnsRecordType {
    /// SRV records: target and port from the record.
    #[default]
    Srv,
    /// IPv4 addresses, with the configured port.
    A,
    /// IPv6 addresses, with the configured port.
    Aaaa,
    /// Mail exchangers, with the configured port.
    Mx,
}

/// `dns_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsSdConfig {
    /// DNS names to query.
    pub names: Vec<String>,
    /// Record type; SRV when absent.
    #[serde(default, rename = "type")]
    pub record_type: DnsRecordType,
    /// Port of the targets (required for A, AAAA and MX).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// How often names are resolved again; 30s when absent.
    #[serde(default = "default_dns_refresh")]
    pub refresh_interval: PromDuration,
}

fn default_dns_refresh() -> PromDuration {
    PromDuration(Duration::from_secs(30))
}

impl DnsSdConfig {
    /// Checks the names and the port.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for an empty name list or a missing port for A, AAAA, MX.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.names.is_empty() {
            return Err(invalid(
                "dns_sd_configs",
                "DNS-SD config must contain at least one SRV record name",
            ));
        }
        if self.record_type != DnsRecordType::Srv && self.port.is_none() {
            return Err(invalid(
                "dns_sd_configs",
                "a port is required in DNS-SD configs for all record types except SRV",
            ));
        }
        Ok(())
    }
}

/// Kubernetes object kind discovered by a `kubernetes_sd_configs` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KubernetesRole {
    /// One target per node (kubelet address).
    Node,
    /// One target per pod container port (or per pod without ports).
    Pod,
    /// One target per service port.
    Service,
    /// One target per endpoint address and port.
    Endpoints,
    /// One target per endpoint slice endpoint and port.
    #[serde(rename = "endpointslice", alias = "endpointslices")]
    EndpointSlice,
    /// One target per ingress rule path.
    Ingress,
}

impl KubernetesRole {
    /// The role as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            KubernetesRole::Node => "node",
            KubernetesRole::Pod => "pod",
            KubernetesRole::Service => "service",
            KubernetesRole::Endpoints => "endpoints",
            KubernetesRole::EndpointSlice => "endpointslice",
            KubernetesRole::Ingress => "ingress",
        }
    }
}

/// `namespaces:` of a `kubernetes_sd_configs` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesNamespaces {
    /// Add the namespace the process runs in (from the service account files).
    #[serde(default)]
    pub own_namespace: bool,
    /// Namespace names; all namespaces when empty.
    #[serde(default)]
    pub names: Vec<String>,
}

/// `selectors:` entry: label and field selectors for one role's API requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesSelector {
    /// The role (object kind) the selectors apply to.
    pub role: KubernetesRole,
    /// `labelSelector` query argument.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `fieldSelector` query argument.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// `attach_metadata:` of a `kubernetes_sd_configs` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesAttachMetadata {
    /// Attach node labels to pod targets (`__meta_kubernetes_node_*`).
    #[serde(default)]
    pub node: bool,
    /// Attach namespace labels (`__meta_kubernetes_namespace_label_*`).
    #[serde(default)]
    pub namespace: bool,
}

with_http_client! {
    /// `kubernetes_sd_configs` entry.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct KubernetesSdConfig {
        /// The object kind to discover.
        pub role: KubernetesRole,
        /// The API server URL; in-cluster defaults when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub api_server: Option<String>,
        /// A kubeconfig file (not supported: rejected by validation).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub kubeconfig_file: Option<String>,
        /// Namespaces to watch.
        #[serde(default)]
        pub namespaces: KubernetesNamespaces,
        /// Label and field selectors per role.
        #[serde(default)]
        pub selectors: Vec<KubernetesSelector>,
        /// Metadata attached from related objects.
        #[serde(default)]
        pub attach_metadata: KubernetesAttachMetadata,
    }
}

impl KubernetesSdConfig {
    /// Checks the config as Prometheus does.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for a selector of a role this config cannot use, two
    /// selectors for one role, an `api_server` that is not http(s);
    /// [`ConfigError::Unsupported`] for `kubeconfig_file`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.kubeconfig_file.is_some() {
            return Err(ConfigError::Unsupported {
                field: "kubernetes_sd_configs.kubeconfig_file",
            });
        }
        if let Some(a) = &self.api_server
            && !(a.starts_with("http://") || a.starts_with("https://"))
        {
            return Err(ConfigError::Invalid {
                job: None,
                field: "kubernetes_sd_configs",
                message: format!("api_server must be an http(s) URL: {a:?}"),
            });
        }
        let allowed: &[KubernetesRole] = match self.role {
            KubernetesRole::Pod => &[KubernetesRole::Pod],
            KubernetesRole::Node => &[KubernetesRole::Node],
            KubernetesRole::Service => &[KubernetesRole::Service],
            KubernetesRole::Ingress => &[KubernetesRole::Ingress],
            KubernetesRole::Endpoints => &[
                KubernetesRole::Endpoints,
                KubernetesRole::Pod,
                KubernetesRole::Service,
            ],
            KubernetesRole::EndpointSlice => &[
                KubernetesRole::EndpointSlice,
                KubernetesRole::Pod,
                KubernetesRole::Service,
            ],
        };
        let mut seen = Vec::new();
        for s in &self.selectors {
            if !allowed.contains(&s.role) {
                return Err(ConfigError::Invalid {
                    job: None,
                    field: "kubernetes_sd_configs",
                    message: format!(
                        "{} role supports only {} selectors",
                        self.role.as_str(),
                        allowed
                            .iter()
                            .map(|r| r.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
            if seen.contains(&s.role) {
                return Err(ConfigError::Invalid {
                    job: None,
                    field: "kubernetes_sd_configs",
                    message: format!("duplicated selector role: {}", s.role.as_str()),
                });
            }
            seen.push(s.role);
        }
        self.http_client().validate()
    }

    /// The selector for `role`, if any.
    pub fn selector(&self, role: KubernetesRole) -> Option<&KubernetesSelector> {
        self.selectors.iter().find(|s| s.role == role)
    }
}

fn invalid(field: &'static str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        job: None,
        field,
        message: message.to_owned(),
    }
}
