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
use super::rollup::{self as r, RollupFn};
use crate::parser::ast::Call;
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
    ("histogram_quantile", Impl::Custom(h::histogram_quantile)),
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
    (
        "holt_winters",
        Impl::Rollup(r::double_exponential_smoothing),
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
            Some(Impl::Rollup(f)) => self.rollup(c, f, g),
            Some(Impl::Map(f)) => self.map_values(c, g, |v, _| Some(f(v))),
            Some(Impl::Custom(f)) => f(self, c, g),
            None => Err(unsupported(&format!("function {}", c.func.name))),
        }
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
                Impl::Rollup(_) => assert_eq!(def.kind, FunctionKind::Rollup, "{name}"),
                Impl::Map(_) => assert_eq!(def.kind, FunctionKind::Transform, "{name}"),
                Impl::Custom(_) => assert_ne!(def.kind, FunctionKind::Aggregate, "{name}"),
            }
        }
    }
}
