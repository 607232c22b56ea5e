//! Properties of the matcher over generated input.

use std::sync::OnceLock;

use keyward_core::{Matcher, Regions, RuleSet, Scratch};
use proptest::prelude::*;

fn matcher() -> &'static Matcher {
    static M: OnceLock<Matcher> = OnceLock::new();
    M.get_or_init(|| Matcher::new(RuleSet::builtin()).expect("matcher"))
}

/// Text made of keywords, separators and token-ish characters, so that rules really run.
fn keyword_soup() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "secret",
        "client_secret",
        "password",
        "token",
        "api_key",
        "ghp_",
        "xoxb-",
        "AKIA",
        "-----BEGIN ",
        "PRIVATE KEY-----",
        "://",
        "@",
        ":",
        "=",
        "\"",
        "'",
        "\n",
        " ",
        "eyJ",
        ".",
        "Bearer ",
        "sk_live_",
    ]);
    let piece = prop_oneof![words.prop_map(str::to_string), "[A-Za-z0-9+/_-]{1,48}"];
    prop::collection::vec(piece, 0..200).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let found = matcher().scan(&bytes, &mut Scratch::new());
        for f in found {
            prop_assert!(f.span.end <= bytes.len() && f.span.start < f.span.end);
            prop_assert!(f.line >= 1 && f.column >= 1);
        }
    }

    #[test]
    fn a_region_scan_over_everything_is_a_whole_scan_and_tracks_hits(text in keyword_soup()) {
        let m = matcher();
        let bytes = text.as_bytes();
        let key = |found: &[keyward_core::Finding]| -> Vec<_> {
            found.iter().map(|f| (f.rule, f.span.clone(), f.match_span.clone(), f.line)).collect()
        };
        let whole = key(&m.scan(bytes, &mut Scratch::new()));
        // Track every trigger: a whole scan still windows their hits, and reports them all.
        let track = vec![true; m.trigger_count()];
        let mut scratch = Scratch::new();
        let mut tracked_whole = Vec::new();
        m.scan_regions_into(bytes, None, &track, &mut scratch, &mut tracked_whole);
        prop_assert_eq!(&whole, &key(&tracked_whole));
        let hits = scratch.tracked().to_vec();
        // A region scan of everything with every tracked hit given back finds the same.
        let everything = 0..bytes.len();
        let give_back = |_: &[keyward_core::KeywordHit]| hits.clone();
        let regions = Regions { ranges: std::slice::from_ref(&everything), hits: &give_back, events: std::slice::from_ref(&everything) };
        let mut again = Vec::new();
        m.scan_regions_into(bytes, Some(regions), &track, &mut scratch, &mut again);
        prop_assert_eq!(&whole, &key(&again));
        // Nothing tracked, regions cut in two around a point: only findings whose keyword
        // could lie in neither part may be missing, and nothing is invented.
        let cut = bytes.len() / 2;
        let ranges = [0..cut, cut..bytes.len()];
        let none = |_: &[keyward_core::KeywordHit]| Vec::new();
        let regions = Regions { ranges: &ranges, hits: &none, events: &ranges };
        let mut split = Vec::new();
        m.scan_regions_into(bytes, Some(regions), &[], &mut scratch, &mut split);
        for f in &split {
            let overlaps = |w: &&(usize, std::ops::Range<usize>, std::ops::Range<usize>, usize)| {
                w.1.start < f.span.end && f.span.start < w.1.end
            };
            prop_assert!(whole.iter().any(|w| overlaps(&w)), "invented: {:?}", f.span);
        }
    }

    #[test]
    fn findings_are_sorted_disjoint_and_located(text in keyword_soup()) {
        let bytes = text.as_bytes();
        let found = matcher().scan(bytes, &mut Scratch::new());
        for pair in found.windows(2) {
            prop_assert!(pair[0].span.end <= pair[1].span.start, "overlapping findings");
        }
        for f in &found {
            let line = 1 + bytes[..f.span.start].iter().filter(|&&b| b == b'\n').count();
            prop_assert_eq!(f.line, line);
            prop_assert_eq!(f.secret.expose().as_bytes(), &bytes[f.span.clone()]);
        }
    }

    #[test]
    fn a_reused_scratch_gives_the_same_answer(a in keyword_soup(), b in keyword_soup()) {
        let mut scratch = Scratch::new();
        let _ = matcher().scan(a.as_bytes(), &mut scratch);
        let again: Vec<_> = matcher().scan(b.as_bytes(), &mut scratch).into_iter().map(|f| f.span).collect();
        let fresh: Vec<_> = matcher().scan(b.as_bytes(), &mut Scratch::new()).into_iter().map(|f| f.span).collect();
        prop_assert_eq!(again, fresh);
    }
}
