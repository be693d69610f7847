//! Memoized relabeling: a scraped or re-pushed series comes back every interval with the
//! same labels, so each stage (global, per destination) remembers its answer instead of
//! rebuilding and re-sorting the label set each time.
//!
//! Entries are keyed by the 128-bit XXH3 of the input label set's bytes (names and
//! values, each followed by `0xff`, which no UTF-8 text contains): the input itself is
//! not kept, so a hit reads one hash-table slot instead of chasing every label string of
//! a stored copy (at 100k series those cache misses cost more than the hash). Two label
//! sets answering for each other would take a 128-bit collision.
//!
//! Two generations bound the memory: entries go into the current map; when it holds
//! `capacity` entries it becomes the previous one (the older previous is dropped), and a
//! hit in the previous map moves the entry forward. Series seen at least once per
//! generation stay cached; churned series age out.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use gnomon_tsdb_core::model::Labels;
use xxhash_rust::xxh3::xxh3_128;

type Map = HashMap<u128, Option<Labels>, BuildHasherDefault<PassHasher>>;

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
    fn write_u128(&mut self, v: u128) {
        self.0 = (v as u64) ^ ((v >> 64) as u64);
    }
}

/// Input labels → output labels (`None`: dropped), for one relabeling stage.
pub(crate) struct RelabelCache {
    current: Map,
    previous: Map,
    capacity: usize,
    scratch: Vec<u8>,
}

impl RelabelCache {
    pub(crate) fn new(capacity: usize) -> RelabelCache {
        RelabelCache {
            current: Map::default(),
            previous: Map::default(),
            capacity: capacity.max(1),
            scratch: Vec::new(),
        }
    }

    /// The cached answer for `input`, or `compute(input)` remembered.
    pub(crate) fn get_or_insert(
        &mut self,
        input: &Labels,
        compute: impl FnOnce(&Labels) -> Option<Labels>,
    ) -> Option<Labels> {
        self.scratch.clear();
        for l in input {
            self.scratch.extend_from_slice(l.name.as_bytes());
            self.scratch.push(0xff);
            self.scratch.extend_from_slice(l.value.as_bytes());
            self.scratch.push(0xff);
        }
        let key = xxh3_128(&self.scratch);
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

    #[test]
    fn label_boundaries_are_part_of_the_key() {
        let mut c = RelabelCache::new(10);
        let a = Labels::from_pairs(&[("a", "bc")]);
        let b = Labels::from_pairs(&[("ab", "c")]);
        let tag = |l: &Labels| Some(Labels::from_pairs(&[("from", &l.to_string())]));
        assert_eq!(c.get_or_insert(&a, tag), tag(&a));
        assert_eq!(c.get_or_insert(&b, tag), tag(&b));
        assert_eq!(c.get_or_insert(&a, |_| unreachable!("cached")), tag(&a));
    }
}
