//! Memoized relabeling: a scraped series comes back every interval with the same labels,
//! so each stage (global, per destination) keeps its last answers instead of rebuilding
//! and re-sorting the label set each time.
//!
//! Two generations bound the memory: entries go into the current map; when it holds
//! `capacity` entries it becomes the previous one (the older previous is dropped), and a
//! hit in the previous map moves the entry forward. Series seen at least once per
//! generation stay cached; churned series age out.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use gnomon_tsdb_core::model::Labels;
use xxhash_rust::xxh3::xxh3_64_with_seed;

type Map = HashMap<Key, Option<Labels>, BuildHasherDefault<PassHasher>>;

/// A label set hashed with one-shot XXH3 per name and value (the derived `Hash` streams
/// every field through a stateful hasher, several times slower).
#[derive(PartialEq, Eq)]
struct Key(Labels);

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let mut x = 0u64;
        for l in &self.0 {
            x = xxh3_64_with_seed(l.name.as_bytes(), x);
            x = xxh3_64_with_seed(l.value.as_bytes(), x);
        }
        h.write_u64(x);
    }
}

/// Passes the one `u64` a [`Key`] writes through.
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

/// Input labels → output labels (`None`: dropped).
pub(crate) struct RelabelCache {
    current: Map,
    previous: Map,
    capacity: usize,
}

impl RelabelCache {
    pub(crate) fn new(capacity: usize) -> RelabelCache {
        RelabelCache {
            current: Map::default(),
            previous: Map::default(),
            capacity: capacity.max(1),
        }
    }

    /// The cached answer for `input`, or `compute(input)` remembered.
    pub(crate) fn get_or_insert(
        &mut self,
        input: &Labels,
        compute: impl FnOnce(&Labels) -> Option<Labels>,
    ) -> Option<Labels> {
        let key = Key(input.clone());
        if let Some(out) = self.current.get(&key) {
            return out.clone();
        }
        let out = match self.previous.remove(&key) {
            Some(out) => out,
            None => compute(input),
        };
        if self.current.len() >= self.capacity {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, out.clone());
        out
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.current.len() + self.previous.len()
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
        assert!(c.len() <= 4);
    }
}
