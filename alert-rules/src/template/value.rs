//! Values a template works on: what Go's `interface{}` holds in Prometheus' templates.

use std::collections::BTreeMap;

use super::gofmt::float_v;

/// A template value.
#[derive(Clone, Debug, PartialEq)]
pub enum TValue {
    /// Go's nil (printed `<no value>`).
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float64.
    Float(f64),
    /// A string.
    Str(String),
    /// A list (query results).
    List(Vec<TValue>),
    /// A map with string keys (labels, a query sample `{Labels, Value}`, the data `.`).
    Map(BTreeMap<String, TValue>),
}

impl TValue {
    /// A map of strings (labels).
    pub fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> TValue {
        TValue::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), TValue::Str(v.to_string())))
                .collect(),
        )
    }

    /// Go's truth: false, 0, nil and empty strings, lists and maps are false.
    pub fn truthy(&self) -> bool {
        match self {
            TValue::Nil => false,
            TValue::Bool(b) => *b,
            TValue::Int(i) => *i != 0,
            TValue::Float(f) => *f != 0.0,
            TValue::Str(s) => !s.is_empty(),
            TValue::List(l) => !l.is_empty(),
            TValue::Map(m) => !m.is_empty(),
        }
    }

    /// The value as a number, when it is one (or a string holding one, as Prometheus'
    /// `convertToFloat` accepts).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            TValue::Int(i) => Some(*i as f64),
            TValue::Float(f) => Some(*f),
            TValue::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The Go type name, for error texts.
    pub fn go_type(&self) -> &'static str {
        match self {
            TValue::Nil => "<nil>",
            TValue::Bool(_) => "bool",
            TValue::Int(_) => "int",
            TValue::Float(_) => "float64",
            TValue::Str(_) => "string",
            TValue::List(_) => "[]interface {}",
            TValue::Map(_) => "map[string]interface {}",
        }
    }

    /// `fmt.Sprint` of the value.
    pub fn to_go_string(&self) -> String {
        match self {
            TValue::Nil => "<no value>".into(),
            TValue::Bool(b) => b.to_string(),
            TValue::Int(i) => i.to_string(),
            TValue::Float(f) => float_v(*f),
            TValue::Str(s) => s.clone(),
            TValue::List(l) => {
                let parts: Vec<String> = l.iter().map(TValue::to_go_string).collect();
                format!("[{}]", parts.join(" "))
            }
            TValue::Map(m) => {
                let parts: Vec<String> = m
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", v.to_go_string()))
                    .collect();
                format!("map[{}]", parts.join(" "))
            }
        }
    }

    /// `.name` of a map: the value, or `""` for a missing key (Prometheus runs templates
    /// with `missingkey=zero` over string maps).
    pub fn field(&self, name: &str) -> Option<TValue> {
        match self {
            TValue::Map(m) => Some(m.get(name).cloned().unwrap_or(TValue::Str(String::new()))),
            _ => None,
        }
    }
}
