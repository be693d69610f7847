//! The one function table: every PromQL and MetricsQL function and aggregation with its
//! signature. The parser's type check reads it, and so does the evaluator.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::parser::ast::ValueType;

/// The type an argument must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArgType {
    /// A float (a number literal or any scalar expression).
    Scalar,
    /// An instant vector.
    Vector,
    /// A range vector (`x[5m]` or a subquery).
    Matrix,
    /// A string literal.
    String,
}

impl ArgType {
    /// The value type an argument of this kind has.
    pub fn value_type(self) -> ValueType {
        match self {
            ArgType::Scalar => ValueType::Scalar,
            ArgType::Vector => ValueType::Vector,
            ArgType::Matrix => ValueType::Matrix,
            ArgType::String => ValueType::String,
        }
    }
}

/// What kind of callable an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FunctionKind {
    /// Works sample by sample or series by series (`abs`, `label_replace`, `vector`).
    Transform,
    /// Works on a window of samples per series (`rate`, `*_over_time`); in MetricsQL the
    /// window may be left out (`rate(x)`: implicit window).
    Rollup,
    /// Combines series (`sum`, `topk`); takes `by`/`without` (and MetricsQL `limit`).
    Aggregate,
}

/// One entry of the function table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionDef {
    /// Lower-case name.
    pub name: &'static str,
    /// Transform, rollup or aggregation.
    pub kind: FunctionKind,
    /// Argument types in order. For aggregations the parameter (if any) comes first and
    /// the aggregated vector last.
    pub args: &'static [ArgType],
    /// How many leading arguments are required (the rest are optional).
    pub required: usize,
    /// The last argument type may repeat any number of times.
    pub variadic: bool,
    /// The type of the result.
    pub ret: ValueType,
    /// Only MetricsQL knows it.
    pub metricsql: bool,
    /// Prometheus marks it experimental (enabled by a feature flag there, always here).
    pub experimental: bool,
}

impl FunctionDef {
    const fn new(name: &'static str, kind: FunctionKind, args: &'static [ArgType]) -> Self {
        FunctionDef {
            name,
            kind,
            args,
            required: args.len(),
            variadic: false,
            ret: ValueType::Vector,
            metricsql: false,
            experimental: false,
        }
    }
    const fn opt(mut self, required: usize) -> Self {
        self.required = required;
        self
    }
    const fn var(mut self) -> Self {
        self.variadic = true;
        self
    }
    const fn ret(mut self, ret: ValueType) -> Self {
        self.ret = ret;
        self
    }
    const fn mql(mut self) -> Self {
        self.metricsql = true;
        self
    }
    const fn exp(mut self) -> Self {
        self.experimental = true;
        self
    }

    /// True for aggregations (`sum`, `topk`, …).
    pub fn is_aggregate(&self) -> bool {
        self.kind == FunctionKind::Aggregate
    }

    /// True when an aggregation takes a parameter before the vector (`topk(k, v)`).
    pub fn has_param(&self) -> bool {
        self.is_aggregate() && self.args.len() > 1
    }

    /// Index of the range-vector argument of a rollup (`quantile_over_time(q, m)`: 1).
    pub fn rollup_arg(&self) -> Option<usize> {
        self.args.iter().position(|a| *a == ArgType::Matrix)
    }

    /// True when MetricsQL lets the window be left out: `rate(x)` means `rate(x[$step])`.
    pub fn implicit_window(&self) -> bool {
        self.kind == FunctionKind::Rollup
    }

    /// The expected type of argument `i`, if the function accepts that many arguments.
    pub fn arg_type(&self, i: usize) -> Option<ArgType> {
        match self.args.get(i) {
            Some(t) => Some(*t),
            None if self.variadic => self.args.last().copied(),
            None => None,
        }
    }

    /// Largest number of arguments (`None`: unbounded).
    pub fn max_args(&self) -> Option<usize> {
        (!self.variadic).then_some(self.args.len())
    }
}

use ArgType::{Matrix as M, Scalar as S, String as Str, Vector as V};
use FunctionKind::{Aggregate as A, Rollup as R, Transform as T};
use ValueType::Scalar as RetScalar;

const fn t(name: &'static str, args: &'static [ArgType]) -> FunctionDef {
    FunctionDef::new(name, T, args)
}
const fn r(name: &'static str, args: &'static [ArgType]) -> FunctionDef {
    FunctionDef::new(name, R, args)
}
const fn a(name: &'static str, args: &'static [ArgType]) -> FunctionDef {
    FunctionDef::new(name, A, args)
}

/// Every function and aggregation, PromQL first, then MetricsQL.
pub static FUNCTIONS: &[FunctionDef] = &[
    // PromQL transforms.
    t("abs", &[V]),
    t("absent", &[V]),
    t("acos", &[V]),
    t("acosh", &[V]),
    t("asin", &[V]),
    t("asinh", &[V]),
    t("atan", &[V]),
    t("atanh", &[V]),
    t("ceil", &[V]),
    t("clamp", &[V, S, S]),
    t("clamp_max", &[V, S]),
    t("clamp_min", &[V, S]),
    t("cos", &[V]),
    t("cosh", &[V]),
    t("day_of_month", &[V]).opt(0),
    t("day_of_week", &[V]).opt(0),
    t("day_of_year", &[V]).opt(0),
    t("days_in_month", &[V]).opt(0),
    t("deg", &[V]),
    t("exp", &[V]),
    t("floor", &[V]),
    t("histogram_avg", &[V]),
    t("histogram_count", &[V]),
    t("histogram_fraction", &[S, S, V]),
    t("histogram_quantile", &[S, V]),
    t("histogram_quantiles", &[V, Str, S]).var().exp(),
    t("histogram_stddev", &[V]),
    t("histogram_stdvar", &[V]),
    t("histogram_sum", &[V]),
    t("hour", &[V]).opt(0),
    t("info", &[V, V]).opt(1).exp(),
    t("label_join", &[V, Str, Str, Str]).opt(3).var(),
    t("label_replace", &[V, Str, Str, Str, Str]),
    t("ln", &[V]),
    t("log10", &[V]),
    t("log2", &[V]),
    t("max_of", &[S, S]).ret(RetScalar).exp(),
    t("min_of", &[S, S]).ret(RetScalar).exp(),
    t("minute", &[V]).opt(0),
    t("month", &[V]).opt(0),
    t("pi", &[]).ret(RetScalar),
    t("rad", &[V]),
    t("round", &[V, S]).opt(1),
    t("scalar", &[V]).ret(RetScalar),
    t("sgn", &[V]),
    t("sin", &[V]),
    t("sinh", &[V]),
    t("sort", &[V]),
    t("sort_by_label", &[V, Str]).opt(1).var().exp(),
    t("sort_by_label_desc", &[V, Str]).opt(1).var().exp(),
    t("sort_desc", &[V]),
    t("sqrt", &[V]),
    t("start_timestamp", &[V]).exp(),
    t("tan", &[V]),
    t("tanh", &[V]),
    t("time", &[]).ret(RetScalar),
    t("timestamp", &[V]),
    t("vector", &[S]),
    t("year", &[V]).opt(0),
    // PromQL rollups.
    r("absent_over_time", &[M]),
    r("avg_over_time", &[M]),
    r("changes", &[M]),
    r("count_over_time", &[M]),
    r("delta", &[M]),
    r("deriv", &[M]),
    r("double_exponential_smoothing", &[M, S, S]).exp(),
    r("first_over_time", &[M]).exp(),
    r("holt_winters", &[M, S, S]),
    r("idelta", &[M]),
    r("increase", &[M]),
    r("irate", &[M]),
    r("last_over_time", &[M]),
    r("mad_over_time", &[M]).exp(),
    r("max_over_time", &[M]),
    r("min_over_time", &[M]),
    r("predict_linear", &[M, S]),
    r("present_over_time", &[M]),
    r("quantile_over_time", &[S, M]),
    r("rate", &[M]),
    r("resets", &[M]),
    r("stddev_over_time", &[M]),
    r("stdvar_over_time", &[M]),
    r("sum_over_time", &[M]),
    r("ts_of_first_over_time", &[M]).exp(),
    r("ts_of_last_over_time", &[M]).exp(),
    r("ts_of_max_over_time", &[M]).exp(),
    r("ts_of_min_over_time", &[M]).exp(),
    // PromQL aggregations.
    a("avg", &[V]),
    a("bottomk", &[S, V]),
    a("count", &[V]),
    a("count_values", &[Str, V]),
    a("group", &[V]),
    a("limit_ratio", &[S, V]).exp(),
    a("limitk", &[S, V]).exp(),
    a("max", &[V]),
    a("min", &[V]),
    a("quantile", &[S, V]),
    a("stddev", &[V]),
    a("stdvar", &[V]),
    a("sum", &[V]),
    a("topk", &[S, V]),
    // MetricsQL rollups.
    r("aggr_over_time", &[Str, M]).opt(2).mql(),
    r("ascent_over_time", &[M]).mql(),
    r("changes_prometheus", &[M]).mql(),
    r("count_eq_over_time", &[M, S]).mql(),
    r("count_gt_over_time", &[M, S]).mql(),
    r("count_le_over_time", &[M, S]).mql(),
    r("count_ne_over_time", &[M, S]).mql(),
    r("count_values_over_time", &[Str, M]).mql(),
    r("decreases_over_time", &[M]).mql(),
    r("default_rollup", &[M]).mql(),
    r("delta_prometheus", &[M]).mql(),
    r("deriv_fast", &[M]).mql(),
    r("descent_over_time", &[M]).mql(),
    r("distinct_over_time", &[M]).mql(),
    r("duration_over_time", &[M, S]).mql(),
    r("geomean_over_time", &[M]).mql(),
    r("histogram_over_time", &[M]).mql(),
    r("hoeffding_bound_lower", &[S, M]).mql(),
    r("hoeffding_bound_upper", &[S, M]).mql(),
    r("ideriv", &[M]).mql(),
    r("increase_prometheus", &[M]).mql(),
    r("increase_pure", &[M]).mql(),
    r("increases_over_time", &[M]).mql(),
    r("integrate", &[M]).mql(),
    r("lag", &[M]).mql(),
    r("lifetime", &[M]).mql(),
    r("median_over_time", &[M]).mql(),
    r("mode_over_time", &[M]).mql(),
    r("outlier_iqr_over_time", &[M]).mql(),
    r("quantiles_over_time", &[Str, S, M]).mql(),
    r("range_over_time", &[M]).mql(),
    r("rate_over_sum", &[M]).mql(),
    r("rate_prometheus", &[M]).mql(),
    r("rollup", &[M, Str]).opt(1).mql(),
    r("rollup_candlestick", &[M, Str]).opt(1).mql(),
    r("rollup_delta", &[M, Str]).opt(1).mql(),
    r("rollup_deriv", &[M, Str]).opt(1).mql(),
    r("rollup_increase", &[M, Str]).opt(1).mql(),
    r("rollup_rate", &[M, Str]).opt(1).mql(),
    r("rollup_scrape_interval", &[M, Str]).opt(1).mql(),
    r("scrape_interval", &[M]).mql(),
    r("share_eq_over_time", &[M, S]).mql(),
    r("share_gt_over_time", &[M, S]).mql(),
    r("share_le_over_time", &[M, S]).mql(),
    r("stale_samples_over_time", &[M]).mql(),
    r("sum_eq_over_time", &[M, S]).mql(),
    r("sum_gt_over_time", &[M, S]).mql(),
    r("sum_le_over_time", &[M, S]).mql(),
    r("sum2_over_time", &[M]).mql(),
    r("tfirst_over_time", &[M]).mql(),
    r("timestamp_with_name", &[M]).mql(),
    r("tlast_change_over_time", &[M]).mql(),
    r("tlast_over_time", &[M]).mql(),
    r("tmax_over_time", &[M]).mql(),
    r("tmin_over_time", &[M]).mql(),
    r("zscore_over_time", &[M]).mql(),
    // MetricsQL transforms.
    t("bitmap_and", &[V, S]).mql(),
    t("bitmap_or", &[V, S]).mql(),
    t("bitmap_xor", &[V, S]).mql(),
    t("buckets_limit", &[S, V]).mql(),
    t("drop_common_labels", &[V]).var().mql(),
    t("drop_empty_series", &[V]).mql(),
    t("histogram_share", &[S, V, Str]).opt(2).mql(),
    t("interpolate", &[V]).mql(),
    t("keep_last_value", &[V]).mql(),
    t("keep_next_value", &[V]).mql(),
    t("label_copy", &[V, Str]).var().mql(),
    t("label_del", &[V, Str]).var().mql(),
    t("label_graphite_group", &[V, S]).var().mql(),
    t("label_keep", &[V, Str]).var().mql(),
    t("label_lowercase", &[V, Str]).var().mql(),
    t("label_map", &[V, Str]).var().mql(),
    t("label_match", &[V, Str, Str]).mql(),
    t("label_mismatch", &[V, Str, Str]).mql(),
    t("label_move", &[V, Str]).var().mql(),
    t("label_set", &[V, Str]).var().mql(),
    t("label_transform", &[V, Str, Str, Str]).mql(),
    t("label_uppercase", &[V, Str]).var().mql(),
    t("label_value", &[V, Str]).mql(),
    t("label_values", &[Str, V]).mql(),
    t("labels_equal", &[V, Str]).var().mql(),
    t("limit_offset", &[S, S, V]).mql(),
    t("now", &[]).ret(RetScalar).mql(),
    t("prometheus_buckets", &[V]).mql(),
    t("rand", &[S]).opt(0).mql(),
    t("rand_exponential", &[S]).opt(0).mql(),
    t("rand_normal", &[S]).opt(0).mql(),
    t("range_avg", &[V]).mql(),
    t("range_first", &[V]).mql(),
    t("range_last", &[V]).mql(),
    t("range_linear_regression", &[V]).mql(),
    t("range_mad", &[V]).mql(),
    t("range_max", &[V]).mql(),
    t("range_median", &[V]).mql(),
    t("range_min", &[V]).mql(),
    t("range_normalize", &[V]).var().mql(),
    t("range_quantile", &[S, V]).mql(),
    t("range_stddev", &[V]).mql(),
    t("range_stdvar", &[V]).mql(),
    t("range_sum", &[V]).mql(),
    t("range_trim_outliers", &[S, V]).mql(),
    t("range_trim_spikes", &[S, V]).mql(),
    t("range_trim_zscore", &[S, V]).mql(),
    t("range_zscore", &[V]).mql(),
    t("remove_resets", &[V]).mql(),
    t("running_avg", &[V]).mql(),
    t("running_max", &[V]).mql(),
    t("running_min", &[V]).mql(),
    t("running_sum", &[V]).mql(),
    t("smooth_exponential", &[V, S]).mql(),
    t("sort_by_label_numeric", &[V, Str]).var().mql(),
    t("sort_by_label_numeric_desc", &[V, Str]).var().mql(),
    t("timezone_offset", &[Str]).ret(RetScalar).mql(),
    t("union", &[V]).var().mql(),
    t("ru", &[V, V]).mql(),
    t("ttf", &[V]).mql(),
    // MetricsQL aggregations.
    a("any", &[V]).mql(),
    a("bottomk_avg", &[S, V, Str]).opt(2).mql(),
    a("bottomk_last", &[S, V, Str]).opt(2).mql(),
    a("bottomk_max", &[S, V, Str]).opt(2).mql(),
    a("bottomk_median", &[S, V, Str]).opt(2).mql(),
    a("bottomk_min", &[S, V, Str]).opt(2).mql(),
    a("distinct", &[V]).mql(),
    a("geomean", &[V]).mql(),
    a("histogram", &[V]).mql(),
    a("mad", &[V]).mql(),
    a("median", &[V]).mql(),
    a("mode", &[V]).mql(),
    a("outliers_iqr", &[V]).mql(),
    a("outliers_mad", &[S, V]).mql(),
    a("outliersk", &[S, V]).mql(),
    a("quantiles", &[Str, S, V]).mql(),
    a("share", &[V]).mql(),
    a("sum2", &[V]).mql(),
    a("topk_avg", &[S, V, Str]).opt(2).mql(),
    a("topk_last", &[S, V, Str]).opt(2).mql(),
    a("topk_max", &[S, V, Str]).opt(2).mql(),
    a("topk_median", &[S, V, Str]).opt(2).mql(),
    a("topk_min", &[S, V, Str]).opt(2).mql(),
    a("utilization", &[V]).mql(),
    a("zscore", &[V]).mql(),
];

fn index() -> &'static HashMap<&'static str, &'static FunctionDef> {
    static INDEX: OnceLock<HashMap<&'static str, &'static FunctionDef>> = OnceLock::new();
    INDEX.get_or_init(|| FUNCTIONS.iter().map(|f| (f.name, f)).collect())
}

/// Looks a function or aggregation up by its exact (lower-case) name.
pub fn lookup(name: &str) -> Option<&'static FunctionDef> {
    index().get(name).copied()
}

/// Looks a name up the way MetricsQL does (ASCII case-insensitive).
pub fn lookup_ignore_case(name: &str) -> Option<&'static FunctionDef> {
    lookup(name).or_else(|| lookup(&name.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_lower_case() {
        assert_eq!(index().len(), FUNCTIONS.len());
        for f in FUNCTIONS {
            assert_eq!(f.name, f.name.to_ascii_lowercase(), "{}", f.name);
            assert!(f.required <= f.args.len(), "{}", f.name);
        }
    }

    #[test]
    fn signatures() {
        let q = lookup("quantile_over_time").unwrap();
        assert_eq!(q.rollup_arg(), Some(1));
        assert!(q.implicit_window() && !q.metricsql);
        let lj = lookup("label_join").unwrap();
        assert_eq!(lj.arg_type(7), Some(ArgType::String));
        assert_eq!(lj.max_args(), None);
        assert!(lookup("topk").unwrap().has_param());
        assert!(!lookup("sum").unwrap().has_param());
        assert!(lookup("median").unwrap().metricsql);
        assert_eq!(lookup_ignore_case("RATE").map(|f| f.name), Some("rate"));
        assert!(lookup("RATE").is_none());
    }
}
