//! Label sets: sorted, deduplicated `name="value"` pairs with a canonical byte encoding.

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};

/// Name of the label that holds the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One `name="value"` pair.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label {
    /// Label name.
    pub name: String,
    /// Label value; never empty inside a [`Labels`].
    pub value: String,
}

impl Label {
    /// Creates a label.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A label set, `__name__` included: sorted by name, one value per name, no empty values
/// (as in Prometheus, a label with an empty value is the same as a missing label).
///
/// Cloning is cheap (the pairs are shared). Ordering compares pair by pair, as
/// Prometheus' `labels.Compare` does.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Labels(Arc<[Label]>);

impl Labels {
    /// Builds a label set from pairs in any order. Pairs with an empty value are dropped;
    /// when a name repeats, the last value wins.
    pub fn new(mut pairs: Vec<Label>) -> Self {
        // Stable sort keeps the input order among equal names, so "last wins" below.
        pairs.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out: Vec<Label> = Vec::with_capacity(pairs.len());
        for l in pairs {
            match out.last_mut() {
                Some(prev) if prev.name == l.name => *prev = l,
                _ => out.push(l),
            }
        }
        out.retain(|l| !l.value.is_empty());
        Labels(out.into())
    }

    /// Builds a label set from `(name, value)` pairs.
    pub fn from_pairs<N: AsRef<str>, V: AsRef<str>>(pairs: &[(N, V)]) -> Self {
        Labels::new(
            pairs
                .iter()
                .map(|(n, v)| Label::new(n.as_ref(), v.as_ref()))
                .collect(),
        )
    }

    /// Builds a label set from pairs already sorted by name, unique, with no empty value.
    /// Returns `None` when they are not.
    pub fn from_sorted(pairs: Vec<Label>) -> Option<Self> {
        let ok = pairs.windows(2).all(|w| w[0].name < w[1].name)
            && pairs.iter().all(|l| !l.value.is_empty());
        ok.then(|| Labels(pairs.into()))
    }

    /// The empty label set.
    pub fn empty() -> Self {
        Labels::default()
    }

    /// Value of label `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_str())
    }

    /// The metric name (`__name__`), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// The pairs, sorted by name.
    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    /// Iterates over the pairs in name order.
    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A builder starting from this set.
    pub fn builder(&self) -> LabelsBuilder {
        LabelsBuilder {
            pairs: self.0.to_vec(),
        }
    }

    /// Appends the canonical encoding to `buf`: for each pair in name order,
    /// `uvarint(len(name)) name uvarint(len(value)) value`.
    ///
    /// Two label sets are equal exactly when their encodings are equal; the encoding is the
    /// series key on disk (see `docs/format/index.md`).
    pub fn encode(&self, buf: &mut Vec<u8>) {
        for l in self.0.iter() {
            put_uvarint(buf, l.name.len() as u64);
            buf.extend_from_slice(l.name.as_bytes());
            put_uvarint(buf, l.value.len() as u64);
            buf.extend_from_slice(l.value.as_bytes());
        }
    }

    /// The canonical encoding as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(self.encoded_len_hint());
        self.encode(&mut buf);
        buf
    }

    fn encoded_len_hint(&self) -> usize {
        self.0
            .iter()
            .map(|l| l.name.len() + l.value.len() + 2)
            .sum()
    }

    /// Decodes a canonical encoding produced by [`Labels::encode`].
    ///
    /// # Errors
    /// [`Error::Decode`] when the bytes are truncated, not UTF-8, not sorted, or hold an
    /// empty value.
    pub fn decode(mut bytes: &[u8]) -> Result<Labels> {
        let mut pairs = Vec::new();
        while !bytes.is_empty() {
            let name = take_string(&mut bytes)?;
            let value = take_string(&mut bytes)?;
            pairs.push(Label { name, value });
        }
        Labels::from_sorted(pairs)
            .ok_or_else(|| Error::decode("labels", "pairs not sorted, repeated or empty"))
    }

    /// A 64-bit hash of the canonical encoding (xxh3), stable across runs and platforms.
    pub fn hash64(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(&self.to_bytes())
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Prometheus' `labels.String()` form: `{__name__="up", job="node"}`.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}=\"", l.name)?;
            write_escaped(f, &l.value)?;
            f.write_str("\"")?;
        }
        f.write_str("}")
    }
}

fn write_escaped(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    for c in s.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '"' => f.write_str("\\\"")?,
            '\n' => f.write_str("\\n")?,
            c => fmt::Write::write_char(f, c)?,
        }
    }
    Ok(())
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Edits a label set: set, delete, then [`LabelsBuilder::build`].
#[derive(Clone, Debug, Default)]
pub struct LabelsBuilder {
    pairs: Vec<Label>,
}

impl LabelsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Current value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.value.as_str())
    }

    /// Sets `name` to `value`; an empty value deletes the label.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        match self.pairs.iter_mut().find(|l| l.name == name) {
            Some(l) => value.clone_into(&mut l.value),
            None => self.pairs.push(Label::new(name, value)),
        }
        self
    }

    /// Deletes `name`.
    pub fn del(&mut self, name: &str) -> &mut Self {
        self.pairs.retain(|l| l.name != name);
        self
    }

    /// Keeps only the labels for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&Label) -> bool) -> &mut Self {
        self.pairs.retain(|l| keep(l));
        self
    }

    /// Iterates over the current pairs (not sorted).
    pub fn iter(&self) -> impl Iterator<Item = &Label> {
        self.pairs.iter()
    }

    /// The label set.
    pub fn build(&self) -> Labels {
        Labels::new(self.pairs.clone())
    }
}

/// Appends `v` as an unsigned LEB128 varint.
pub(crate) fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Reads an unsigned LEB128 varint from the front of `bytes`.
pub(crate) fn take_uvarint(bytes: &mut &[u8]) -> Result<u64> {
    let mut v = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            *bytes = &bytes[i + 1..];
            return Ok(v);
        }
    }
    Err(Error::decode("varint", "truncated or longer than 10 bytes"))
}

fn take_string(bytes: &mut &[u8]) -> Result<String> {
    let n = take_uvarint(bytes)? as usize;
    if n > bytes.len() {
        return Err(Error::decode(
            "labels",
            format!("string of {n} bytes but {} left", bytes.len()),
        ));
    }
    let (s, rest) = bytes.split_at(n);
    *bytes = rest;
    String::from_utf8(s.to_vec()).map_err(|_| Error::decode("labels", "string is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn new_sorts_dedups_and_drops_empty_values() {
        let l = Labels::from_pairs(&[("b", "1"), ("a", "x"), ("b", "2"), ("c", "")]);
        assert_eq!(l.to_string(), r#"{a="x", b="2"}"#);
        assert_eq!(l.get("b"), Some("2"));
        assert_eq!(l.get("c"), None);
    }

    #[test]
    fn builder_sets_and_deletes() {
        let l = Labels::from_pairs(&[("__name__", "up"), ("job", "a")]);
        let mut b = l.builder();
        b.set("job", "b").set("instance", "x").del("__name__");
        assert_eq!(b.build().to_string(), r#"{instance="x", job="b"}"#);
        b.set("job", "");
        assert_eq!(b.build().to_string(), r#"{instance="x"}"#);
    }

    #[test]
    fn decode_rejects_garbage() {
        assert!(matches!(
            Labels::decode(&[5, b'a']),
            Err(Error::Decode { what: "labels", .. })
        ));
        // "b" then "a": not sorted.
        let bytes = [1, b'b', 1, b'1', 1, b'a', 1, b'2'];
        assert!(matches!(
            Labels::decode(&bytes),
            Err(Error::Decode { what: "labels", .. })
        ));
    }

    #[test]
    fn encoding_is_pinned() {
        let l = Labels::from_pairs(&[("__name__", "up"), ("job", "node")]);
        assert_eq!(l.to_bytes(), b"\x08__name__\x02up\x03job\x04node".to_vec());
    }

    proptest! {
        #[test]
        fn encode_decode_round_trip(pairs in proptest::collection::vec(("[a-z_]{1,8}", "\\PC{0,12}"), 0..8)) {
            let l = Labels::from_pairs(&pairs);
            let back = Labels::decode(&l.to_bytes()).unwrap();
            prop_assert_eq!(back, l);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Labels::decode(&bytes);
        }
    }
}
