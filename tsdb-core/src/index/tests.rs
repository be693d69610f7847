//! Index tests across sources: matcher semantics against a brute-force oracle, days,
//! merging with dropped series, corrupt files, and the golden file of
//! `docs/format/index.md`.

use std::ops::RangeInclusive;
use std::path::Path;

use proptest::prelude::*;
use roaring::RoaringBitmap;

use super::*;
use crate::error::Error;
use crate::model::{Labels, MatchOp, Matcher};

const NAMES: &[&str] = &["__name__", "a", "b", "instance", "job"];
const VALUES: &[&str] = &[
    "", "x", "xy", "xyz", "y", "foo", "foobar", "bar", "é", "a\nb", "z",
];
const REGEXES: &[&str] = &[
    "",
    ".*",
    ".+",
    "x|y",
    "x.*",
    "(foo|ba).*",
    "fo+.*",
    "x?y",
    "[xy]z?",
    "foo|",
    "é|x",
    ".*y",
    "a.b",
    "(?i)FOO",
    "xy|.*z",
    "x+",
    "(x|)",
    ".*.*",
];

/// One generated series: its labels and the days it has samples on.
#[derive(Debug, Clone)]
struct Row {
    labels: Labels,
    days: Vec<u32>,
}

fn row() -> impl Strategy<Value = Row> {
    let values = proptest::collection::vec(0..VALUES.len(), NAMES.len());
    let days = proptest::collection::vec(0u32..6, 0..3);
    (values, days).prop_map(|(vs, days)| Row {
        labels: Labels::from_pairs(
            &NAMES
                .iter()
                .zip(vs)
                .map(|(n, v)| (*n, VALUES[v]))
                .collect::<Vec<_>>(),
        ),
        days,
    })
}

fn matcher() -> impl Strategy<Value = Matcher> {
    let names = prop_oneof![4 => proptest::sample::select(NAMES), 1 => Just("missing")];
    (0..4u8, names, any::<prop::sample::Index>()).prop_map(|(op, name, i)| {
        let (op, value) = match op {
            0 => (MatchOp::Equal, *i.get(VALUES)),
            1 => (MatchOp::NotEqual, *i.get(VALUES)),
            2 => (MatchOp::RegexMatch, *i.get(REGEXES)),
            _ => (MatchOp::RegexNoMatch, *i.get(REGEXES)),
        };
        Matcher::new(op, name, value).expect("test regexes compile")
    })
}

/// Series ids are spread out so that postings are not just `0..n`.
fn id(i: usize) -> u32 {
    (i as u32) * 7 + 3
}

fn oracle(rows: &[Row], matchers: &[Matcher], days: Option<&RangeInclusive<u32>>) -> Vec<u32> {
    rows.iter()
        .enumerate()
        .filter(|(_, r)| {
            matchers
                .iter()
                .all(|m| m.matches(r.labels.get(&m.name).unwrap_or("")))
        })
        .filter(|(_, r)| days.is_none_or(|d| r.days.iter().any(|x| d.contains(x))))
        .map(|(i, _)| id(i))
        .collect()
}

fn mem_of<'a>(rows: impl IntoIterator<Item = (usize, &'a Row)>) -> MemIndex {
    let mut m = MemIndex::new();
    for (i, r) in rows {
        m.add_series(id(i), &r.labels);
        for d in &r.days {
            m.add_day(*d, id(i));
        }
    }
    m
}

fn file_of(
    dir: &Path,
    name: &str,
    sources: &[&dyn IndexSource],
    drop: Option<&RoaringBitmap>,
) -> IndexFile {
    let path = dir.join(name);
    let n = write_index(&path, sources, drop).expect("write");
    let f = IndexFile::open(&path).expect("open");
    assert_eq!(f.size_bytes(), n);
    f
}

fn ids(b: &RoaringBitmap) -> Vec<u32> {
    b.iter().collect()
}

/// The three source layouts: one MemIndex, one file, and a file plus a MemIndex sharing
/// some series, with day marks sometimes away from the labels.
struct Layouts {
    mem: MemIndex,
    file: IndexFile,
    mixed_mem: MemIndex,
    mixed_file: IndexFile,
    _dir: tempfile::TempDir,
}

impl Layouts {
    fn new(rows: &[Row]) -> Layouts {
        let dir = tempfile::tempdir().expect("tempdir");
        let mem = mem_of(rows.iter().enumerate());
        let file = file_of(dir.path(), "all.idx", &[&mem], None);
        let mut a = MemIndex::new();
        let mut b = MemIndex::new();
        for (i, r) in rows.iter().enumerate() {
            if i % 3 != 0 {
                a.add_series(id(i), &r.labels);
            }
            if i % 3 != 1 {
                b.add_series(id(i), &r.labels);
            }
            for d in &r.days {
                if (i + *d as usize).is_multiple_of(2) {
                    a.add_day(*d, id(i))
                } else {
                    b.add_day(*d, id(i))
                }
            }
        }
        let mixed_file = file_of(dir.path(), "b.idx", &[&b], None);
        Layouts {
            mem,
            file,
            mixed_mem: a,
            mixed_file,
            _dir: dir,
        }
    }

    fn each(&self) -> [(&'static str, Vec<&dyn IndexSource>); 3] {
        [
            ("mem", vec![&self.mem]),
            ("file", vec![&self.file]),
            ("mixed", vec![&self.mixed_mem, &self.mixed_file]),
        ]
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn select_agrees_with_oracle(
        rows in proptest::collection::vec(row(), 0..40),
        queries in proptest::collection::vec(
            (proptest::collection::vec(matcher(), 0..4), proptest::option::of((0u32..7, 0u32..3))),
            1..8,
        ),
    ) {
        let layouts = Layouts::new(&rows);
        for (matchers, days) in &queries {
            let days = days.map(|(a, n)| a..=a + n);
            let want = oracle(&rows, matchers, days.as_ref());
            for (layout, srcs) in layouts.each() {
                let got = select(&srcs, matchers, days.clone());
                prop_assert_eq!(ids(&got), want.clone(), "{} {:?} {:?}", layout, matchers, days);
            }
        }
    }

    #[test]
    fn names_and_values_agree_with_oracle(
        rows in proptest::collection::vec(row(), 0..30),
        pick in proptest::collection::vec(any::<bool>(), 30),
    ) {
        let layouts = Layouts::new(&rows);
        let chosen: Vec<usize> = (0..rows.len()).filter(|i| pick[*i]).collect();
        let set: RoaringBitmap = chosen.iter().map(|i| id(*i)).collect();
        let mut want_names: Vec<String> = chosen.iter().flat_map(|i| rows[*i].labels.iter().map(|l| l.name.clone())).collect();
        want_names.sort();
        want_names.dedup();
        for (layout, srcs) in layouts.each() {
            prop_assert_eq!(label_names(&srcs, &set), want_names.clone(), "{}", layout);
            for name in NAMES {
                let mut want: Vec<String> = chosen.iter().filter_map(|i| rows[*i].labels.get(name).map(str::to_owned)).collect();
                want.sort();
                want.dedup();
                prop_assert_eq!(label_values(&srcs, name, &set), want, "{} {}", layout, name);
            }
        }
    }

    #[test]
    fn file_round_trips_every_table(rows in proptest::collection::vec(row(), 0..60)) {
        let layouts = Layouts::new(&rows);
        let (mem, file) = (&layouts.mem, &layouts.file);
        prop_assert_eq!(file.all_series(), mem.all_series());
        prop_assert_eq!(file.label_names(), mem.label_names());
        prop_assert_eq!(file.days(), mem.days());
        for d in 0..7 {
            prop_assert_eq!(file.series_on_days(d..=d + 1), mem.series_on_days(d..=d + 1));
        }
        for name in mem.label_names() {
            let values = mem.label_values(&name);
            prop_assert_eq!(file.label_values(&name), values.clone());
            for v in values {
                prop_assert_eq!(file.postings(&name, &v), mem.postings(&name, &v));
            }
        }
    }
}

#[test]
fn many_values_span_blocks_and_range_scans_cut_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut mem = MemIndex::new();
    for i in 0..1000u32 {
        mem.add_series(
            i,
            &Labels::from_pairs(&[("__name__", "m"), ("instance", &format!("host{i:04}"))]),
        );
    }
    let file = file_of(dir.path(), "x.idx", &[&mem], None);
    for srcs in [[&mem as &dyn IndexSource], [&file as &dyn IndexSource]] {
        let m = Matcher::new(MatchOp::RegexMatch, "instance", "host05.*").unwrap();
        assert_eq!(
            ids(&select(&srcs, &[m], None)),
            (500..600).collect::<Vec<_>>()
        );
        let m = Matcher::new(MatchOp::RegexMatch, "instance", "host0(12|99)9|nope").unwrap();
        assert_eq!(ids(&select(&srcs, &[m], None)), [129, 999]);
        let m = Matcher::new(MatchOp::NotEqual, "instance", "host0000").unwrap();
        assert_eq!(select(&srcs, &[m], None).len(), 999);
        let m = Matcher::new(MatchOp::RegexMatch, "instance", "host.*7").unwrap();
        assert_eq!(select(&srcs, &[m], None).len(), 100);
    }
    assert_eq!(
        file.postings("instance", "host0031"),
        [31u32].into_iter().collect()
    );
    assert!(file.postings("instance", "host00311").is_empty());
    assert!(file.postings("instance", "a").is_empty());
    assert!(file.postings("instance", "z").is_empty());
}

#[test]
fn write_index_drops_series_and_emptied_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = MemIndex::new();
    a.add_series(1, &Labels::from_pairs(&[("job", "keep")]));
    a.add_series(
        2,
        &Labels::from_pairs(&[("job", "gone"), ("only", "dropped")]),
    );
    a.add_day(10, 2);
    a.add_day(11, 1);
    let mut b = MemIndex::new();
    b.add_series(3, &Labels::from_pairs(&[("job", "keep")]));
    b.add_day(11, 3);
    let first = file_of(dir.path(), "1.idx", &[&a], None);
    let drop: RoaringBitmap = [2u32].into_iter().collect();
    let merged = file_of(dir.path(), "2.idx", &[&first, &b], Some(&drop));
    assert_eq!(ids(&merged.all_series()), [1, 3]);
    assert_eq!(merged.label_names(), ["job"]);
    assert_eq!(merged.label_values("job"), ["keep"]);
    assert_eq!(merged.days(), [11]);
    assert_eq!(ids(&merged.series_on_days(0..=100)), [1, 3]);
    // Writing over an existing file replaces it and leaves no temporary behind.
    let again = file_of(dir.path(), "2.idx", &[&b], None);
    assert_eq!(ids(&again.all_series()), [3]);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn empty_index_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let f = file_of(dir.path(), "e.idx", &[], None);
    assert!(f.is_empty());
    assert!(f.label_names().is_empty());
    assert!(select(&[&f], &[Matcher::equal("a", "")], None).is_empty());
}

fn small_file_bytes() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let mut m = MemIndex::new();
    m.add_series(
        1,
        &Labels::from_pairs(&[("__name__", "up"), ("job", "node")]),
    );
    m.add_series(
        2,
        &Labels::from_pairs(&[("__name__", "up"), ("job", "nomad")]),
    );
    m.add_day(19_700, 1);
    let path = dir.path().join("golden.idx");
    write_index(&path, &[&m], None).unwrap();
    std::fs::read(&path).unwrap()
}

/// Recomputes the checksum so that damage reaches the structural checks.
fn reseal(b: &mut [u8]) {
    let n = b.len();
    if n >= 8 {
        let crc = crc32fast::hash(&b[..n - 8]);
        b[n - 8..n - 4].copy_from_slice(&crc.to_le_bytes());
    }
}

fn corrupt_what(r: crate::Result<IndexFile>) -> (&'static str, u64) {
    match r {
        Err(Error::Corrupt { what, offset, .. }) => (what, offset),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn every_truncation_is_corrupt() {
    let good = small_file_bytes();
    for n in 0..good.len() {
        let (what, _) = corrupt_what(IndexFile::from_bytes("t", good[..n].to_vec()));
        assert_eq!(what, "index footer", "truncated to {n}");
    }
}

#[test]
fn every_flipped_byte_is_corrupt() {
    let good = small_file_bytes();
    for i in 0..good.len() {
        let mut b = good.clone();
        b[i] ^= 0x10;
        corrupt_what(IndexFile::from_bytes("t", b));
    }
}

#[test]
fn damage_behind_a_valid_checksum_never_panics() {
    let good = small_file_bytes();
    for i in 0..good.len() - 8 {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut b = good.clone();
            b[i] ^= flip;
            reseal(&mut b);
            if let Ok(f) = IndexFile::from_bytes("t", b) {
                // Whatever survived validation must still answer queries.
                let m = Matcher::new(MatchOp::RegexMatch, "job", "no.*").unwrap();
                let _ = select(&[&f], &[m], Some(0..=u32::MAX));
                let _ = label_names(&[&f], &f.all_series());
            }
        }
    }
}

#[test]
fn structural_damage_is_located() {
    let good = small_file_bytes();
    let f = IndexFile::from_bytes("t", good.clone()).unwrap();
    assert_eq!(
        ids(&select(&[&f], &[Matcher::equal("job", "nomad")], None)),
        [2]
    );
    // Swap the order of the two `job` values ("node" > "nomad" is wrong order): the
    // second entry's suffix "mad" becomes "dad" so "nodad" < "node".
    let pos = good.windows(3).position(|w| w == b"mad").unwrap();
    let mut b = good.clone();
    b[pos] = b'd';
    reseal(&mut b);
    let (what, offset) = corrupt_what(IndexFile::from_bytes("t", b));
    assert_eq!(what, "key block");
    assert_eq!(
        offset as usize,
        pos - 2,
        "entry starts at its shared-prefix varint"
    );
    // A bad magic is reported at offset 0.
    let mut b = good.clone();
    b[0] = b'X';
    assert_eq!(
        corrupt_what(IndexFile::from_bytes("t", b)),
        ("index footer", 0)
    );
}

/// The example file of `docs/format/index.md` is byte-for-byte what the writer produces.
#[test]
fn golden_file_matches_the_format_doc() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/format/index.md");
    let doc = std::fs::read_to_string(&doc_path).expect("docs/format/index.md");
    let start = doc.find("```golden\n").expect("golden block") + "```golden\n".len();
    let end = start + doc[start..].find("```").expect("end of golden block");
    let want: Vec<u8> = doc[start..end]
        .lines()
        .flat_map(|l| {
            l.split('|')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .skip(1)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .map(|h| u8::from_str_radix(&h, 16).expect("hex byte"))
        .collect();
    let got = small_file_bytes();
    assert_eq!(got, want, "update docs/format/index.md:\n{}", hexdump(&got));
}

fn hexdump(b: &[u8]) -> String {
    b.chunks(16)
        .enumerate()
        .map(|(i, c)| {
            let hex: Vec<String> = c.iter().map(|x| format!("{x:02x}")).collect();
            let txt: String = c
                .iter()
                .map(|&x| if x.is_ascii_graphic() { x as char } else { '.' })
                .collect();
            format!("{:04x}  {:<47} |{}|\n", i * 16, hex.join(" "), txt)
        })
        .collect()
}
