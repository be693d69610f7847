//! The syntax tree produced by the parser.
//!
//! Parentheses are not kept: the tree is the meaning of the query and the printer
//! ([`crate::parser::printer`]) puts back the parentheses that precedence needs. Unary minus
//! on a number literal is folded into the literal, unary plus is dropped, and WITH templates
//! are expanded, so two queries that mean the same thing through those rewrites parse to
//! equal trees.

use gnomon_tsdb_core::model::{METRIC_NAME, Matcher};

use crate::parser::functions::FunctionDef;

/// A float literal. Equality treats every NaN as equal to every other NaN, so that trees
/// containing `NaN` compare equal to themselves.
#[derive(Clone, Copy, Debug)]
pub struct Number(pub f64);

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        (self.0.is_nan() && other.0.is_nan()) || self.0.to_bits() == other.0.to_bits()
    }
}

/// A PromQL expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A float literal: `1`, `0x1f`, `1e3`, `Inf`, `NaN`, `1Ki` (MetricsQL).
    Number(Number),
    /// A string literal.
    String(String),
    /// `name{matchers}` with optional modifiers.
    Vector(VectorSelector),
    /// `name{matchers}[range]` with optional modifiers.
    Matrix(MatrixSelector),
    /// `expr[range:step]`.
    Subquery(Subquery),
    /// `-expr`.
    Neg(Box<Expr>),
    /// `lhs op rhs`.
    Binary(BinaryExpr),
    /// `sum by (l) (expr)` and friends.
    Aggregate(AggregateExpr),
    /// `f(args)`.
    Call(Call),
    /// A duration-valued function used as a scalar: `step()`, `range()`, `start()`, `end()`.
    Special(SpecialFn),
}

/// The experimental zero-argument functions of Prometheus that may also appear in
/// durations and `@` modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpecialFn {
    /// `start()`: the start of the query range.
    Start,
    /// `end()`: the end of the query range.
    End,
    /// `step()`: the query step.
    Step,
    /// `range()`: `end() - start()`.
    Range,
}

impl SpecialFn {
    /// The function name.
    pub fn name(self) -> &'static str {
        match self {
            SpecialFn::Start => "start",
            SpecialFn::End => "end",
            SpecialFn::Step => "step",
            SpecialFn::Range => "range",
        }
    }

    /// Looks a name up (ASCII case-insensitively, as Prometheus does).
    pub fn from_name(name: &str) -> Option<SpecialFn> {
        [
            SpecialFn::Start,
            SpecialFn::End,
            SpecialFn::Step,
            SpecialFn::Range,
        ]
        .into_iter()
        .find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

/// The value of an `@` modifier.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AtModifier {
    /// `@ 1609746000` (seconds since the epoch).
    Time(Number),
    /// `@ start()`.
    Start,
    /// `@ end()`.
    End,
}

/// A duration: a literal, a number of seconds, or (Prometheus duration expressions,
/// MetricsQL placeholders) something computed from the query parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Duration {
    /// `5m`, `1h30m` (milliseconds; negative after folding a unary minus).
    Millis(i64),
    /// A plain number of seconds: `[300]`, `offset 2`.
    Seconds(Number),
    /// `step()` or `range()` (`start()`/`end()` are not durations).
    Special(SpecialFn),
    /// MetricsQL `5i`: that many query steps.
    Steps(Number),
    /// MetricsQL `$__interval`.
    Interval,
    /// MetricsQL `$__rate_interval`.
    RateInterval,
    /// `-d`.
    Neg(Box<Duration>),
    /// `a op b` with `+ - * / % ^`.
    Binary(DurationOp, Box<Duration>, Box<Duration>),
    /// `min_of(a, b)` / `max_of(a, b)`.
    Call(DurationFn, Box<Duration>, Box<Duration>),
}

/// Arithmetic operators in duration expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DurationOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^`
    Pow,
}

/// The two-argument functions allowed in duration expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DurationFn {
    /// `min_of(a, b)`
    MinOf,
    /// `max_of(a, b)`
    MaxOf,
}

impl DurationFn {
    /// The function name.
    pub fn name(self) -> &'static str {
        match self {
            DurationFn::MinOf => "min_of",
            DurationFn::MaxOf => "max_of",
        }
    }
}

/// Experimental range-selector modifiers of Prometheus (`x[1m] anchored`, `x smoothed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RangeModifier {
    /// `anchored`
    Anchored,
    /// `smoothed`
    Smoothed,
}

impl RangeModifier {
    /// The keyword.
    pub fn name(self) -> &'static str {
        match self {
            RangeModifier::Anchored => "anchored",
            RangeModifier::Smoothed => "smoothed",
        }
    }
}

/// An instant-vector selector.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorSelector {
    /// The metric name, when written before the braces or as a quoted name inside them.
    pub name: Option<String>,
    /// The other matchers, in the order written (may include a `__name__` matcher when the
    /// name was given as a matcher).
    pub matchers: Vec<Matcher>,
    /// `offset d`.
    pub offset: Option<Duration>,
    /// `@ t`.
    pub at: Option<AtModifier>,
    /// `anchored` / `smoothed`.
    pub modifier: Option<RangeModifier>,
}

impl VectorSelector {
    /// A selector for one metric name, without matchers or modifiers.
    pub fn named(name: impl Into<String>) -> Self {
        VectorSelector {
            name: Some(name.into()),
            matchers: Vec::new(),
            offset: None,
            at: None,
            modifier: None,
        }
    }

    /// Every matcher, the metric name included as a `__name__="…"` matcher (first).
    pub fn all_matchers(&self) -> Vec<Matcher> {
        let mut out = Vec::with_capacity(self.matchers.len() + 1);
        if let Some(n) = &self.name {
            out.push(Matcher::equal(METRIC_NAME, n.as_str()));
        }
        out.extend(self.matchers.iter().cloned());
        out
    }
}

/// `selector[range]`.
#[derive(Clone, Debug, PartialEq)]
pub struct MatrixSelector {
    /// The selector (its offset, `@` and range modifiers apply to the range).
    pub selector: VectorSelector,
    /// The window.
    pub range: Duration,
}

/// `expr[range:step] offset d @ t`.
#[derive(Clone, Debug, PartialEq)]
pub struct Subquery {
    /// The inner expression.
    pub expr: Box<Expr>,
    /// The window.
    pub range: Duration,
    /// The resolution (`None`: the default).
    pub step: Option<Duration>,
    /// `offset d`.
    pub offset: Option<Duration>,
    /// `@ t`.
    pub at: Option<AtModifier>,
}

/// Binary operators, PromQL and MetricsQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^`
    Pow,
    /// `atan2`
    Atan2,
    /// `</`: native-histogram trim of the buckets above the bound.
    TrimUpper,
    /// `>/`: native-histogram trim of the buckets below the bound.
    TrimLower,
    /// `==`
    Eql,
    /// `!=`
    Neq,
    /// `<`
    Lss,
    /// `>`
    Gtr,
    /// `<=`
    Lte,
    /// `>=`
    Gte,
    /// `and`
    And,
    /// `or`
    Or,
    /// `unless`
    Unless,
    /// MetricsQL `default`.
    Default,
    /// MetricsQL `if`.
    If,
    /// MetricsQL `ifnot`.
    IfNot,
}

impl BinaryOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            Pow => "^",
            Atan2 => "atan2",
            TrimUpper => "</",
            TrimLower => ">/",
            Eql => "==",
            Neq => "!=",
            Lss => "<",
            Gtr => ">",
            Lte => "<=",
            Gte => ">=",
            And => "and",
            Or => "or",
            Unless => "unless",
            Default => "default",
            If => "if",
            IfNot => "ifnot",
        }
    }

    /// Binding strength: higher binds tighter (`default` 0 … `^` 7).
    pub fn precedence(self) -> u8 {
        use BinaryOp::*;
        match self {
            Default => 0,
            If | IfNot => 1,
            Or => 2,
            And | Unless => 3,
            Eql | Neq | Lss | Gtr | Lte | Gte => 4,
            Add | Sub => 5,
            Mul | Div | Mod | Atan2 | TrimUpper | TrimLower => 6,
            Pow => 7,
        }
    }

    /// `^` is the only right-associative operator.
    pub fn is_right_assoc(self) -> bool {
        self == BinaryOp::Pow
    }

    /// `== != < > <= >=`.
    pub fn is_comparison(self) -> bool {
        use BinaryOp::*;
        matches!(self, Eql | Neq | Lss | Gtr | Lte | Gte)
    }

    /// `and or unless` (and the MetricsQL `default if ifnot`): operators on series sets.
    pub fn is_set_op(self) -> bool {
        use BinaryOp::*;
        matches!(self, And | Or | Unless)
    }

    /// Operators only MetricsQL knows.
    pub fn is_metricsql(self) -> bool {
        use BinaryOp::*;
        matches!(self, Default | If | IfNot)
    }
}

/// `on(...)` or `ignoring(...)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VectorMatching {
    /// `on(labels)`.
    On(Vec<String>),
    /// `ignoring(labels)`.
    Ignoring(Vec<String>),
}

/// `group_left(...)` or `group_right(...)` (an empty list prints without parentheses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Group {
    /// `group_left(labels)`: the left side is the "many" side.
    Left(Vec<String>),
    /// `group_right(labels)`: the right side is the "many" side.
    Right(Vec<String>),
}

/// The modifiers between a binary operator and its right operand.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BinModifier {
    /// `bool` (comparison operators only).
    pub return_bool: bool,
    /// `on`/`ignoring`.
    pub matching: Option<VectorMatching>,
    /// `group_left`/`group_right`.
    pub group: Option<Group>,
    /// `fill_left(v)` (or `fill(v)`): value for series missing on the left.
    pub fill_left: Option<Number>,
    /// `fill_right(v)` (or `fill(v)`): value for series missing on the right.
    pub fill_right: Option<Number>,
}

impl BinModifier {
    /// True when no modifier is set.
    pub fn is_empty(&self) -> bool {
        *self == BinModifier::default()
    }
}

/// `lhs op modifiers rhs`.
#[derive(Clone, Debug, PartialEq)]
pub struct BinaryExpr {
    /// The operator.
    pub op: BinaryOp,
    /// Left operand.
    pub lhs: Box<Expr>,
    /// Right operand.
    pub rhs: Box<Expr>,
    /// `bool`, matching, grouping and fill modifiers.
    pub modifier: BinModifier,
}

/// `by (...)` or `without (...)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grouping {
    /// `by (labels)`.
    By(Vec<String>),
    /// `without (labels)`.
    Without(Vec<String>),
}

/// An aggregation: `op [grouping] ([param,] expr) [limit n]`.
#[derive(Clone, Debug, PartialEq)]
pub struct AggregateExpr {
    /// The aggregation (its entry in the function table).
    pub func: &'static FunctionDef,
    /// The arguments, parameter first when the aggregation takes one (`topk(3, x)`).
    pub args: Vec<Expr>,
    /// `by`/`without`.
    pub grouping: Option<Grouping>,
    /// MetricsQL `limit N`: at most N output series.
    pub limit: Option<u64>,
}

impl AggregateExpr {
    /// The parameter of `topk`, `quantile`, `count_values`, … (`None` for `sum`).
    pub fn param(&self) -> Option<&Expr> {
        if self.func.has_param() && self.args.len() > 1 {
            self.args.first()
        } else {
            None
        }
    }

    /// The aggregated expression (the last argument).
    pub fn expr(&self) -> Option<&Expr> {
        self.args.last()
    }
}

/// A function call.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The function (its entry in the function table).
    pub func: &'static FunctionDef,
    /// The arguments as written. MetricsQL rollups written without a window
    /// (`rate(x)`) keep the plain selector here; see [`FunctionDef::implicit_window`].
    pub args: Vec<Expr>,
    /// MetricsQL `keep_metric_names`.
    pub keep_metric_names: bool,
}

/// The type of a value an expression produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// A float.
    Scalar,
    /// A string.
    String,
    /// One sample per series.
    Vector,
    /// A window of samples per series.
    Matrix,
}

impl ValueType {
    /// The name Prometheus uses in messages.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::String => "string",
            ValueType::Vector => "instant vector",
            ValueType::Matrix => "range vector",
        }
    }
}

impl Expr {
    /// A number literal.
    pub fn number(v: f64) -> Expr {
        Expr::Number(Number(v))
    }
}
