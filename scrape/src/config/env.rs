//! `%{NAME}` environment variable references, expanded in the config text before
//! parsing, as VictoriaMetrics does.

use std::borrow::Cow;

use super::error::ConfigError;

/// Replaces each `%{NAME}` (NAME of ASCII letters, digits, `_` and `.`) with
/// `lookup(NAME)`. Text that only looks similar (`%{}`, `%{a b}`, a lone `%`) stays as is.
///
/// # Errors
/// [`ConfigError::MissingEnv`] (without a path) naming the first variable `lookup`
/// does not know.
pub(crate) fn expand<'a>(
    text: &'a str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Cow<'a, str>, ConfigError> {
    if !text.contains("%{") {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("%{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let name_len = after
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.')
            .count();
        if name_len > 0 && after.as_bytes().get(name_len) == Some(&b'}') {
            let name = &after[..name_len];
            out.push_str(&lookup(name).ok_or_else(|| ConfigError::MissingEnv {
                path: None,
                name: name.to_owned(),
            })?);
            rest = &after[name_len + 1..];
        } else {
            out.push_str("%{");
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db-1".into()),
            "a.b" => Some("%{HOST}".into()),
            _ => None,
        }
    }

    #[test]
    fn expands_known_names_once() {
        assert_eq!(expand("x: %{HOST}:9100", env).unwrap(), "x: db-1:9100");
        // A value is not expanded again.
        assert_eq!(expand("%{a.b}", env).unwrap(), "%{HOST}");
        assert!(matches!(expand("plain", env).unwrap(), Cow::Borrowed(_)));
    }

    #[test]
    fn leaves_lookalikes() {
        assert_eq!(
            expand("%{} %{a b} % %{HOST", env).unwrap(),
            "%{} %{a b} % %{HOST"
        );
    }

    #[test]
    fn missing_variable_is_named() {
        match expand("a %{NOPE} b", env) {
            Err(ConfigError::MissingEnv { path: None, name }) => assert_eq!(name, "NOPE"),
            other => panic!("expected MissingEnv, got {other:?}"),
        }
    }
}
