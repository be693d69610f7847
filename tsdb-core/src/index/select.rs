//! Matcher evaluation over index sources: [`select`], [`label_names`], [`label_values`].

use std::ops::{Bound, ControlFlow, RangeInclusive};

use roaring::RoaringBitmap;

use super::source::{ALL_VALUES, IndexSource};
use crate::model::{Matcher, RegexShape};

/// Series ids of `sources` matching all `matchers`, restricted to series with samples on
/// `days` when given.
///
/// Prometheus semantics: a missing label matches as the empty string. Matchers are
/// evaluated per source (each holds complete label sets) and the results united; the day
/// restriction is applied to the union, since a series' day marks may be in another
/// source than its labels. With no matchers, every series is selected.
pub fn select(
    sources: &[&dyn IndexSource],
    matchers: &[Matcher],
    days: Option<RangeInclusive<u32>>,
) -> RoaringBitmap {
    let on_days = days.map(|d| {
        let mut ids = RoaringBitmap::new();
        for s in sources {
            ids |= s.series_on_days(d.clone());
        }
        ids
    });
    if on_days.as_ref().is_some_and(RoaringBitmap::is_empty) {
        return RoaringBitmap::new();
    }
    let mut out = RoaringBitmap::new();
    for s in sources {
        out |= select_in(*s, matchers, on_days.as_ref());
    }
    out
}

/// What one matcher selects in one source: these series, or all series but these.
enum Selected {
    Only(RoaringBitmap),
    AllBut(RoaringBitmap),
}

fn select_in(
    src: &dyn IndexSource,
    matchers: &[Matcher],
    on_days: Option<&RoaringBitmap>,
) -> RoaringBitmap {
    let mut only = Vec::new();
    // Positive sets first: they are usually small and any empty one settles the answer.
    for m in matchers.iter().filter(|m| !m.matches_empty()) {
        let ids = postings_of(src, m);
        if ids.is_empty() {
            return ids;
        }
        only.push(ids);
    }
    only.sort_by_key(RoaringBitmap::len);
    let mut acc = match only.len() {
        0 => src.all_series(),
        _ => only.swap_remove(0),
    };
    for ids in &only {
        acc &= ids;
        if acc.is_empty() {
            return acc;
        }
    }
    if let Some(d) = on_days {
        acc &= d;
    }
    for m in matchers.iter().filter(|m| m.matches_empty()) {
        if acc.is_empty() {
            break;
        }
        match evaluate(src, m) {
            Selected::Only(ids) => acc &= ids,
            Selected::AllBut(ids) => acc -= ids,
        }
    }
    acc
}

/// The series that `m` (which does not match the empty string) selects.
fn postings_of(src: &dyn IndexSource, m: &Matcher) -> RoaringBitmap {
    match evaluate(src, m) {
        Selected::Only(ids) => ids,
        Selected::AllBut(ids) => {
            let mut all = src.all_series();
            all -= ids;
            all
        }
    }
}

/// Evaluates one matcher with the fast path of its regex shape.
///
/// `X` is the matcher's positive form (`=`/`=~`); a negative matcher selects `not X`.
/// Series without the label match exactly when the matcher matches `""`, so:
/// - when it does not, the answer is the union of postings of the matching values;
/// - when it does, it is all series but the postings of the values that do not match.
fn evaluate(src: &dyn IndexSource, m: &Matcher) -> Selected {
    let negative = m.is_negative();
    let positive_matches_empty = m.matches_empty() != negative;
    match (negative, positive_matches_empty) {
        // `=~X` and `X` excludes "": values in X.
        (false, false) => Selected::Only(union_positive(src, m)),
        // `!~X` and X excludes "": all but values in X.
        (true, false) => Selected::AllBut(union_positive(src, m)),
        // `=~X`, X includes "": all but values outside X.
        (false, true) => Selected::AllBut(union_outside(src, m)),
        // `!~X`, X includes "": values outside X.
        (true, true) => Selected::Only(union_outside(src, m)),
    }
}

/// Union of the postings of the (present, hence non-empty) values in the positive form.
fn union_positive(src: &dyn IndexSource, m: &Matcher) -> RoaringBitmap {
    let name = m.name.as_str();
    match m.shape() {
        RegexShape::Set(values) => {
            let mut out = RoaringBitmap::new();
            for v in values.iter().filter(|v| !v.is_empty()) {
                out |= src.postings(name, v);
            }
            out
        }
        RegexShape::Prefixes(prefixes) => {
            let mut out = RoaringBitmap::new();
            for p in prefixes {
                let hi = prefix_end(p);
                let range = (
                    Bound::Included(p.as_str()),
                    hi.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
                );
                out |= src.postings_where(name, range, &mut |_| true);
            }
            out
        }
        RegexShape::Any | RegexShape::NonEmpty => {
            src.postings_where(name, ALL_VALUES, &mut |_| true)
        }
        RegexShape::Other => src.postings_where(name, ALL_VALUES, &mut |v| positive(m, v)),
    }
}

/// Union of the postings of the present values outside the positive form.
fn union_outside(src: &dyn IndexSource, m: &Matcher) -> RoaringBitmap {
    if *m.shape() == RegexShape::Any {
        return RoaringBitmap::new();
    }
    src.postings_where(&m.name, ALL_VALUES, &mut |v| !positive(m, v))
}

/// Whether `v` matches the positive form of `m`.
fn positive(m: &Matcher, v: &str) -> bool {
    m.matches(v) != m.is_negative()
}

/// The smallest string greater than every string starting with `p`, when there is one
/// (none for `""` or strings of only `char::MAX`).
fn prefix_end(p: &str) -> Option<String> {
    let mut chars: Vec<char> = p.chars().collect();
    while let Some(c) = chars.pop() {
        let next = match c {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(n) = next {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Sorted, unique label names carried by at least one series of `ids`.
///
/// A source whose series are all in `ids` (a request without matchers, the usual case)
/// answers without decoding any postings: each of its values has at least one series,
/// as both sources only hold values of added series.
pub fn label_names(sources: &[&dyn IndexSource], ids: &RoaringBitmap) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in sources {
        let all = s.all_series();
        if all.is_disjoint(ids) {
            continue;
        }
        let every = all.is_subset(ids);
        for name in s.label_names() {
            if out.binary_search(&name).is_ok() {
                continue;
            }
            let mut found = false;
            s.for_each_value(&name, ALL_VALUES, &mut |_, p| {
                found = every || p.intersects(ids);
                if found {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
            if found {
                let at = out.partition_point(|n| *n < name);
                out.insert(at, name);
            }
        }
    }
    out
}

/// Sorted, unique values of label `name` over the series in `ids` (without decoding
/// postings for a source whose series are all in `ids`, as [`label_names`]).
pub fn label_values(sources: &[&dyn IndexSource], name: &str, ids: &RoaringBitmap) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in sources {
        let all = s.all_series();
        if all.is_disjoint(ids) {
            continue;
        }
        let every = all.is_subset(ids);
        s.for_each_value(name, ALL_VALUES, &mut |v, p| {
            if every || p.intersects(ids) {
                out.push(v.to_owned());
            }
            ControlFlow::Continue(())
        });
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MatchOp;

    #[test]
    fn prefix_end_is_the_next_string() {
        assert_eq!(prefix_end("abc").as_deref(), Some("abd"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_end(""), None);
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        // Every string with the prefix sorts below the end.
        assert!("abc\u{10FFFF}\u{10FFFF}" < "abd");
    }

    #[test]
    fn wholly_selected_sources_list_every_value_and_others_are_checked() {
        use crate::model::Labels;
        let mut a = super::super::MemIndex::new();
        a.add_series(1, &Labels::from_pairs(&[("n", "x")]));
        a.add_series(2, &Labels::from_pairs(&[("n", "y")]));
        let mut b = super::super::MemIndex::new();
        b.add_series(3, &Labels::from_pairs(&[("n", "z"), ("o", "w")]));
        let src: [&dyn IndexSource; 2] = [&a, &b];
        let all: RoaringBitmap = [1, 2, 3, 9].into_iter().collect();
        assert_eq!(label_values(&src, "n", &all), ["x", "y", "z"]);
        assert_eq!(label_names(&src, &all), ["n", "o"]);
        // `a` only partly selected, `b` wholly.
        let some: RoaringBitmap = [2, 3].into_iter().collect();
        assert_eq!(label_values(&src, "n", &some), ["y", "z"]);
        let only_a: RoaringBitmap = [1].into_iter().collect();
        assert_eq!(label_values(&src, "n", &only_a), ["x"]);
        assert_eq!(label_names(&src, &only_a), ["n"]);
        let none: RoaringBitmap = [9].into_iter().collect();
        assert!(label_values(&src, "n", &none).is_empty());
        assert!(label_names(&src, &none).is_empty());
    }

    #[test]
    fn mixed_matchers_skip_absent_labels() {
        let mut m = super::super::MemIndex::new();
        m.add_series(1, &crate::model::Labels::from_pairs(&[("a", "x")]));
        m.add_series(
            2,
            &crate::model::Labels::from_pairs(&[("a", "y"), ("b", "z")]),
        );
        let src: [&dyn IndexSource; 1] = [&m];
        let b_empty = Matcher::equal("b", "");
        assert_eq!(
            select(&src, &[b_empty], None).iter().collect::<Vec<_>>(),
            [1]
        );
        let ne = Matcher::new(MatchOp::NotEqual, "b", "z").unwrap();
        assert_eq!(select(&src, &[ne], None).iter().collect::<Vec<_>>(), [1]);
        let all: RoaringBitmap = [1, 2].into_iter().collect();
        assert_eq!(label_names(&src, &all), ["a", "b"]);
        let one: RoaringBitmap = [1].into_iter().collect();
        assert_eq!(label_names(&src, &one), ["a"]);
        assert_eq!(label_values(&src, "a", &one), ["x"]);
    }
}
