//! The type check: the type of every expression and the rules of Prometheus'
//! `checkAST` (operand types of operators, function signatures from the function table).
//! MetricsQL mode relaxes them as VictoriaMetrics does: scalars and instant vectors are
//! interchangeable and a rollup may take an instant vector (implicit window).

use crate::error::ParseErrorKind;
use crate::parser::ast::{BinModifier, BinaryOp, Expr, Group, Grouping, ValueType, VectorMatching};
use crate::parser::functions::{ArgType, FunctionDef, FunctionKind};

/// The type of the value `e` evaluates to.
pub fn type_of(e: &Expr) -> ValueType {
    match e {
        Expr::Number(_) | Expr::Special(_) => ValueType::Scalar,
        Expr::String(_) => ValueType::String,
        Expr::Vector(_) | Expr::Aggregate(_) => ValueType::Vector,
        Expr::Matrix(_) | Expr::Subquery(_) => ValueType::Matrix,
        Expr::Neg(x) => type_of(x),
        Expr::Binary(b) => {
            if type_of(&b.lhs) == ValueType::Scalar && type_of(&b.rhs) == ValueType::Scalar {
                ValueType::Scalar
            } else {
                ValueType::Vector
            }
        }
        Expr::Call(c) => c.func.ret,
    }
}

fn is_instant(t: ValueType) -> bool {
    matches!(t, ValueType::Scalar | ValueType::Vector)
}

/// Checks a unary minus/plus operand.
///
/// # Errors
/// The message when the operand is a string or a range vector.
pub fn unary(e: &Expr, _mql: bool) -> Result<(), String> {
    if is_instant(type_of(e)) {
        Ok(())
    } else {
        Err(format!(
            "unary expression only allowed on expressions of type scalar or instant vector, got {}",
            type_of(e).name()
        ))
    }
}

/// Checks a binary expression.
///
/// # Errors
/// The message Prometheus gives for the first rule broken.
pub fn binary(
    op: BinaryOp,
    lhs: &Expr,
    rhs: &Expr,
    m: &BinModifier,
    mql: bool,
) -> Result<(), String> {
    let (lt, rt) = (type_of(lhs), type_of(rhs));
    if !is_instant(lt) || !is_instant(rt) {
        return Err("binary expression must contain only scalar and instant vector types".into());
    }
    if m.return_bool && !op.is_comparison() {
        return Err("bool modifier can only be used on comparison operators".into());
    }
    let both_scalar = lt == ValueType::Scalar && rt == ValueType::Scalar;
    if op.is_comparison() && both_scalar && !m.return_bool && !mql {
        return Err("comparisons between scalars must use BOOL modifier".into());
    }
    let vectors = lt == ValueType::Vector && rt == ValueType::Vector;
    if op.is_set_op() && !vectors && !mql {
        return Err(format!(
            "set operator {:?} not allowed in binary scalar expression",
            op.as_str()
        ));
    }
    if (m.matching.is_some() || m.group.is_some()) && !vectors && !mql {
        return Err("vector matching only allowed between instant vectors".into());
    }
    if op.is_set_op() && m.group.is_some() {
        return Err(format!(
            "no grouping allowed for {:?} operation",
            op.as_str()
        ));
    }
    if let (Some(VectorMatching::On(on)), Some(Group::Left(g) | Group::Right(g))) =
        (&m.matching, &m.group)
        && let Some(l) = g.iter().find(|l| on.contains(l))
    {
        return Err(format!(
            "label {l:?} must not occur in ON and GROUP clause at once"
        ));
    }
    Ok(())
}

/// Checks the expression a subquery applies to.
///
/// # Errors
/// When it is not an instant vector (MetricsQL: not a scalar or instant vector).
pub fn subquery_inner(e: &Expr, mql: bool) -> Result<(), String> {
    match type_of(e) {
        ValueType::Vector => Ok(()),
        ValueType::Scalar if mql => Ok(()),
        t => Err(format!(
            "subquery is only allowed on instant vector, got {} instead",
            t.name()
        )),
    }
}

fn accepts(want: ArgType, e: &Expr, kind: FunctionKind, mql: bool) -> bool {
    let got = type_of(e);
    match want {
        ArgType::String => got == ValueType::String,
        ArgType::Matrix if mql && kind == FunctionKind::Rollup => got != ValueType::String,
        ArgType::Scalar | ArgType::Vector if mql => is_instant(got),
        w => w.value_type() == got,
    }
}

fn arity(f: &FunctionDef) -> String {
    match f.max_args() {
        None => format!("at least {}", f.required),
        Some(m) if m == f.required => m.to_string(),
        Some(m) => format!("{} to {m}", f.required),
    }
}

/// Checks the arguments of a call (`args` pairs each with whatever the caller uses to
/// locate it).
///
/// # Errors
/// The index of the offending argument (`None`: the whole call) and what is wrong.
pub fn call<T>(
    f: &FunctionDef,
    args: &[(T, Expr)],
    mql: bool,
) -> Result<(), (Option<usize>, ParseErrorKind)> {
    let n = args.len();
    let too_many = f.max_args().is_some_and(|m| n > m);
    if n < f.required || too_many {
        // MetricsQL is lenient about optional trailing arguments of its own functions.
        if !(mql && f.metricsql && n >= f.required) {
            return Err((
                None,
                ParseErrorKind::ArgCount {
                    func: f.name.to_string(),
                    expected: arity(f),
                    got: n,
                },
            ));
        }
    }
    for (k, (_, e)) in args.iter().enumerate() {
        let Some(want) = f.arg_type(k) else { continue };
        if !accepts(want, e, f.kind, mql) {
            return Err((
                Some(k),
                ParseErrorKind::Type(format!(
                    "expected type {} in call to function {:?}, got {}",
                    want.value_type().name(),
                    f.name,
                    type_of(e).name()
                )),
            ));
        }
    }
    Ok(())
}

/// Checks an aggregation.
///
/// # Errors
/// As for [`call`].
pub fn aggregate<T>(
    f: &FunctionDef,
    args: &[(T, Expr)],
    _grouping: Option<&Grouping>,
    mql: bool,
) -> Result<(), (Option<usize>, ParseErrorKind)> {
    if mql && f.metricsql {
        // MetricsQL aggregations take any number of instant arguments.
        if args.is_empty() {
            return Err((
                None,
                ParseErrorKind::ArgCount {
                    func: f.name.to_string(),
                    expected: arity(f),
                    got: 0,
                },
            ));
        }
        return Ok(());
    }
    if mql && !f.has_param() && !args.is_empty() {
        // `sum(a, b)`: MetricsQL aggregates over the union of its arguments.
        for (k, (_, e)) in args.iter().enumerate() {
            if !is_instant(type_of(e)) {
                return Err((
                    Some(k),
                    ParseErrorKind::Type(format!(
                        "expected type instant vector in aggregation {:?}, got {}",
                        f.name,
                        type_of(e).name()
                    )),
                ));
            }
        }
        return Ok(());
    }
    call(f, args, mql)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::ast::VectorSelector;

    #[test]
    fn types() {
        let v = Expr::Vector(VectorSelector::named("x"));
        assert_eq!(type_of(&v), ValueType::Vector);
        assert_eq!(type_of(&Expr::number(1.0)), ValueType::Scalar);
        let m = BinModifier::default();
        assert!(
            binary(
                BinaryOp::Gtr,
                &Expr::number(1.0),
                &Expr::number(2.0),
                &m,
                false
            )
            .is_err()
        );
        assert!(
            binary(
                BinaryOp::Gtr,
                &Expr::number(1.0),
                &Expr::number(2.0),
                &m,
                true
            )
            .is_ok()
        );
        assert!(binary(BinaryOp::And, &v, &Expr::number(2.0), &m, false).is_err());
        assert!(binary(BinaryOp::Add, &v, &Expr::String("a".into()), &m, true).is_err());
    }
}
