//! Go `text/template` for alert labels and annotations, with Prometheus' functions.
//!
//! A small interpreter of the subset rule files use: text and actions with trim markers,
//! comments, pipelines, variables (`$x := …`, `$x = …`), `if`/`else if`/`range`/`with`/
//! `define`/`template`/`block`, Go's builtins (`eq`, `printf` with Go verbs, …) and
//! Prometheus' functions (`humanize*`, `query`, `first`, `label`, `value`, …). Alert
//! templates see `$labels`, `$externalLabels`, `$externalURL` and `$value`, as in
//! Prometheus (which prepends `{{$labels := .Labels}}…` to every template).
//!
//! ```
//! use gnomon_alert_rules::template::{AlertData, TemplateEnv, expand_alert};
//! use gnomon_tsdb_core::model::Labels;
//!
//! let labels = Labels::from_pairs(&[("instance", "db1:9100")]);
//! let data = AlertData { labels: &labels, external_labels: &Labels::empty(), external_url: "", value: 0.8712 };
//! let text = "{{ $labels.instance | stripPort }} at {{ $value | humanizePercentage }}";
//! let out = expand_alert("__alert_X", text, &data, &TemplateEnv::default()).unwrap();
//! assert_eq!(out, "db1 at 87.12%");
//! ```

mod exec;
mod funcs;
mod gofmt;
mod parse;
mod value;

use gnomon_tsdb_core::model::Labels;

pub use value::TValue;

/// `url.QueryEscape`, as `graphLink` and generator URLs use it.
pub fn query_escape(s: &str) -> String {
    exec::url_escape(s)
}

use exec::{BUILTINS, Exec, map_of, start_vars};
use funcs::PROMETHEUS_FUNCS;
use parse::Parsed;

/// Why a template failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The text does not parse: `template: NAME:LINE: message`.
    #[error("{0}")]
    Parse(String),
    /// Execution failed: `template: NAME:LINE: executing "NAME": message`.
    #[error("{0}")]
    Exec(String),
}

/// One sample of a `query` result.
#[derive(Clone, Debug, PartialEq)]
pub struct QuerySample {
    /// The series' labels.
    pub labels: Labels,
    /// Its value.
    pub value: f64,
}

/// The `query` callback: runs an instant query at the evaluation time.
pub type QueryFn<'a> = &'a dyn Fn(&str) -> Result<Vec<QuerySample>, String>;

/// What templates can reach beyond their data.
#[derive(Clone, Copy, Default)]
pub struct TemplateEnv<'a> {
    /// `externalURL` / `pathPrefix`.
    pub external_url: &'a str,
    /// Evaluation time (ms), for `now`.
    pub now_ms: i64,
    /// `query` (absent: `query` fails).
    pub query: Option<QueryFn<'a>>,
}

/// Variables Prometheus defines before an alert template, and the data field each is.
const ALERT_VARS: [(&str, &str); 4] = [
    ("$labels", "Labels"),
    ("$externalLabels", "ExternalLabels"),
    ("$externalURL", "ExternalURL"),
    ("$value", "Value"),
];

fn known_func(f: &str) -> bool {
    BUILTINS.contains(&f) || PROMETHEUS_FUNCS.contains(&f)
}

/// A parsed template.
#[derive(Clone, Debug)]
pub struct Template {
    name: String,
    parsed: Parsed,
    alert_vars: bool,
}

impl Template {
    /// Parses a template with no predefined variables besides `$`.
    ///
    /// # Errors
    /// [`TemplateError::Parse`] with Go's wording (`template: NAME:LINE: …`).
    pub fn parse(name: &str, text: &str) -> Result<Template, TemplateError> {
        let parsed = parse::parse(name, text, &[], &known_func)?;
        Ok(Template {
            name: name.to_string(),
            parsed,
            alert_vars: false,
        })
    }

    /// Parses an alert label or annotation template (`$labels`, `$value`, … defined).
    ///
    /// # Errors
    /// As [`Template::parse`].
    pub fn parse_alert(name: &str, text: &str) -> Result<Template, TemplateError> {
        let vars: Vec<&str> = ALERT_VARS.iter().map(|(v, _)| *v).collect();
        let parsed = parse::parse(name, text, &vars, &known_func)?;
        Ok(Template {
            name: name.to_string(),
            parsed,
            alert_vars: true,
        })
    }

    /// Runs the template on `dot`.
    ///
    /// # Errors
    /// [`TemplateError::Exec`]: a function failed, a field of a non-map, a missing
    /// `define`…
    pub fn execute(&self, dot: &TValue, env: &TemplateEnv<'_>) -> Result<String, TemplateError> {
        let vars = if self.alert_vars {
            start_vars(dot, &ALERT_VARS)
        } else {
            start_vars(dot, &[])
        };
        let mut ex = Exec {
            name: &self.name,
            parsed: &self.parsed,
            env,
            vars,
            out: String::new(),
            depth: 0,
        };
        ex.nodes(&self.parsed.main, dot)?;
        Ok(ex.out)
    }
}

/// The data of an alert template.
#[derive(Clone, Copy, Debug)]
pub struct AlertData<'a> {
    /// The alert's labels (`$labels`).
    pub labels: &'a Labels,
    /// `$externalLabels`.
    pub external_labels: &'a Labels,
    /// `$externalURL`.
    pub external_url: &'a str,
    /// The sample value (`$value`).
    pub value: f64,
}

impl AlertData<'_> {
    /// The `.` of the template.
    pub fn to_value(&self) -> TValue {
        let lm =
            |l: &Labels| TValue::string_map(l.iter().map(|l| (l.name.as_str(), l.value.as_str())));
        map_of(vec![
            ("Labels", lm(self.labels)),
            ("ExternalLabels", lm(self.external_labels)),
            ("ExternalURL", TValue::Str(self.external_url.to_string())),
            ("Value", TValue::Float(self.value)),
        ])
    }
}

/// Parses and runs one alert template; a text without `{{` is returned as is.
///
/// # Errors
/// [`TemplateError`] from parsing or executing.
pub fn expand_alert(
    name: &str,
    text: &str,
    data: &AlertData<'_>,
    env: &TemplateEnv<'_>,
) -> Result<String, TemplateError> {
    if !text.contains("{{") {
        return Ok(text.to_string());
    }
    Template::parse_alert(name, text)?.execute(&data.to_value(), env)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, value: f64) -> Result<String, TemplateError> {
        let labels = Labels::from_pairs(&[("instance", "a:1"), ("job", "j")]);
        let ext = Labels::from_pairs(&[("dc", "eu")]);
        let data = AlertData {
            labels: &labels,
            external_labels: &ext,
            external_url: "http://x/prom",
            value,
        };
        let q = |_: &str| {
            Ok(vec![
                QuerySample {
                    labels: Labels::from_pairs(&[("i", "b")]),
                    value: 2.0,
                },
                QuerySample {
                    labels: Labels::from_pairs(&[("i", "a")]),
                    value: 1.0,
                },
            ])
        };
        let env = TemplateEnv {
            external_url: "http://x/prom",
            now_ms: 0,
            query: Some(&q),
        };
        expand_alert("t", text, &data, &env)
    }

    #[test]
    fn prometheus_idioms() {
        assert_eq!(
            run("{{ $labels.instance }} of {{ $labels.job }}", 0.0).unwrap(),
            "a:1 of j"
        );
        assert_eq!(run("{{ $value | humanize }}", 1234567.0).unwrap(), "1.235M");
        assert_eq!(run("{{ printf \"%.2f\" $value }}", 0.5).unwrap(), "0.50");
        assert_eq!(
            run(
                "{{ $externalLabels.dc }} {{ $externalURL }} {{ pathPrefix }}",
                0.0
            )
            .unwrap(),
            "eu http://x/prom /prom"
        );
        assert_eq!(
            run(
                "{{ with query \"up\" }}{{ . | first | value }}{{ end }}",
                0.0
            )
            .unwrap(),
            "2"
        );
        assert_eq!(
            run("{{ range sortByLabel \"i\" (query \"up\") }}{{ .Labels.i }}={{ .Value }};{{ end }}", 0.0).unwrap(),
            "a=1;b=2;"
        );
        assert_eq!(
            run("{{ if gt $value 80.0 }}hot{{ else }}ok{{ end }}", 90.0).unwrap(),
            "hot"
        );
        assert_eq!(
            run("{{ $labels.missing }}|{{ .Labels.job }}", 0.0).unwrap(),
            "|j"
        );
        assert_eq!(
            run(
                "{{ define \"x\" }}[{{ . }}]{{ end }}{{ template \"x\" $labels.job }}",
                0.0
            )
            .unwrap(),
            "[j]"
        );
        assert_eq!(
            run("{{ reReplaceAll \"(a+)\" \"<$1>\" \"baab\" }}", 0.0).unwrap(),
            "b<aa>b"
        );
        assert_eq!(run("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", 0.0).unwrap(), "2");
    }

    #[test]
    fn exec_errors_name_the_function() {
        let e = run("{{ query \"x\" | first | value }}{{ first (args) }}", 0.0).unwrap_err();
        assert_eq!(
            e,
            TemplateError::Exec(
                "template: t:1: executing \"t\": error calling first: first() needs a query result"
                    .into()
            )
        );
    }
}
