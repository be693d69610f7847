//! Round trip of the canonical printer over generated trees: `parse(print(e)) == e` for
//! every well-typed tree the parser can produce (PromQL and MetricsQL forms, odd metric
//! and label names, every duration form, all binary modifiers).

mod common;

use common::trees::Gen;
use gnomon_promql::{ParseOptions, parse, parse_with};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 3000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn print_then_parse_is_identity(seed in any::<u64>(), depth in 0u32..5) {
        let e = Gen::new(seed, false).any(depth);
        let printed = e.to_string();
        let back = parse(&printed);
        prop_assert!(back.is_ok(), "{printed}\n{}", back.unwrap_err());
        prop_assert_eq!(back.unwrap(), e, "{}", printed);
    }

    #[test]
    fn printing_is_a_fixed_point(seed in any::<u64>(), depth in 0u32..5) {
        let printed = Gen::new(seed, false).any(depth).to_string();
        let again = parse(&printed).unwrap().to_string();
        prop_assert_eq!(again, printed);
    }

    #[test]
    fn arbitrary_text_never_panics(s in "[a-z0-9(){}\\[\\]\"'=~!,:@+*/%^<>. -]{0,60}") {
        for opts in [ParseOptions::default(), ParseOptions::prometheus()] {
            if let Ok(e) = parse_with(&s, &opts) {
                let printed = e.to_string();
                prop_assert_eq!(parse_with(&printed, &opts).ok(), Some(e), "{} -> {}", s, printed);
            }
        }
    }
}
