//! The rule unit-test file format (promtool's `unit_testing_rules.md`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// A scalar read as text whatever its YAML type (`0`, `5m`, `1.5`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Asked for a string, the YAML deserializer hands over a plain scalar's text as
        // written (`0x10` stays `0x10`, as Go's decoder keeps it for string fields).
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar(String::new()))
            }
        }
        d.deserialize_str(V)
    }
}

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitTestFile {
    /// Rule files (relative to the test file; globs allowed).
    #[serde(default)]
    pub rule_files: Vec<String>,
    /// Step of the evaluation loop (default 1m).
    #[serde(default)]
    pub evaluation_interval: Option<Scalar>,
    /// Groups evaluated first, in this order.
    #[serde(default)]
    pub group_eval_order: Vec<String>,
    /// Compare values within one ULP.
    #[serde(default)]
    pub fuzzy_compare: bool,
    /// The test groups.
    #[serde(default)]
    pub tests: Vec<TestGroup>,
}

/// One test group.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestGroup {
    /// Spacing of input samples (default: the evaluation interval).
    #[serde(default)]
    pub interval: Option<Scalar>,
    /// Input series.
    #[serde(default)]
    pub input_series: Vec<InputSeries>,
    /// Alert checks.
    #[serde(default)]
    pub alert_rule_test: Vec<AlertTest>,
    /// Query checks.
    #[serde(default)]
    pub promql_expr_test: Vec<ExprTest>,
    /// `$externalLabels`.
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
    /// `$externalURL`.
    #[serde(default)]
    pub external_url: String,
    /// Name (for `--run` and messages).
    #[serde(default)]
    pub name: String,
    /// Time of the first sample: unix seconds or RFC 3339 (default 0).
    #[serde(default)]
    pub start_timestamp: Option<Scalar>,
}

/// `{series, values}`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSeries {
    /// The series selector.
    pub series: String,
    /// The values, expanding notation.
    #[serde(default)]
    pub values: Scalar,
}

/// `{eval_time, alertname, exp_alerts}`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertTest {
    /// When (relative to the start; default 0).
    #[serde(default)]
    pub eval_time: Scalar,
    /// The alert checked.
    pub alertname: String,
    /// The firing alerts expected.
    #[serde(default)]
    pub exp_alerts: Vec<ExpAlert>,
}

/// An expected alert.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpAlert {
    /// Labels (without `alertname`).
    #[serde(default)]
    pub exp_labels: BTreeMap<String, String>,
    /// Expanded annotations.
    #[serde(default)]
    pub exp_annotations: BTreeMap<String, String>,
}

/// `{expr, eval_time, exp_samples}`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExprTest {
    /// The query.
    pub expr: String,
    /// When (relative to the start; default 0).
    #[serde(default)]
    pub eval_time: Scalar,
    /// Expected samples.
    #[serde(default)]
    pub exp_samples: Vec<ExpSample>,
}

/// An expected sample.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpSample {
    /// The series (`metric{a="b"}`), empty for a scalar.
    #[serde(default)]
    pub labels: String,
    /// The value.
    #[serde(default)]
    pub value: f64,
    /// A native histogram (not supported).
    #[serde(default)]
    pub histogram: String,
}
