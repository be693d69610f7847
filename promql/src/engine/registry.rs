//! Implementations keyed by the entries of the one function table
//! ([`crate::parser::functions::FUNCTIONS`]): the parser checks a call against the table
//! and the evaluator looks the same entry up here. A unit test keeps the two in step.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::dates as d;
use super::error::EvalResult;
use super::eval::{Ev, Grid, Val, unsupported};
use super::functions as f;
use super::histogram as h;
use super::metricsql::rollups::{self as vr, VmRollup};
use super::metricsql::{labels as ml, multi as mm, series as ms, transforms as mt};
use super::rollup::{self as r, RollupFn};
use crate::parser::ast::{Call, Expr};
use crate::parser::functions::FunctionDef;

/// A transform implemented by hand.
pub(crate) type CustomFn = fn(&Ev, &Call, &Grid) -> EvalResult<Val>;

/// How a function is evaluated.
#[derive(Clone, Copy)]
pub(crate) enum Impl {
    /// Over windows of samples.
    Rollup(RollupFn),
    /// Value by value; the name is dropped.
    Map(fn(f64) -> f64),
    /// Anything else.
    Custom(CustomFn),
    /// A MetricsQL rollup with VictoriaMetrics' windows.
    Vm(VmRollup),
}

const fn vm(f: vr::VmFn) -> Impl {
    Impl::Vm(VmRollup::new(f))
}

static IMPLS: &[(&str, Impl)] = &[
    ("abs", Impl::Map(f64::abs)),
    ("absent", Impl::Custom(f::absent)),
    ("acos", Impl::Map(f64::acos)),
    ("acosh", Impl::Map(f64::acosh)),
    ("asin", Impl::Map(f64::asin)),
    ("asinh", Impl::Map(f64::asinh)),
    ("atan", Impl::Map(f64::atan)),
    ("atanh", Impl::Map(f64::atanh)),
    ("ceil", Impl::Map(f64::ceil)),
    ("clamp", Impl::Custom(f::clamp)),
    ("clamp_max", Impl::Custom(f::clamp_max)),
    ("clamp_min", Impl::Custom(f::clamp_min)),
    ("cos", Impl::Map(f64::cos)),
    ("cosh", Impl::Map(f64::cosh)),
    ("day_of_month", Impl::Custom(d::date_fn)),
    ("day_of_week", Impl::Custom(d::date_fn)),
    ("day_of_year", Impl::Custom(d::date_fn)),
    ("days_in_month", Impl::Custom(d::date_fn)),
    ("deg", Impl::Map(f64::to_degrees)),
    ("exp", Impl::Map(f64::exp)),
    ("floor", Impl::Map(f64::floor)),
    ("histogram_fraction", Impl::Custom(h::histogram_fraction)),
    // PromQL's, reading VM buckets too (see metricsql::transforms).
    ("histogram_quantile", Impl::Custom(mt::histogram_quantile)),
    ("histogram_quantiles", Impl::Custom(h::histogram_quantiles)),
    ("hour", Impl::Custom(d::date_fn)),
    ("info", Impl::Custom(super::info::info)),
    ("label_join", Impl::Custom(f::label_join)),
    ("label_replace", Impl::Custom(f::label_replace)),
    ("ln", Impl::Map(f64::ln)),
    ("log10", Impl::Map(f64::log10)),
    ("log2", Impl::Map(f64::log2)),
    ("max_of", Impl::Custom(f::max_of)),
    ("min_of", Impl::Custom(f::min_of)),
    ("minute", Impl::Custom(d::date_fn)),
    ("month", Impl::Custom(d::date_fn)),
    ("pi", Impl::Custom(f::pi)),
    ("rad", Impl::Map(f64::to_radians)),
    ("round", Impl::Custom(f::round)),
    ("scalar", Impl::Custom(f::scalar)),
    ("sgn", Impl::Map(f::sgn)),
    ("sin", Impl::Map(f64::sin)),
    ("sinh", Impl::Map(f64::sinh)),
    ("sort", Impl::Custom(f::sort)),
    ("sort_by_label", Impl::Custom(f::sort_by_label)),
    ("sort_by_label_desc", Impl::Custom(f::sort_by_label_desc)),
    ("sort_desc", Impl::Custom(f::sort_desc)),
    ("sqrt", Impl::Map(f64::sqrt)),
    ("tan", Impl::Map(f64::tan)),
    ("tanh", Impl::Map(f64::tanh)),
    ("time", Impl::Custom(f::time)),
    ("timestamp", Impl::Custom(f::timestamp)),
    ("vector", Impl::Custom(f::vector)),
    ("year", Impl::Custom(d::date_fn)),
    ("absent_over_time", Impl::Custom(f::absent_over_time)),
    ("avg_over_time", Impl::Rollup(r::avg_over_time)),
    ("changes", Impl::Rollup(r::changes)),
    ("count_over_time", Impl::Rollup(r::count_over_time)),
    ("delta", Impl::Rollup(r::delta)),
    ("deriv", Impl::Rollup(r::deriv)),
    (
        "double_exponential_smoothing",
        Impl::Rollup(r::double_exponential_smoothing),
    ),
    ("first_over_time", Impl::Rollup(r::first_over_time)),
    // MetricsQL's holt_winters (Prometheus 3 renamed its own double_exponential_smoothing).
    (
        "holt_winters",
        Impl::Vm(VmRollup::new(vr::holt_winters).keep()),
    ),
    ("idelta", Impl::Rollup(r::idelta)),
    ("increase", Impl::Rollup(r::increase)),
    ("irate", Impl::Rollup(r::irate)),
    ("last_over_time", Impl::Rollup(r::last_over_time)),
    ("mad_over_time", Impl::Rollup(r::mad_over_time)),
    ("max_over_time", Impl::Rollup(r::max_over_time)),
    ("min_over_time", Impl::Rollup(r::min_over_time)),
    ("predict_linear", Impl::Rollup(r::predict_linear)),
    ("present_over_time", Impl::Rollup(r::present_over_time)),
    ("quantile_over_time", Impl::Rollup(r::quantile_over_time)),
    ("rate", Impl::Rollup(r::rate)),
    ("resets", Impl::Rollup(r::resets)),
    ("stddev_over_time", Impl::Rollup(r::stddev_over_time)),
    ("stdvar_over_time", Impl::Rollup(r::stdvar_over_time)),
    ("sum_over_time", Impl::Rollup(r::sum_over_time)),
    (
        "ts_of_first_over_time",
        Impl::Rollup(r::ts_of_first_over_time),
    ),
    (
        "ts_of_last_over_time",
        Impl::Rollup(r::ts_of_last_over_time),
    ),
    ("ts_of_max_over_time", Impl::Rollup(r::ts_of_max_over_time)),
    ("ts_of_min_over_time", Impl::Rollup(r::ts_of_min_over_time)),
    // MetricsQL rollups (VictoriaMetrics' semantics).
    ("aggr_over_time", Impl::Custom(mm::aggr_over_time)),
    ("ascent_over_time", vm(vr::ascent_over_time)),
    ("changes_prometheus", vm(vr::changes_prometheus)),
    ("count_eq_over_time", vm(vr::count_eq_over_time)),
    ("count_gt_over_time", vm(vr::count_gt_over_time)),
    ("count_le_over_time", vm(vr::count_le_over_time)),
    ("count_ne_over_time", vm(vr::count_ne_over_time)),
    (
        "count_values_over_time",
        Impl::Custom(mm::count_values_over_time),
    ),
    ("decreases_over_time", vm(vr::decreases_over_time)),
    (
        "default_rollup",
        Impl::Vm(VmRollup::new(vr::default_rollup).adjust().keep()),
    ),
    ("delta_prometheus", vm(vr::delta_prometheus)),
    (
        "deriv_fast",
        Impl::Vm(VmRollup::new(vr::deriv_fast).adjust()),
    ),
    ("descent_over_time", vm(vr::descent_over_time)),
    ("distinct_over_time", vm(vr::distinct_over_time)),
    ("duration_over_time", vm(vr::duration_over_time)),
    (
        "geomean_over_time",
        Impl::Vm(VmRollup::new(vr::geomean_over_time).keep()),
    ),
    ("histogram_over_time", Impl::Custom(mm::histogram_over_time)),
    (
        "hoeffding_bound_lower",
        Impl::Vm(VmRollup::new(vr::hoeffding_bound_lower).keep()),
    ),
    (
        "hoeffding_bound_upper",
        Impl::Vm(VmRollup::new(vr::hoeffding_bound_upper).keep()),
    ),
    ("ideriv", Impl::Vm(VmRollup::new(vr::ideriv).adjust())),
    (
        "increase_prometheus",
        Impl::Vm(VmRollup::new(vr::delta_prometheus).resets()),
    ),
    (
        "increase_pure",
        Impl::Vm(VmRollup::new(vr::increase_pure).resets()),
    ),
    ("increases_over_time", vm(vr::increases_over_time)),
    ("integrate", vm(vr::integrate)),
    ("lag", vm(vr::lag)),
    ("lifetime", vm(vr::lifetime)),
    (
        "median_over_time",
        Impl::Vm(VmRollup::new(vr::median_over_time).keep()),
    ),
    (
        "mode_over_time",
        Impl::Vm(VmRollup::new(vr::mode_over_time).keep()),
    ),
    ("outlier_iqr_over_time", vm(vr::outlier_iqr_over_time)),
    ("quantiles_over_time", Impl::Custom(mm::quantiles_over_time)),
    ("range_over_time", vm(vr::range_over_time)),
    (
        "rate_over_sum",
        Impl::Vm(VmRollup::new(vr::rate_over_sum).adjust()),
    ),
    (
        "rate_prometheus",
        Impl::Vm(VmRollup::new(vr::rate_prometheus).resets()),
    ),
    ("rollup", Impl::Custom(mm::rollup)),
    ("rollup_candlestick", Impl::Custom(mm::rollup_candlestick)),
    ("rollup_delta", Impl::Custom(mm::rollup_delta)),
    ("rollup_deriv", Impl::Custom(mm::rollup_deriv)),
    ("rollup_increase", Impl::Custom(mm::rollup_increase)),
    ("rollup_rate", Impl::Custom(mm::rollup_rate)),
    (
        "rollup_scrape_interval",
        Impl::Custom(mm::rollup_scrape_interval),
    ),
    (
        "scrape_interval",
        Impl::Vm(VmRollup::new(vr::scrape_interval).adjust()),
    ),
    ("share_eq_over_time", vm(vr::share_eq_over_time)),
    ("share_gt_over_time", vm(vr::share_gt_over_time)),
    ("share_le_over_time", vm(vr::share_le_over_time)),
    (
        "stale_samples_over_time",
        Impl::Vm(VmRollup::new(vr::stale_samples_over_time).stale()),
    ),
    ("sum_eq_over_time", vm(vr::sum_eq_over_time)),
    ("sum_gt_over_time", vm(vr::sum_gt_over_time)),
    ("sum_le_over_time", vm(vr::sum_le_over_time)),
    ("sum_lt_over_time", vm(vr::sum_lt_over_time)),
    ("sum2_over_time", vm(vr::sum2_over_time)),
    ("tfirst_over_time", vm(vr::tfirst_over_time)),
    (
        "timestamp_with_name",
        Impl::Vm(VmRollup::new(vr::tlast_over_time).keep()),
    ),
    ("tlast_change_over_time", vm(vr::tlast_change_over_time)),
    ("tlast_over_time", vm(vr::tlast_over_time)),
    ("tmax_over_time", vm(vr::tmax_over_time)),
    ("tmin_over_time", vm(vr::tmin_over_time)),
    ("zscore_over_time", vm(vr::zscore_over_time)),
    // MetricsQL transforms.
    ("bitmap_and", Impl::Custom(mt::bitmap_and)),
    ("bitmap_or", Impl::Custom(mt::bitmap_or)),
    ("bitmap_xor", Impl::Custom(mt::bitmap_xor)),
    ("buckets_limit", Impl::Custom(mt::buckets_limit)),
    ("drop_common_labels", Impl::Custom(ml::drop_common_labels)),
    ("drop_empty_series", Impl::Custom(ms::drop_empty_series)),
    ("histogram_share", Impl::Custom(mt::histogram_share)),
    // On classic and VM buckets, as VictoriaMetrics computes them.
    ("histogram_avg", Impl::Custom(mt::histogram_avg)),
    ("histogram_stddev", Impl::Custom(mt::histogram_stddev)),
    ("histogram_stdvar", Impl::Custom(mt::histogram_stdvar)),
    ("interpolate", Impl::Custom(ms::interpolate)),
    ("keep_last_value", Impl::Custom(ms::keep_last_value)),
    ("keep_next_value", Impl::Custom(ms::keep_next_value)),
    ("label_copy", Impl::Custom(ml::label_copy)),
    ("label_del", Impl::Custom(ml::label_del)),
    (
        "label_graphite_group",
        Impl::Custom(ml::label_graphite_group),
    ),
    ("label_keep", Impl::Custom(ml::label_keep)),
    ("label_lowercase", Impl::Custom(ml::label_lowercase)),
    ("label_map", Impl::Custom(ml::label_map)),
    ("label_match", Impl::Custom(ml::label_match)),
    ("label_mismatch", Impl::Custom(ml::label_mismatch)),
    ("label_move", Impl::Custom(ml::label_move)),
    ("label_set", Impl::Custom(ml::label_set)),
    ("label_transform", Impl::Custom(ml::label_transform)),
    ("label_uppercase", Impl::Custom(ml::label_uppercase)),
    ("label_value", Impl::Custom(ml::label_value)),
    ("labels_equal", Impl::Custom(ml::labels_equal)),
    ("limit_offset", Impl::Custom(mt::limit_offset)),
    ("now", Impl::Custom(mt::now)),
    ("prometheus_buckets", Impl::Custom(mt::prometheus_buckets)),
    ("rand", Impl::Custom(mt::rand)),
    ("rand_exponential", Impl::Custom(mt::rand_exponential)),
    ("rand_normal", Impl::Custom(mt::rand_normal)),
    ("range_avg", Impl::Custom(ms::range_avg)),
    ("range_first", Impl::Custom(ms::range_first)),
    ("range_last", Impl::Custom(ms::range_last)),
    (
        "range_linear_regression",
        Impl::Custom(ms::range_linear_regression),
    ),
    ("range_mad", Impl::Custom(ms::range_mad)),
    ("range_max", Impl::Custom(ms::range_max)),
    ("range_median", Impl::Custom(ms::range_median)),
    ("range_min", Impl::Custom(ms::range_min)),
    ("range_normalize", Impl::Custom(ms::range_normalize)),
    ("range_quantile", Impl::Custom(ms::range_quantile)),
    ("range_stddev", Impl::Custom(ms::range_stddev)),
    ("range_stdvar", Impl::Custom(ms::range_stdvar)),
    ("range_sum", Impl::Custom(ms::range_sum)),
    ("range_trim_outliers", Impl::Custom(ms::range_trim_outliers)),
    ("range_trim_spikes", Impl::Custom(ms::range_trim_spikes)),
    ("range_trim_zscore", Impl::Custom(ms::range_trim_zscore)),
    ("range_zscore", Impl::Custom(ms::range_zscore)),
    ("remove_resets", Impl::Custom(ms::remove_resets)),
    ("ru", Impl::Custom(mt::ru)),
    ("running_avg", Impl::Custom(ms::running_avg)),
    ("running_max", Impl::Custom(ms::running_max)),
    ("running_min", Impl::Custom(ms::running_min)),
    ("running_sum", Impl::Custom(ms::running_sum)),
    ("smooth_exponential", Impl::Custom(ms::smooth_exponential)),
    (
        "sort_by_label_numeric",
        Impl::Custom(ml::sort_by_label_numeric),
    ),
    (
        "sort_by_label_numeric_desc",
        Impl::Custom(ml::sort_by_label_numeric_desc),
    ),
    (
        "timezone_offset",
        Impl::Custom(super::metricsql::tz::timezone_offset),
    ),
    ("union", Impl::Custom(mt::union)),
];

fn index() -> &'static HashMap<&'static str, Impl> {
    static INDEX: OnceLock<HashMap<&'static str, Impl>> = OnceLock::new();
    INDEX.get_or_init(|| IMPLS.iter().copied().collect())
}

/// The implementation of a table entry, if the evaluator has one.
pub(crate) fn lookup(def: &FunctionDef) -> Option<Impl> {
    index().get(def.name).copied()
}

impl Ev<'_> {
    /// Evaluates a function call.
    pub fn call(&self, c: &Call, g: &Grid) -> EvalResult<Val> {
        match lookup(c.func) {
            Some(Impl::Rollup(f)) => {
                let explicit = self.explicit_window(c, g)?;
                Ok(keep_metric_names(c, self.rollup(&explicit, f, g)?))
            }
            Some(Impl::Map(f)) if c.keep_metric_names => self.map_keeping_names(c, g, f),
            Some(Impl::Map(f)) => self.map_values(c, g, |v, _| Some(f(v))),
            Some(Impl::Custom(f)) => f(self, c, g),
            Some(Impl::Vm(r)) => self.vm_rollup(c, r, g),
            None => Err(unsupported(&format!("function {}", c.func.name))),
        }
    }

    /// `abs(x) keep_metric_names`: the values mapped, the names as they were.
    fn map_keeping_names(&self, c: &Call, g: &Grid, f: fn(f64) -> f64) -> EvalResult<Val> {
        let Some(arg) = c.args.first() else {
            return self.map_values(c, g, |v, _| Some(f(v)));
        };
        let mut v = self.eval_vector(arg, g)?;
        for s in &mut v {
            for x in s.vals.iter_mut() {
                *x = x.map(f);
            }
        }
        Ok(Val::Vector(v))
    }
}

/// `rate(x[5m]) keep_metric_names`: a PromQL rollup of raw samples keeps the names (a
/// subquery's series keep the flags they had).
fn keep_metric_names(c: &Call, v: Val) -> Val {
    let raw = matches!(
        c.args.get(c.func.rollup_arg().unwrap_or(0)),
        Some(Expr::Matrix(_) | Expr::Vector(_))
    );
    match v {
        Val::Vector(mut ss) if c.keep_metric_names && raw => {
            for s in &mut ss {
                s.drop_name = false;
            }
            Val::Vector(ss)
        }
        v => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::functions::{FunctionKind, lookup as table};

    #[test]
    fn every_implementation_is_a_table_entry_of_its_kind() {
        assert_eq!(index().len(), IMPLS.len(), "duplicate names");
        for (name, imp) in IMPLS {
            let def = table(name).unwrap_or_else(|| panic!("{name} is not in the table"));
            match imp {
                Impl::Rollup(_) | Impl::Vm(_) => {
                    assert_eq!(def.kind, FunctionKind::Rollup, "{name}")
                }
                Impl::Map(_) => assert_eq!(def.kind, FunctionKind::Transform, "{name}"),
                Impl::Custom(_) => assert_ne!(def.kind, FunctionKind::Aggregate, "{name}"),
            }
        }
    }
}
