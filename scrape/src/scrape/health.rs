//! What the targets API shows about a loop: health, last error, last scrape.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// A target's health, as Prometheus names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Health {
    /// Not scraped yet.
    #[default]
    Unknown,
    /// The last scrape succeeded.
    Up,
    /// The last scrape failed.
    Down,
}

impl Health {
    /// `unknown`, `up` or `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
        }
    }
}

/// The outcome of a loop's last scrape.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScrapeStatus {
    /// Health after the last scrape.
    pub health: Health,
    /// Why the last scrape failed (empty when it did not).
    pub last_error: String,
    /// When the last scrape started.
    pub last_scrape: Option<SystemTime>,
    /// How long it took.
    pub last_duration: Duration,
    /// Samples it kept after metric relabeling.
    pub last_samples: usize,
    /// Scrapes done since the loop started.
    pub scrapes: u64,
    /// Failed scrapes since the loop started.
    pub failures: u64,
}

/// A loop's status, shared with the API.
#[derive(Debug, Default)]
pub struct TargetStatus(Mutex<ScrapeStatus>);

impl TargetStatus {
    /// A copy of the current status.
    pub fn get(&self) -> ScrapeStatus {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn set(&self, s: ScrapeStatus) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = s;
    }
}
