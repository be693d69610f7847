//! Relabel configs as written in YAML (Prometheus `relabel_configs` and VictoriaMetrics'
//! extensions), before validation.
//!
//! Every field is optional so that "absent" and "explicitly empty" stay distinct
//! (`separator: ""` is not the default `;`). Defaults are applied by [`crate::compile`].

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Default `separator` of the source label values.
pub const DEFAULT_SEPARATOR: &str = ";";
/// Default `regex`: the whole value, captured as group 1.
pub const DEFAULT_REGEX: &str = "(.*)";
/// Default `replacement`: capture group 1.
pub const DEFAULT_REPLACEMENT: &str = "$1";

/// One relabel rule, as written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelabelConfig {
    /// VictoriaMetrics `if`: the rule runs only on series matching one of these selectors.
    #[serde(rename = "if", default, skip_serializing_if = "Option::is_none")]
    pub if_expr: Option<IfExpr>,
    /// The action (case-insensitive); `replace` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Labels whose values are joined with `separator` into the source value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_labels: Option<Vec<String>>,
    /// Separator of the source values; `;` when absent.
    #[serde(
        default,
        deserialize_with = "null_is_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub separator: Option<String>,
    /// Label written by the action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_label: Option<String>,
    /// The regex; `(.*)` when absent.
    #[serde(
        default,
        deserialize_with = "present_regex",
        skip_serializing_if = "Option::is_none"
    )]
    pub regex: Option<RegexText>,
    /// Modulus of `hashmod`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modulus: Option<u64>,
    /// Replacement template; `$1` when absent.
    #[serde(
        default,
        deserialize_with = "null_is_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub replacement: Option<String>,
    /// `graphite`: the template the metric name must match (`*` = one dot-free part).
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub match_template: Option<String>,
    /// `graphite`: labels to set, each value a template with `$N` captures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// A list of relabel rules (`relabel_configs:`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RelabelConfigs(pub Vec<RelabelConfig>);

impl RelabelConfigs {
    /// Parses a YAML list of relabel rules; an empty document is an empty list.
    /// Rules are not validated here: see [`crate::compile`].
    ///
    /// # Errors
    /// [`crate::Error::Yaml`] for invalid YAML, unknown fields and wrongly typed values.
    pub fn from_yaml(text: &str) -> Result<Self> {
        let rules: Option<Vec<RelabelConfig>> = serde_yaml_ng::from_str(text)?;
        Ok(RelabelConfigs(rules.unwrap_or_default()))
    }

    /// The rules.
    pub fn rules(&self) -> &[RelabelConfig] {
        &self.0
    }
}

/// An explicit YAML null (`separator:` with no value) is the empty string, as Go's YAML
/// decoder leaves a zero value; an absent field stays `None` through `#[serde(default)]`.
fn null_is_empty<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    Ok(Some(Option::<String>::deserialize(d)?.unwrap_or_default()))
}

/// A present `regex` field, null included (the empty regex).
fn present_regex<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<RegexText>, D::Error> {
    RegexText::deserialize(d).map(Some)
}

/// A `regex` value: a string, or a list of strings joined with `|` (VictoriaMetrics).
///
/// Scalars YAML does not type as strings are stringified as VictoriaMetrics does
/// (`true` → `"true"`, `1.23` → `"1.23"`); an explicit null is the empty regex, as in
/// Prometheus, except inside a list where it is the text `null`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegexText(pub String);

impl RegexText {
    /// The effective regex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn scalar_text(v: &serde_yaml_ng::Value) -> Option<String> {
    use serde_yaml_ng::Value;
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => Some("null".to_owned()),
        _ => None,
    }
}

impl<'de> Deserialize<'de> for RegexText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde_yaml_ng::Value;
        let v = Value::deserialize(d)?;
        let text = match &v {
            Value::Null => String::new(),
            Value::Sequence(items) => {
                let mut parts = Vec::with_capacity(items.len());
                for item in items {
                    parts
                        .push(scalar_text(item).ok_or_else(|| {
                            de::Error::custom("regex list items must be scalars")
                        })?);
                }
                parts.join("|")
            }
            other => scalar_text(other)
                .ok_or_else(|| de::Error::custom("regex must be a string or a list of strings"))?,
        };
        Ok(RegexText(text))
    }
}

impl Serialize for RegexText {
    /// Written as a list when the regex is a plain alternation (`a|b`), as VictoriaMetrics
    /// does, else as a string.
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let r = &self.0;
        if r.contains('|') && !r.contains('(') && !r.contains('[') {
            let parts: Vec<&str> = r.split('|').collect();
            let mut seq = s.serialize_seq(Some(parts.len()))?;
            for p in parts {
                seq.serialize_element(p)?;
            }
            seq.end()
        } else {
            s.serialize_str(r)
        }
    }
}

/// A VictoriaMetrics `if` value: one series selector or a list of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IfExpr {
    /// `if: 'foo{bar="baz"}'`
    One(String),
    /// `if: [a, b{c="d"}]`: matches when any selector matches.
    Any(Vec<String>),
}

impl IfExpr {
    /// The selectors.
    pub fn selectors(&self) -> &[String] {
        match self {
            IfExpr::One(s) => std::slice::from_ref(s),
            IfExpr::Any(v) => v,
        }
    }
}

impl<'de> Deserialize<'de> for IfExpr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IfExpr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a series selector or a list of series selectors")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<IfExpr, E> {
                Ok(IfExpr::One(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> std::result::Result<IfExpr, A::Error> {
                let mut out = Vec::new();
                // Elements as values, so that YAML numbers are not coerced to strings.
                while let Some(v) = a.next_element::<serde_yaml_ng::Value>()? {
                    match v {
                        serde_yaml_ng::Value::String(s) => out.push(s),
                        _ => return Err(de::Error::custom("`if` list items must be strings")),
                    }
                }
                Ok(IfExpr::Any(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for IfExpr {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            IfExpr::One(e) => s.serialize_str(e),
            IfExpr::Any(v) => v.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn absent_and_explicit_empty_fields_differ() {
        let c = RelabelConfigs::from_yaml("- separator: \"\"\n  replacement:\n").unwrap();
        assert_eq!(c.0[0].separator.as_deref(), Some(""));
        assert_eq!(c.0[0].replacement.as_deref(), Some(""));
        assert_eq!(c.0[0].regex, None);
    }

    #[test]
    fn regex_lists_and_scalars_are_stringified() {
        let c = RelabelConfigs::from_yaml(
            "- regex: [a, (b)]\n- regex: true\n- regex: 1.23\n- regex: [-1.23, False, null, nan]\n- regex:\n",
        )
        .unwrap();
        let got: Vec<&str> =
            c.0.iter()
                .map(|r| r.regex.as_ref().unwrap().as_str())
                .collect();
        assert_eq!(got, ["a|(b)", "true", "1.23", "-1.23|false|null|nan", ""]);
    }

    #[test]
    fn unknown_field_is_an_error_with_a_line() {
        let e = RelabelConfigs::from_yaml("- action: keep\n  sourcelabels: [a]\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("sourcelabels"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn if_is_a_string_or_a_list_and_nothing_else() {
        let c = RelabelConfigs::from_yaml("- if: foo\n- if: [a, 'b{c=\"d\"}']\n").unwrap();
        assert_eq!(c.0[0].if_expr, Some(IfExpr::One("foo".into())));
        assert_eq!(c.0[1].if_expr.as_ref().unwrap().selectors().len(), 2);
        assert!(RelabelConfigs::from_yaml("- if: {x: y}\n").is_err());
        assert!(RelabelConfigs::from_yaml("- if: [1]\n").is_err());
    }

    fn opt_text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("[ -~]{0,12}")
    }

    proptest! {
        #[test]
        fn yaml_round_trip(
            action in proptest::option::of("[a-z_]{1,12}"),
            source_labels in proptest::option::of(proptest::collection::vec("[a-z_]{1,8}", 0..3)),
            separator in opt_text(),
            target_label in opt_text(),
            regex in opt_text(),
            modulus in proptest::option::of(0u64..1000),
            replacement in opt_text(),
            ifs in proptest::option::of(proptest::collection::vec("[ -~]{1,12}", 1..3)),
        ) {
            let c = RelabelConfig {
                if_expr: ifs.map(IfExpr::Any),
                action,
                source_labels,
                separator,
                target_label,
                regex: regex.map(RegexText),
                modulus,
                replacement,
                match_template: None,
                labels: None,
            };
            let text = serde_yaml_ng::to_string(&RelabelConfigs(vec![c.clone()])).unwrap();
            let back = RelabelConfigs::from_yaml(&text).unwrap();
            prop_assert_eq!(&back.0[0], &c, "{}", text);
        }
    }

    #[test]
    fn plain_alternations_serialize_as_lists() {
        let c = RelabelConfigs::from_yaml("- regex: foo|bar\n").unwrap();
        assert_eq!(
            serde_yaml_ng::to_string(&c).unwrap(),
            "- regex:\n  - foo\n  - bar\n"
        );
    }
}
