//! Errors of loading a scrape config.

use std::path::PathBuf;

/// Everything that can go wrong while loading a scrape config file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file (or a `scrape_config_files` entry) cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The YAML does not parse into a config: syntax, unknown field (strict mode), wrong
    /// type. Display reads `FILE:LINE:COLUMN: MESSAGE` when the location is known.
    #[error("{}{}: {message}", path_prefix(path), location.map(|(l, c)| format!("{l}:{c}")).unwrap_or_default())]
    Yaml {
        /// The file, when loading from a file.
        path: Option<PathBuf>,
        /// 1-based line and column of the fault, when the YAML parser knows it.
        location: Option<(usize, usize)>,
        /// What is wrong, prefixed with the field path when known
        /// (`scrape_configs[0]: unknown field ...`).
        message: String,
    },
    /// A `%{NAME}` reference names an environment variable that is not set.
    #[error(
        "{}missing environment variable {name:?} referenced as %{{{name}}}",
        path_prefix(path)
    )]
    MissingEnv {
        /// The file.
        path: Option<PathBuf>,
        /// The variable.
        name: String,
    },
    /// A value is not valid (after parsing): a timeout above the interval, a duplicate job
    /// name, conflicting auth settings...
    #[error("{}{field}: {message}", job.as_ref().map(|j| format!("scrape config {j:?}: ")).unwrap_or_default())]
    Invalid {
        /// The job at fault, when the error is about one job.
        job: Option<String>,
        /// The field at fault.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A field Gnomon parses but does not implement.
    #[error("{field} is not supported")]
    Unsupported {
        /// The field.
        field: &'static str,
    },
    /// `relabel_configs` or `metric_relabel_configs` of a job do not compile.
    #[error("scrape config {job:?}: {field}: {source}")]
    Relabel {
        /// The job.
        job: String,
        /// `relabel_configs` or `metric_relabel_configs`.
        field: &'static str,
        /// What the relabel compiler said.
        #[source]
        source: gnomon_relabel::Error,
    },
    /// An error about one job, wrapping another config error.
    #[error("scrape config {job:?}: {source}")]
    Job {
        /// The job.
        job: String,
        /// The error.
        #[source]
        source: Box<ConfigError>,
    },
}

fn path_prefix(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!("{}:", p.display()))
        .unwrap_or_default()
}

impl ConfigError {
    /// The 1-based (line, column) of a YAML error.
    pub fn location(&self) -> Option<(usize, usize)> {
        match self {
            ConfigError::Yaml { location, .. } => *location,
            ConfigError::Job { source, .. } => source.location(),
            _ => None,
        }
    }

    /// Wraps a YAML error, keeping its location and the field path.
    pub(crate) fn yaml(path: Option<PathBuf>, e: &serde_yaml_ng::Error) -> Self {
        let location = e.location().map(|l| (l.line(), l.column()));
        let mut message = e.to_string();
        // serde_yaml_ng appends " at line L column C"; the location is kept separately.
        if let Some(i) = message.find(" at line ") {
            message.truncate(i);
        }
        ConfigError::Yaml {
            path,
            location,
            message,
        }
    }

    pub(crate) fn in_job(self, job: &str) -> Self {
        match self {
            ConfigError::Invalid {
                job: None,
                field,
                message,
            } => ConfigError::Invalid {
                job: Some(job.to_owned()),
                field,
                message,
            },
            e @ (ConfigError::Invalid { .. }
            | ConfigError::Relabel { .. }
            | ConfigError::Job { .. }) => e,
            other => ConfigError::Job {
                job: job.to_owned(),
                source: Box::new(other),
            },
        }
    }
}
