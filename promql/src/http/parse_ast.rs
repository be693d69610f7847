//! `/api/v1/parse_query`: the syntax tree as JSON in the shape of Prometheus 3's
//! `translateAST` (web/api/v1), node objects with `type` = `vectorSelector`,
//! `matrixSelector`, `subquery`, `binaryExpr`, `aggregation`, `call`, `numberLiteral`,
//! `stringLiteral`, `unaryExpr`, `parenExpr`, and `durationExpr` inside `rangeExpr`,
//! `offsetExpr` and `stepExpr`. Keys come in byte order, as Go writes a map, so the bytes
//! match Prometheus' for the same tree.
//!
//! Our tree keeps no parentheses: a `parenExpr` (and a duration's `wrapped`) is emitted
//! where the canonical printer needs one, so a query written in canonical form gives
//! Prometheus' tree; redundant parentheses (`(foo)`) and unary plus vanish. Other
//! differences: a metric name written as a quoted string inside the braces (`{"foo"}`)
//! is reported as `name` with its matcher last; MetricsQL-only parts add keys Prometheus
//! never sends (`limit` and `args` on aggregations, `keepMetricNames` on calls) or use
//! `durationExpr` ops of their own (`i` for `5i`, `$__interval`, `$__rate_interval`);
//! the `step()`/`range()`/`start()`/`end()` scalars are shown as zero-argument calls;
//! non-finite fill values are strings (`"NaN"`), where Go's encoder would fail.

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Response;

use super::format::parse_query_param;
use super::json::write_json_string;
use super::{ApiError, Params, json_response};
use crate::parser::ast::{
    AggregateExpr, AtModifier, BinaryExpr, BinaryOp, Call, Duration, DurationOp, Expr, Group,
    Number, ValueType, VectorMatching, VectorSelector,
};
use crate::parser::functions::FunctionDef;
use crate::parser::typecheck::type_of;

pub(super) async fn handle(RawQuery(query): RawQuery, body: Bytes) -> Result<Response, ApiError> {
    let expr = parse_query_param(&Params::parse(query.as_deref(), &body))?;
    let mut out = String::from(r#"{"status":"success","data":"#);
    out.push_str(&ast_json(&expr));
    out.push('}');
    Ok(json_response(StatusCode::OK, out))
}

/// The tree of `expr` as Prometheus' `/api/v1/parse_query` writes it (see the module
/// documentation for where the two differ).
pub fn ast_json(expr: &Expr) -> String {
    match expr {
        Expr::Number(Number(v)) => {
            let mut o = Obj::new("numberLiteral");
            o.str("val", &go_float(*v));
            o.finish()
        }
        Expr::String(s) => {
            let mut o = Obj::new("stringLiteral");
            o.str("val", s);
            o.finish()
        }
        Expr::Vector(v) => selector(Obj::new("vectorSelector"), v),
        Expr::Matrix(m) => {
            let mut o = Obj::new("matrixSelector");
            let (ms, ex) = duration_fields(&m.range, false);
            o.raw("range", ms.to_string());
            o.raw("rangeExpr", ex);
            selector(o, &m.selector)
        }
        Expr::Subquery(s) => {
            let mut o = Obj::new("subquery");
            let bare = match &*s.expr {
                Expr::Vector(v) => v.offset.is_none() && v.at.is_none() && v.modifier.is_none(),
                Expr::Call(_) | Expr::Aggregate(_) | Expr::Special(_) => true,
                _ => false,
            };
            o.raw("expr", wrap(&s.expr, !bare));
            let (ms, ex) = duration_fields(&s.range, false);
            o.raw("range", ms.to_string());
            o.raw("rangeExpr", ex);
            let (ms, ex) = match &s.step {
                Some(d) => duration_fields(d, false),
                None => (0, "null".into()),
            };
            o.raw("step", ms.to_string());
            o.raw("stepExpr", ex);
            offset_and_at(&mut o, s.offset.as_ref(), s.at);
            o.finish()
        }
        Expr::Neg(e) => {
            let mut o = Obj::new("unaryExpr");
            o.str("op", "-");
            let paren = matches!(&**e, Expr::Binary(_)) || is_negative_number(e);
            o.raw("expr", wrap(e, paren));
            o.finish()
        }
        Expr::Binary(b) => binary(b),
        Expr::Aggregate(a) => aggregation(a),
        Expr::Call(c) => call(c),
        Expr::Special(s) => {
            let mut o = Obj::new("call");
            o.raw("func", func_object(s.name(), &[], 0, ValueType::Scalar));
            o.raw("args", "[]".into());
            o.finish()
        }
    }
}

/// A JSON object whose keys are written in byte order (Go's encoding of a map).
struct Obj(Vec<(&'static str, String)>);

impl Obj {
    fn new(ty: &str) -> Self {
        let mut o = Obj(Vec::with_capacity(10));
        o.str("type", ty);
        o
    }

    fn raw(&mut self, key: &'static str, json: String) {
        self.0.push((key, json));
    }

    fn str(&mut self, key: &'static str, s: &str) {
        let mut v = String::with_capacity(s.len() + 2);
        write_json_string(&mut v, s);
        self.raw(key, v);
    }

    fn bool(&mut self, key: &'static str, b: bool) {
        self.raw(key, b.to_string());
    }

    fn finish(mut self) -> String {
        self.0.sort_by(|a, b| a.0.cmp(b.0));
        let mut out = String::from("{");
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json_string(&mut out, k);
            out.push(':');
            out.push_str(v);
        }
        out.push('}');
        out
    }
}

fn list<T>(items: &[T], mut item: impl FnMut(&T) -> String) -> String {
    let parts: Vec<String> = items.iter().map(&mut item).collect();
    format!("[{}]", parts.join(","))
}

fn strings(items: &[String]) -> String {
    list(items, |s| {
        let mut v = String::new();
        write_json_string(&mut v, s);
        v
    })
}

/// `expr`, inside a `parenExpr` node when `paren`.
fn wrap(e: &Expr, paren: bool) -> String {
    let inner = ast_json(e);
    if !paren {
        return inner;
    }
    let mut o = Obj::new("parenExpr");
    o.raw("expr", inner);
    o.finish()
}

fn is_negative_number(e: &Expr) -> bool {
    matches!(e, Expr::Number(Number(v)) if v.is_sign_negative() && !v.is_nan())
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: shortest exact digits, no exponent.
fn go_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// A float as Go's `encoding/json` writes it (exponent form outside `[1e-6, 1e21)`);
/// non-finite values, which Go cannot encode, as strings.
fn json_number(v: f64) -> String {
    if !v.is_finite() {
        return format!("\"{}\"", go_float(v));
    }
    let a = v.abs();
    if a == 0.0 || (1e-6..1e21).contains(&a) {
        return format!("{v}");
    }
    let s = format!("{v:e}");
    match s.split_once('e') {
        Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
        _ => s,
    }
}

/// Seconds as milliseconds, rounded (Prometheus' `@` and numeric durations).
fn seconds_to_ms(s: f64) -> i64 {
    (s * 1000.0).round() as i64
}

/// The fields shared by vector and matrix selectors, then the object.
fn selector(mut o: Obj, v: &VectorSelector) -> String {
    o.str("name", v.name.as_deref().unwrap_or(""));
    let mut matchers: Vec<String> = v
        .matchers
        .iter()
        .map(|m| matcher(&m.name, m.op.as_str(), &m.value))
        .collect();
    if let Some(n) = &v.name {
        matchers.push(matcher(gnomon_tsdb_core::model::METRIC_NAME, "=", n));
    }
    o.raw("matchers", format!("[{}]", matchers.join(",")));
    offset_and_at(&mut o, v.offset.as_ref(), v.at);
    o.bool(
        "anchored",
        v.modifier == Some(crate::parser::ast::RangeModifier::Anchored),
    );
    o.bool(
        "smoothed",
        v.modifier == Some(crate::parser::ast::RangeModifier::Smoothed),
    );
    o.finish()
}

fn matcher(name: &str, op: &str, value: &str) -> String {
    let mut o = Obj(Vec::with_capacity(3));
    o.str("name", name);
    o.str("type", op);
    o.str("value", value);
    o.finish()
}

fn offset_and_at(o: &mut Obj, offset: Option<&Duration>, at: Option<AtModifier>) {
    let (ms, ex) = match offset {
        Some(d) => duration_fields(d, true),
        None => (0, "null".into()),
    };
    o.raw("offset", ms.to_string());
    o.raw("offsetExpr", ex);
    let (ts, soe) = match at {
        None => ("null".into(), "null"),
        Some(AtModifier::Time(Number(t))) => (seconds_to_ms(t).to_string(), "null"),
        Some(AtModifier::Start) => ("null".into(), "\"start\""),
        Some(AtModifier::End) => ("null".into(), "\"end\""),
    };
    o.raw("timestamp", ts);
    o.raw("startOrEnd", soe.into());
}

/// A duration as Prometheus splits it: a literal is a number of milliseconds and no
/// expression; anything else is `0` and a `durationExpr` tree. `after_offset`: the
/// duration follows `offset`, where any operator needs parentheses.
fn duration_fields(d: &Duration, after_offset: bool) -> (i64, String) {
    match d {
        Duration::Millis(ms) => (*ms, "null".into()),
        Duration::Seconds(Number(s)) => (seconds_to_ms(*s), "null".into()),
        d => {
            let wrapped = after_offset
                && match d {
                    Duration::Binary(..) => true,
                    Duration::Neg(inner) => !is_atom(inner) || is_negative_atom(inner),
                    _ => false,
                };
            (0, duration_json(d, wrapped))
        }
    }
}

fn is_atom(d: &Duration) -> bool {
    !matches!(d, Duration::Binary(..) | Duration::Neg(_))
}

fn is_negative_atom(d: &Duration) -> bool {
    match d {
        Duration::Millis(ms) => *ms < 0,
        Duration::Seconds(Number(v)) => v.is_sign_negative() && !v.is_nan(),
        Duration::Neg(_) => true,
        _ => false,
    }
}

fn duration_number(val: f64, is_duration: bool) -> String {
    let mut o = Obj::new("numberLiteral");
    o.str("val", &go_float(val));
    o.bool("duration", is_duration);
    o.finish()
}

fn duration_node(op: &str, lhs: Option<String>, rhs: Option<String>, wrapped: bool) -> String {
    let mut o = Obj::new("durationExpr");
    o.str("op", op);
    o.raw("lhs", lhs.unwrap_or_else(|| "null".into()));
    o.raw("rhs", rhs.unwrap_or_else(|| "null".into()));
    o.bool("wrapped", wrapped);
    o.finish()
}

fn duration_json(d: &Duration, wrapped: bool) -> String {
    match d {
        Duration::Millis(ms) => duration_number(*ms as f64 / 1000.0, true),
        Duration::Seconds(Number(s)) => duration_number(*s, false),
        Duration::Special(s) => duration_node(s.name(), None, None, wrapped),
        Duration::Steps(Number(n)) => {
            duration_node("i", Some(duration_number(*n, false)), None, wrapped)
        }
        Duration::Interval => duration_node("$__interval", None, None, wrapped),
        Duration::RateInterval => duration_node("$__rate_interval", None, None, wrapped),
        Duration::Neg(inner) => {
            let paren = !is_atom(inner) || is_negative_atom(inner);
            duration_node("-", None, Some(duration_json(inner, paren)), wrapped)
        }
        Duration::Call(f, a, b) => duration_node(
            f.name(),
            Some(duration_json(a, false)),
            Some(duration_json(b, false)),
            wrapped,
        ),
        Duration::Binary(op, l, r) => {
            let p = op.precedence();
            let right = *op == DurationOp::Pow;
            let lp = match &**l {
                Duration::Binary(lo, ..) => lo.precedence() < p || (lo.precedence() == p && right),
                l => right && is_negative_atom(l),
            };
            let rp = match &**r {
                Duration::Binary(ro, ..) => ro.precedence() < p || (ro.precedence() == p && !right),
                _ => false,
            };
            duration_node(
                op.as_str(),
                Some(duration_json(l, lp)),
                Some(duration_json(r, rp)),
                wrapped,
            )
        }
    }
}

fn binary(b: &BinaryExpr) -> String {
    let mut o = Obj::new("binaryExpr");
    o.str("op", b.op.as_str());
    o.bool("bool", b.modifier.return_bool);
    let p = b.op.precedence();
    let right = b.op.is_right_assoc();
    let lp = match &*b.lhs {
        Expr::Binary(l) => l.op.precedence() < p || (l.op.precedence() == p && right),
        l => b.op == BinaryOp::Pow && (matches!(l, Expr::Neg(_)) || is_negative_number(l)),
    };
    let rp = match &*b.rhs {
        Expr::Binary(r) => r.op.precedence() < p || (r.op.precedence() == p && !right),
        _ => false,
    };
    o.raw("lhs", wrap(&b.lhs, lp));
    o.raw("rhs", wrap(&b.rhs, rp));
    // Prometheus keeps vector matching only between two instant vectors.
    let vectors = type_of(&b.lhs) == ValueType::Vector && type_of(&b.rhs) == ValueType::Vector;
    o.raw(
        "matching",
        if vectors { matching(b) } else { "null".into() },
    );
    o.finish()
}

fn matching(b: &BinaryExpr) -> String {
    let m = &b.modifier;
    let mut o = Obj(Vec::with_capacity(5));
    let (card, include): (&str, &[String]) = match &m.group {
        _ if b.op.is_set_op() => ("many-to-many", &[]),
        Some(Group::Left(l)) => ("many-to-one", l),
        Some(Group::Right(l)) => ("one-to-many", l),
        None => ("one-to-one", &[]),
    };
    o.str("card", card);
    o.raw("include", strings(include));
    let (on, labels): (bool, &[String]) = match &m.matching {
        Some(VectorMatching::On(l)) => (true, l),
        Some(VectorMatching::Ignoring(l)) => (false, l),
        None => (false, &[]),
    };
    o.bool("on", on);
    o.raw("labels", strings(labels));
    let mut fill = Obj(Vec::with_capacity(2));
    let num = |n: Option<Number>| n.map_or_else(|| "null".into(), |Number(v)| json_number(v));
    fill.raw("lhs", num(m.fill_left));
    fill.raw("rhs", num(m.fill_right));
    o.raw("fillValues", fill.finish());
    o.finish()
}

fn aggregation(a: &AggregateExpr) -> String {
    let mut o = Obj::new("aggregation");
    o.str("op", a.func.name);
    let param = a.param();
    o.raw("param", param.map_or_else(|| "null".into(), ast_json));
    o.raw("expr", a.expr().map_or_else(|| "null".into(), ast_json));
    let (without, labels): (bool, &[String]) = match &a.grouping {
        Some(crate::parser::ast::Grouping::By(l)) => (false, l),
        Some(crate::parser::ast::Grouping::Without(l)) => (true, l),
        None => (false, &[]),
    };
    o.raw("grouping", strings(labels));
    o.bool("without", without);
    if let Some(n) = a.limit {
        o.raw("limit", n.to_string());
    }
    if a.args.len() > 1 + usize::from(param.is_some()) {
        o.raw("args", list(&a.args, ast_json));
    }
    o.finish()
}

fn call(c: &Call) -> String {
    let mut o = Obj::new("call");
    let f: &FunctionDef = c.func;
    let variadic = if f.variadic {
        -1
    } else {
        i64::try_from(f.args.len().saturating_sub(f.required)).unwrap_or(i64::MAX)
    };
    let types: Vec<ValueType> = f.args.iter().map(|t| t.value_type()).collect();
    o.raw("func", func_object(f.name, &types, variadic, f.ret));
    o.raw("args", list(&c.args, ast_json));
    if c.keep_metric_names {
        o.bool("keepMetricNames", true);
    }
    o.finish()
}

/// Go's names of value types (`parser.ValueType`).
fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::Scalar => "scalar",
        ValueType::String => "string",
        ValueType::Vector => "vector",
        ValueType::Matrix => "matrix",
    }
}

fn func_object(name: &str, args: &[ValueType], variadic: i64, ret: ValueType) -> String {
    let mut o = Obj(Vec::with_capacity(4));
    o.str("name", name);
    o.raw("argTypes", list(args, |t| format!("\"{}\"", type_name(*t))));
    o.raw("variadic", variadic.to_string());
    o.str("returnType", type_name(ret));
    o.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(q: &str) -> serde_json::Value {
        let s = ast_json(&crate::parse(q).unwrap());
        serde_json::from_str(&s).unwrap_or_else(|e| panic!("{q}: {e}: {s}"))
    }

    #[test]
    fn floats_print_like_go() {
        assert_eq!(go_float(1e300).len(), 301);
        assert_eq!(go_float(1e-7), "0.0000001");
        assert_eq!(go_float(f64::INFINITY), "+Inf");
        assert_eq!(go_float(-0.0), "-0");
        assert_eq!(json_number(1e21), "1e+21");
        assert_eq!(json_number(1.5e-7), "1.5e-7");
        assert_eq!(json_number(0.5), "0.5");
        assert_eq!(json_number(f64::NAN), "\"NaN\"");
    }

    #[test]
    fn keys_come_in_byte_order() {
        assert_eq!(
            ast_json(&crate::parse("x").unwrap()),
            concat!(
                r#"{"anchored":false,"matchers":[{"name":"__name__","type":"=","value":"x"}],"#,
                r#""name":"x","offset":0,"offsetExpr":null,"smoothed":false,"#,
                r#""startOrEnd":null,"timestamp":null,"type":"vectorSelector"}"#
            )
        );
    }

    #[test]
    fn parentheses_the_printer_needs_become_paren_nodes() {
        let t = tree("(a + b) * c");
        assert_eq!(t["lhs"]["type"], "parenExpr");
        assert_eq!(t["lhs"]["expr"]["op"], "+");
        assert_eq!(t["rhs"]["type"], "vectorSelector");
        let t = tree("-(a - b)");
        assert_eq!(t["expr"]["type"], "parenExpr");
        let t = tree("(a + b)[5m:]");
        assert_eq!(t["expr"]["type"], "parenExpr");
        let t = tree("a - (b - c)");
        assert_eq!(t["rhs"]["type"], "parenExpr");
        assert_eq!(t["lhs"]["type"], "vectorSelector");
    }

    #[test]
    fn duration_expressions_follow_prometheus() {
        let t = tree("foo[5m+1m] offset (10m/2)");
        assert_eq!(t["range"], 0);
        assert_eq!(
            t["rangeExpr"],
            serde_json::json!({"type":"durationExpr","op":"+","wrapped":false,
                "lhs":{"type":"numberLiteral","val":"300","duration":true},
                "rhs":{"type":"numberLiteral","val":"60","duration":true}})
        );
        assert_eq!(t["offset"], 0);
        assert_eq!(t["offsetExpr"]["wrapped"], true);
        assert_eq!(
            t["offsetExpr"]["rhs"],
            serde_json::json!({"type":"numberLiteral","val":"2","duration":false})
        );
        let t = tree("foo offset -min_of(5s, step() + 8s)");
        let e = &t["offsetExpr"];
        assert_eq!((e["op"].as_str(), e["lhs"].is_null()), (Some("-"), true));
        assert_eq!(e["rhs"]["op"], "min_of");
        assert_eq!(e["rhs"]["rhs"]["lhs"]["op"], "step");
        let t = tree("foo[4s+4s:1s*2]");
        assert_eq!(
            (t["step"].as_i64(), t["stepExpr"]["op"].as_str()),
            (Some(0), Some("*"))
        );
        let t = tree("foo[300]");
        assert_eq!(
            (t["range"].as_i64(), t["rangeExpr"].is_null()),
            (Some(300_000), true)
        );
    }

    #[test]
    fn metricsql_parts_get_their_own_keys() {
        let t = tree("sum(x) limit 3");
        assert_eq!(t["limit"], 3);
        let t = tree("sum(x, y)");
        assert_eq!(
            (t["expr"]["name"].as_str(), t["args"][0]["name"].as_str()),
            (Some("y"), Some("x"))
        );
        let t = tree("rate(x[5i])");
        assert_eq!(t["args"][0]["rangeExpr"]["op"], "i");
        let t = tree("abs(x) keep_metric_names");
        assert_eq!(t["keepMetricNames"], true);
        let t = tree("a + on(x) group_left fill(0) b");
        assert_eq!(
            t["matching"]["fillValues"],
            serde_json::json!({"lhs":0,"rhs":0})
        );
    }

    proptest::proptest! {
        #[test]
        fn label_values_and_numbers_survive_the_json(s in "\\PC*", v in proptest::num::f64::ANY) {
            let mut q = String::from("foo{l=");
            crate::parser::printer::write_string(&mut q, &s).unwrap();
            q.push('}');
            let t = tree(&q);
            proptest::prop_assert_eq!(t["matchers"][0]["value"].as_str(), Some(s.as_str()));
            let t = tree(&Number(v).to_string());
            let val = t["val"].as_str().unwrap();
            let back = match val {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse::<f64>().unwrap(),
            };
            proptest::prop_assert!(back.to_bits() == v.to_bits() || (v.is_nan() && back.is_nan()));
            if v.is_finite() {
                // A JSON number (serde_json accepts it), exactly `v` (std's exact parser).
                let text = json_number(v);
                proptest::prop_assert!(serde_json::from_str::<f64>(&text).is_ok());
                let j: f64 = text.parse().unwrap();
                proptest::prop_assert_eq!(j.to_bits(), v.to_bits());
            }
        }
    }

    #[test]
    fn matching_is_null_unless_both_sides_are_vectors() {
        assert!(tree("2 * foo")["matching"].is_null());
        assert_eq!(tree("foo unless bar")["matching"]["card"], "many-to-many");
        assert_eq!(
            tree("a / on(i) group_right(j) b")["matching"]["card"],
            "one-to-many"
        );
    }
}
