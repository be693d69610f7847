//! Label and metric name validity, under Prometheus 3's UTF-8 rules or the legacy ones.

/// Which names are valid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NameValidation {
    /// Any non-empty UTF-8 string (Prometheus 3 default).
    #[default]
    Utf8,
    /// `[a-zA-Z_][a-zA-Z0-9_]*` for labels, `[a-zA-Z_:][a-zA-Z0-9_:]*` for metrics.
    Legacy,
}

impl NameValidation {
    /// Whether `name` may be a label (or annotation) name.
    pub fn is_valid_label_name(self, name: &str) -> bool {
        match self {
            NameValidation::Utf8 => !name.is_empty(),
            NameValidation::Legacy => legacy(name, false),
        }
    }

    /// Whether `name` may be a metric name.
    pub fn is_valid_metric_name(self, name: &str) -> bool {
        match self {
            NameValidation::Utf8 => !name.is_empty(),
            NameValidation::Legacy => legacy(name, true),
        }
    }
}

fn legacy(name: &str, colons: bool) -> bool {
    let ok = |c: char, first: bool| {
        c.is_ascii_alphabetic()
            || c == '_'
            || (colons && c == ':')
            || (!first && c.is_ascii_digit())
    };
    let mut chars = name.chars();
    chars.next().is_some_and(|c| ok(c, true)) && chars.all(|c| ok(c, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_and_utf8() {
        assert!(NameValidation::Utf8.is_valid_label_name("ins-tance"));
        assert!(!NameValidation::Legacy.is_valid_label_name("ins-tance"));
        assert!(!NameValidation::Legacy.is_valid_label_name("a:b"));
        assert!(NameValidation::Legacy.is_valid_metric_name("job:up:sum"));
        assert!(!NameValidation::Legacy.is_valid_metric_name("1x"));
        assert!(!NameValidation::Utf8.is_valid_label_name(""));
    }
}
