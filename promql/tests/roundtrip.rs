//! Round trip of the canonical printer over generated trees: `parse(print(e)) == e` for
//! every well-typed tree the parser can produce (PromQL and MetricsQL forms, odd metric
//! and label names, every duration form, all binary modifiers).

use gnomon_promql::parser::ast::{
    AggregateExpr, AtModifier, BinModifier, BinaryExpr, BinaryOp, Call, Duration, DurationFn,
    DurationOp, Expr, Group, Grouping, MatrixSelector, Number, RangeModifier, SpecialFn, Subquery,
    VectorMatching, VectorSelector,
};
use gnomon_promql::parser::functions::lookup;
use gnomon_promql::{ParseOptions, parse, parse_with};
use gnomon_tsdb_core::model::{MatchOp, Matcher};
use proptest::prelude::*;

/// A small deterministic generator driven by a proptest seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    fn number(&mut self) -> f64 {
        *self.pick(&[
            0.0,
            1.0,
            -2.5,
            1e300,
            1.5e-7,
            123_456.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -0.0,
            0.1,
            1e15,
        ])
    }

    fn string(&mut self) -> String {
        self.pick(&[
            "",
            "a",
            "x\"y",
            "back\\slash",
            "new\nline",
            "tab\t",
            "é",
            "\u{1}",
            "$1",
        ])
        .to_string()
    }

    fn metric_name(&mut self) -> String {
        self.pick(&[
            "up",
            "http_requests_total",
            "a:b:c",
            "inf",
            "NaN",
            "sum",
            "by",
            "offset",
            "bool",
            "a.b",
            "név",
            "rate",
            "fill",
            "with",
            "0x",
            "_",
            ":x",
        ])
        .to_string()
    }

    fn label_name(&mut self) -> String {
        self.pick(&[
            "job", "instance", "le", "on", "by", "a.b", "é", "_x", "__type__",
        ])
        .to_string()
    }

    fn labels(&mut self) -> Vec<String> {
        (0..self.below(3)).map(|_| self.label_name()).collect()
    }

    fn matcher(&mut self) -> Matcher {
        let name = self.label_name();
        match self.below(4) {
            0 => Matcher::equal(name, self.string()),
            1 => Matcher::new(MatchOp::NotEqual, name, self.string()).unwrap(),
            2 => Matcher::new(
                MatchOp::RegexMatch,
                name,
                *self.pick(&[".*", "a|b", "x.+", "\\d+", "é?"]),
            )
            .unwrap(),
            _ => Matcher::new(
                MatchOp::RegexNoMatch,
                name,
                *self.pick(&["", "a.*", "[0-9]"]),
            )
            .unwrap(),
        }
    }

    fn millis(&mut self) -> i64 {
        *self.pick(&[
            1,
            1000,
            60_000,
            300_000,
            5_400_000,
            86_400_000,
            31_536_000_000 + 1,
            0,
        ])
    }

    fn duration(&mut self, depth: u32) -> Duration {
        let leaf = depth == 0 || self.chance(50);
        if leaf {
            return match self.below(8) {
                0..=2 => Duration::Millis(self.millis()),
                3 => Duration::Seconds(Number(*self.pick(&[0.0, 30.0, 1.5, 1e3]))),
                4 => Duration::Special(*self.pick(&[SpecialFn::Step, SpecialFn::Range])),
                5 => Duration::Steps(Number(*self.pick(&[1.0, 5.0, 0.5]))),
                6 => *Box::new(
                    self.pick(&[Duration::Interval, Duration::RateInterval])
                        .clone(),
                ),
                _ => Duration::Call(
                    *self.pick(&[DurationFn::MinOf, DurationFn::MaxOf]),
                    Box::new(self.duration(depth - 1.min(depth))),
                    Box::new(Duration::Millis(self.millis())),
                ),
            };
        }
        match self.below(3) {
            0 => {
                let d = self.duration(depth - 1);
                match d {
                    Duration::Millis(_) | Duration::Seconds(_) => {
                        Duration::Neg(Box::new(Duration::Special(SpecialFn::Step)))
                    }
                    d => Duration::Neg(Box::new(d)),
                }
            }
            _ => Duration::Binary(
                *self.pick(&[
                    DurationOp::Add,
                    DurationOp::Sub,
                    DurationOp::Mul,
                    DurationOp::Div,
                    DurationOp::Mod,
                    DurationOp::Pow,
                ]),
                Box::new(self.duration(depth - 1)),
                Box::new(self.duration(depth - 1)),
            ),
        }
    }

    fn offset(&mut self) -> Option<Duration> {
        if !self.chance(25) {
            return None;
        }
        Some(match self.below(3) {
            0 => Duration::Millis(-self.millis()),
            _ => self.duration(2),
        })
    }

    fn at(&mut self) -> Option<AtModifier> {
        if !self.chance(20) {
            return None;
        }
        Some(match self.below(3) {
            0 => AtModifier::Start,
            1 => AtModifier::End,
            _ => AtModifier::Time(Number(*self.pick(&[100.0, -5.5, 1.6e9, 0.0]))),
        })
    }

    fn selector(&mut self, modifiers: bool) -> VectorSelector {
        let mut matchers: Vec<Matcher> = (0..self.below(3)).map(|_| self.matcher()).collect();
        let name = if self.chance(80) {
            Some(self.metric_name())
        } else {
            matchers.push(Matcher::equal(
                *self.pick(&["__name__", "job"]),
                *self.pick(&["x", "é"]),
            ));
            None
        };
        VectorSelector {
            name,
            matchers,
            offset: if modifiers { self.offset() } else { None },
            at: if modifiers { self.at() } else { None },
            modifier: if modifiers && self.chance(15) {
                Some(*self.pick(&[RangeModifier::Anchored, RangeModifier::Smoothed]))
            } else {
                None
            },
        }
    }

    fn matrix(&mut self, depth: u32) -> Expr {
        if depth == 0 || self.chance(60) {
            return Expr::Matrix(MatrixSelector {
                selector: self.selector(true),
                range: self.duration(2),
            });
        }
        Expr::Subquery(Subquery {
            expr: Box::new(self.vector(depth - 1)),
            range: self.duration(1),
            step: if self.chance(50) {
                Some(self.duration(1))
            } else {
                None
            },
            offset: self.offset(),
            at: self.at(),
        })
    }

    fn scalar(&mut self, depth: u32) -> Expr {
        if depth == 0 || self.chance(50) {
            return match self.below(4) {
                0 => {
                    Expr::Special(*self.pick(&[SpecialFn::Start, SpecialFn::End, SpecialFn::Step]))
                }
                1 => call("time", vec![]),
                _ => Expr::number(self.number()),
            };
        }
        match self.below(3) {
            0 => call("scalar", vec![self.vector(depth - 1)]),
            1 => Expr::Neg(Box::new(call("pi", vec![]))),
            _ => {
                let op = *self.pick(&[BinaryOp::Add, BinaryOp::Pow, BinaryOp::Mul, BinaryOp::Gtr]);
                Expr::Binary(BinaryExpr {
                    op,
                    lhs: Box::new(self.scalar(depth - 1)),
                    rhs: Box::new(self.scalar(depth - 1)),
                    modifier: BinModifier {
                        return_bool: op.is_comparison(),
                        ..BinModifier::default()
                    },
                })
            }
        }
    }

    fn grouping(&mut self) -> Option<Grouping> {
        match self.below(3) {
            0 => None,
            1 => Some(Grouping::By(self.labels())),
            _ => Some(Grouping::Without(self.labels())),
        }
    }

    fn vector(&mut self, depth: u32) -> Expr {
        if depth == 0 || self.chance(30) {
            return Expr::Vector(self.selector(true));
        }
        let d = depth - 1;
        match self.below(7) {
            0 => {
                let f = *self.pick(&["rate", "increase", "max_over_time", "changes"]);
                call(f, vec![self.matrix(d)])
            }
            1 => match self.below(4) {
                0 => call("abs", vec![self.vector(d)]),
                1 => call("round", vec![self.vector(d), self.scalar(d)]),
                2 => call(
                    "label_replace",
                    vec![
                        self.vector(d),
                        Expr::String(self.string()),
                        Expr::String(self.string()),
                        Expr::String(self.string()),
                        Expr::String(".*".into()),
                    ],
                ),
                _ => {
                    let mut c = call("quantile_over_time", vec![self.scalar(d), self.matrix(d)]);
                    if let Expr::Call(c) = &mut c {
                        c.keep_metric_names = self.chance(50);
                    }
                    c
                }
            },
            2 => {
                let (name, param) = match self.below(4) {
                    0 => ("sum", None),
                    1 => ("topk", Some(self.scalar(d))),
                    2 => ("count_values", Some(Expr::String(self.string()))),
                    _ => ("median", None),
                };
                let mut args: Vec<Expr> = param.into_iter().collect();
                args.push(self.vector(d));
                Expr::Aggregate(AggregateExpr {
                    func: lookup(name).unwrap(),
                    args,
                    grouping: self.grouping(),
                    limit: if self.chance(20) {
                        Some(self.below(10) as u64)
                    } else {
                        None
                    },
                })
            }
            3 => {
                let inner = self.vector(d);
                match inner {
                    Expr::Number(_) => inner,
                    e => Expr::Neg(Box::new(e)),
                }
            }
            4 => {
                let op = *self.pick(&[
                    BinaryOp::Add,
                    BinaryOp::Div,
                    BinaryOp::Pow,
                    BinaryOp::Lte,
                    BinaryOp::Atan2,
                ]);
                let m = BinModifier {
                    return_bool: op.is_comparison() && self.chance(50),
                    ..BinModifier::default()
                };
                let (lhs, rhs) = if self.chance(50) {
                    (self.vector(d), self.scalar(d))
                } else {
                    (self.scalar(d), self.vector(d))
                };
                binary(op, lhs, rhs, m)
            }
            _ => {
                let op = *self.pick(&[
                    BinaryOp::Add,
                    BinaryOp::Sub,
                    BinaryOp::Mul,
                    BinaryOp::Mod,
                    BinaryOp::Pow,
                    BinaryOp::Eql,
                    BinaryOp::Neq,
                    BinaryOp::Gte,
                    BinaryOp::And,
                    BinaryOp::Or,
                    BinaryOp::Unless,
                    BinaryOp::Default,
                    BinaryOp::If,
                    BinaryOp::IfNot,
                    BinaryOp::TrimUpper,
                    BinaryOp::TrimLower,
                ]);
                let matching = match self.below(3) {
                    0 => None,
                    1 => Some(VectorMatching::On(self.labels())),
                    _ => Some(VectorMatching::Ignoring(self.labels())),
                };
                let group = if op.is_set_op() || op.is_metricsql() || self.chance(50) {
                    None
                } else {
                    let mut g = self.labels();
                    if let Some(VectorMatching::On(on)) = &matching {
                        g.retain(|l| !on.contains(l));
                    }
                    Some(if self.chance(50) {
                        Group::Left(g)
                    } else {
                        Group::Right(g)
                    })
                };
                let fill = |g: &mut Self| {
                    if g.chance(20) {
                        Some(Number(g.number()))
                    } else {
                        None
                    }
                };
                let m = BinModifier {
                    return_bool: op.is_comparison() && self.chance(50),
                    matching,
                    group,
                    fill_left: fill(self),
                    fill_right: fill(self),
                };
                binary(op, self.vector(d), self.vector(d), m)
            }
        }
    }

    fn any(&mut self, depth: u32) -> Expr {
        match self.below(10) {
            0 => Expr::String(self.string()),
            1 | 2 => self.scalar(depth),
            3 => self.matrix(depth),
            _ => self.vector(depth),
        }
    }
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Call(Call {
        func: lookup(name).unwrap(),
        args,
        keep_metric_names: false,
    })
}

fn binary(op: BinaryOp, lhs: Expr, rhs: Expr, modifier: BinModifier) -> Expr {
    Expr::Binary(BinaryExpr {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
        modifier,
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 3000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn print_then_parse_is_identity(seed in any::<u64>(), depth in 0u32..5) {
        let e = Gen(seed | 1).any(depth);
        let printed = e.to_string();
        let back = parse(&printed);
        prop_assert!(back.is_ok(), "{printed}\n{}", back.unwrap_err());
        prop_assert_eq!(back.unwrap(), e, "{}", printed);
    }

    #[test]
    fn printing_is_a_fixed_point(seed in any::<u64>(), depth in 0u32..5) {
        let printed = Gen(seed | 1).any(depth).to_string();
        let again = parse(&printed).unwrap().to_string();
        prop_assert_eq!(again, printed);
    }

    #[test]
    fn arbitrary_text_never_panics(s in "[a-z0-9(){}\\[\\]\"'=~!,:@+*/%^<>. -]{0,60}") {
        for opts in [ParseOptions::default(), ParseOptions::prometheus()] {
            if let Ok(e) = parse_with(&s, &opts) {
                let printed = e.to_string();
                prop_assert_eq!(parse_with(&printed, &opts).ok(), Some(e), "{} -> {}", s, printed);
            }
        }
    }
}
