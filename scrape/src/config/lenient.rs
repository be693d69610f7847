//! Non-strict parsing (`-promscrape.config.strictParse=false`): unknown fields are
//! dropped instead of rejected.
//!
//! The config types deny unknown fields, so the text is parsed into a YAML value and
//! deserialized from it; each "unknown field" error names the field and, through
//! `serde_path_to_error`, the mapping holding it, which is removed before trying again.

use serde::de::{DeserializeOwned, Error as _};
use serde_path_to_error::Segment;
use serde_yaml_ng::Value;

/// At most this many unknown fields are dropped from one document; a bound so that a
/// pathological input cannot loop for long (each round re-deserializes the document).
const MAX_DROPPED_FIELDS: usize = 1000;

/// Deserializes `text`, dropping unknown fields.
///
/// # Errors
/// YAML syntax errors (with their location), wrongly typed values (with the field path),
/// or more than [`MAX_DROPPED_FIELDS`] unknown fields.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, serde_yaml_ng::Error> {
    let mut value: Value = serde_yaml_ng::from_str(text)?;
    for _ in 0..MAX_DROPPED_FIELDS {
        let err = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let message = err.inner().to_string();
        let field = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(f, _)| f.to_owned());
        let removed = field.is_some_and(|f| remove_field(&mut value, err.path().iter(), &f));
        if !removed {
            return Err(serde_yaml_ng::Error::custom(format!(
                "{}: {message}",
                err.path()
            )));
        }
    }
    Err(serde_yaml_ng::Error::custom(format!(
        "more than {MAX_DROPPED_FIELDS} unknown fields"
    )))
}

/// Removes `field` from the mapping at `path` (or from its parent, when the path ends
/// with the field itself). True when something was removed.
fn remove_field<'a>(
    root: &mut Value,
    path: impl Iterator<Item = &'a Segment>,
    field: &str,
) -> bool {
    let segments: Vec<&Segment> = path.collect();
    let ends_with_field = matches!(segments.last(), Some(Segment::Map { key }) if key == field);
    let parent_len = if ends_with_field {
        segments.len() - 1
    } else {
        segments.len()
    };
    let mut node = root;
    for seg in &segments[..parent_len] {
        let next = match (seg, node) {
            (Segment::Seq { index }, Value::Sequence(items)) => items.get_mut(*index),
            (Segment::Map { key }, Value::Mapping(m)) => m.get_mut(key.as_str()),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return false,
        }
    }
    match node {
        Value::Mapping(m) => m.remove(field).is_some(),
        _ => false,
    }
}
