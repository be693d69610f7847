//! Memoized relabeling: a scraped or re-pushed series comes back every interval with the
//! same labels, so each stage (global, per destination) remembers its answer instead of
//! rebuilding and re-sorting the label set each time.
//!
//! Two generations bound the memory: entries go into the current map; when it holds
//! `capacity` entries it becomes the previous one (the older previous is dropped), and a
//! hit in the previous map moves the entry forward. Series seen at least once per
//! generation stay cached; churned series age out. Maps are keyed by a 64-bit hash
//! computed once per lookup (one-shot XXH3), with the full key compared on a hit.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use gnomon_tsdb_core::model::Labels;
use xxhash_rust::xxh3::xxh3_64_with_seed;

type Map<K, V> = HashMap<u64, Vec<(K, V)>, BuildHasherDefault<PassHasher>>;

/// The hash map's hasher for keys that already are hashes.
#[derive(Default)]
struct PassHasher(u64);

impl Hasher for PassHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A two-generation map; see the module docs.
pub(crate) struct TwoGen<K, V> {
    current: Map<K, V>,
    previous: Map<K, V>,
    current_len: usize,
    capacity: usize,
}

impl<K, V: Clone> TwoGen<K, V> {
    pub(crate) fn new(capacity: usize) -> TwoGen<K, V> {
        TwoGen {
            current: Map::default(),
            previous: Map::default(),
            current_len: 0,
            capacity: capacity.max(1),
        }
    }

    /// The value of the key that hashes to `hash` and satisfies `is_key`, or the entry
    /// `make()` builds, remembered.
    pub(crate) fn get_or_insert(
        &mut self,
        hash: u64,
        is_key: impl Fn(&K) -> bool,
        make: impl FnOnce() -> (K, V),
    ) -> V {
        if let Some(v) = self
            .current
            .get(&hash)
            .and_then(|b| b.iter().find(|(k, _)| is_key(k)))
        {
            return v.1.clone();
        }
        let moved = self.previous.get_mut(&hash).and_then(|b| {
            let i = b.iter().position(|(k, _)| is_key(k))?;
            Some(b.swap_remove(i))
        });
        let (k, v) = moved.unwrap_or_else(make);
        if self.current_len >= self.capacity {
            self.previous = std::mem::take(&mut self.current);
            self.current_len = 0;
        }
        self.current.entry(hash).or_default().push((k, v.clone()));
        self.current_len += 1;
        v
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let count = |m: &Map<K, V>| m.values().map(Vec::len).sum::<usize>();
        count(&self.current) + count(&self.previous)
    }
}

/// A label set's hash: one-shot XXH3 per name and value, chained.
pub(crate) fn labels_hash(labels: &Labels) -> u64 {
    let mut x = 0u64;
    for l in labels {
        x = xxh3_64_with_seed(l.name.as_bytes(), x);
        x = xxh3_64_with_seed(l.value.as_bytes(), x);
    }
    x
}

/// Input labels → output labels (`None`: dropped), for one relabeling stage.
pub(crate) struct RelabelCache(TwoGen<Labels, Option<Labels>>);

impl RelabelCache {
    pub(crate) fn new(capacity: usize) -> RelabelCache {
        RelabelCache(TwoGen::new(capacity))
    }

    /// The cached answer for `input`, or `compute(input)` remembered.
    pub(crate) fn get_or_insert(
        &mut self,
        input: &Labels,
        compute: impl FnOnce(&Labels) -> Option<Labels>,
    ) -> Option<Labels> {
        self.0.get_or_insert(
            labels_hash(input),
            |k| k == input,
            || (input.clone(), compute(input)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_answers_and_ages_out_what_is_not_seen() {
        let mut c = RelabelCache::new(2);
        let l = |v: &str| Labels::from_pairs(&[("__name__", v)]);
        let calls = std::cell::Cell::new(0);
        let get = |c: &mut RelabelCache, name: &str| {
            c.get_or_insert(&l(name), |x| {
                calls.set(calls.get() + 1);
                (x.metric_name() != Some("drop")).then(|| x.clone())
            })
        };
        assert_eq!(get(&mut c, "a"), Some(l("a")));
        assert_eq!(get(&mut c, "drop"), None);
        assert_eq!(get(&mut c, "a"), Some(l("a")));
        assert_eq!(get(&mut c, "drop"), None);
        // Full: "b" starts a new generation; "a" moves forward when seen again.
        assert_eq!(get(&mut c, "b"), Some(l("b")));
        assert_eq!(get(&mut c, "a"), Some(l("a")));
        assert_eq!(get(&mut c, "c"), Some(l("c")));
        // "drop" was not seen for a whole generation: computed again.
        assert_eq!(get(&mut c, "drop"), None);
        assert_eq!(calls.get(), 5);
        assert!(c.0.len() <= 4);
    }

    #[test]
    fn colliding_hashes_keep_their_own_values() {
        let mut c: TwoGen<&str, u32> = TwoGen::new(100);
        assert_eq!(c.get_or_insert(7, |k| *k == "a", || ("a", 1)), 1);
        assert_eq!(c.get_or_insert(7, |k| *k == "b", || ("b", 2)), 2);
        assert_eq!(c.get_or_insert(7, |k| *k == "a", || ("a", 9)), 1);
        assert_eq!(c.get_or_insert(7, |k| *k == "b", || ("b", 9)), 2);
    }
}
