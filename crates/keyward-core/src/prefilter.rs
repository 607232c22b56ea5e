//! The keyword prefilter: which rules may match, and where.
//!
//! # Contract
//!
//! For every occurrence of every keyword of every rule (ASCII case-insensitive), the rule is
//! triggered with a window that covers `[occurrence start - window.before, occurrence end +
//! window.after]`. Extra triggers may happen (a false candidate costs one regex run); a
//! missing one never does.
//!
//! # How
//!
//! Only the *minimal* keywords go into the automaton: those that contain no other keyword.
//! A keyword that contains a minimal one (`client_secret` contains `secret`) is found through
//! it: each hit of the minimal keyword checks the bytes around it for the longer keyword
//! (ASCII case-insensitively) and triggers the longer keyword's rules where it is really
//! there — so a rule still runs only where one of its own keywords occurs, which rule authors
//! rely on when a provider's name is the keyword. Because no minimal keyword contains another,
//! a plain (non-overlapping) search that restarts one byte after the start of each match
//! reports every occurrence: a skipped occurrence would have to end with the reported one or
//! contain it, which minimality rules out. That search runs faster than an overlapping one.
//!
//! The automaton is our own complete DFA over the minimal keywords (`kwdfa`), searched in
//! four interleaved lanes: several times the throughput of a general Aho–Corasick DFA here,
//! and built in a few milliseconds. A scan of one small file cannot afford even that, so
//! small inputs, while little has been scanned, are searched keyword by keyword with `memmem`
//! instead, and the automaton is built on first need.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Error;
use crate::kwdfa::{KeywordDfa, LaneHits};
use crate::rule::{Rule, Window};

/// FNV-1a: the keyword analysis hashes tens of thousands of short substrings at start-up,
/// where SipHash's resistance to hostile keys buys nothing and costs a millisecond.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// Inputs up to this size are searched keyword by keyword while nothing is built yet…
const BRUTE_MAX_INPUT: usize = 4 << 10;
/// …and while the process has scanned no more than this.
const BRUTE_MAX_TOTAL: u64 = 64 << 10;
/// What one input counts towards [`BRUTE_MAX_TOTAL`] at least: a keyword-by-keyword search
/// sets up a finder per keyword whatever the input's size, so a hundred thousand tiny files
/// must not each pay that (at most 64 inputs are searched this way).
const BRUTE_MIN_COST: u64 = 1 << 10;

/// Ranges of an input joined into one, reused between searches.
#[derive(Debug, Default)]
pub(crate) struct Joined {
    bytes: Vec<u8>,
    /// Per range: where it starts in `bytes`, and in the input.
    starts: Vec<(usize, usize)>,
}

/// One rule to run around a keyword hit, and how far around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Trigger {
    /// The rule's index.
    pub rule: u32,
    /// Bytes before the hit's start.
    pub before: usize,
    /// Bytes after the hit's end.
    pub after: usize,
}

/// A longer keyword found through a minimal one it contains.
#[derive(Debug)]
struct Extension {
    /// The longer keyword, lowercase.
    keyword: Box<[u8]>,
    /// Where the minimal keyword sits inside it.
    offset: usize,
    /// The rules of the longer keyword.
    triggers: Vec<Trigger>,
}

/// Ranges at least this long are searched in place by [`Prefilter::for_each_hit_in`]
/// rather than copied into the joined input.
pub(crate) const JOIN_BELOW: usize = 4096;

#[derive(Debug)]
pub(crate) struct Prefilter {
    /// Every distinct lowercase keyword, with the rules that listed it.
    all: Vec<(String, Vec<Trigger>)>,
    /// The longest keyword's length.
    longest: usize,
    automaton: OnceLock<Option<Automaton>>,
    scanned: AtomicU64,
}

/// The minimal keywords and what each one triggers.
#[derive(Debug)]
struct Automaton {
    /// The minimal keywords (kept for the tests' inspection).
    #[cfg_attr(not(test), allow(dead_code))]
    keywords: Vec<String>,
    /// Per minimal keyword: the rules that listed it.
    triggers: Vec<Vec<Trigger>>,
    /// Per minimal keyword: the longer keywords found through it.
    extensions: Vec<Vec<Extension>>,
    dfa: KeywordDfa,
    /// A byte in no keyword (either case): reading it returns the automaton to its start,
    /// so ranges joined with it are searched as one input without a hit across a join.
    separator: Option<u8>,
}

impl Prefilter {
    /// Gathers the keywords of `rules` and of `extra` (more triggers, numbered after the
    /// rules: decoders); `None` when there are none. Nothing is built yet.
    pub fn new(rules: &[Rule], extra: &[(&[String], Window)]) -> Result<Option<Prefilter>, Error> {
        let mut index: FnvMap<String, usize> = FnvMap::default();
        let mut all: Vec<(String, Vec<Trigger>)> = Vec::new();
        let sources = rules
            .iter()
            .map(|r| (r.spec.keywords.as_slice(), r.window()))
            .chain(extra.iter().copied());
        for (i, (keywords, w)) in sources.enumerate() {
            let trigger = Trigger {
                rule: i as u32,
                before: w.before,
                after: w.after,
            };
            for k in keywords {
                let lower = k.to_ascii_lowercase();
                let slot = *index.entry(lower.clone()).or_insert_with(|| {
                    all.push((lower, Vec::new()));
                    all.len() - 1
                });
                if all[slot].1.last() != Some(&trigger) {
                    all[slot].1.push(trigger);
                }
            }
        }
        if all.is_empty() {
            return Ok(None);
        }
        Ok(Some(Prefilter {
            longest: all.iter().map(|(k, _)| k.len()).max().unwrap_or(0),
            all,
            automaton: OnceLock::new(),
            scanned: AtomicU64::new(0),
        }))
    }

    /// Builds the automaton now, if it is not built yet.
    pub(crate) fn build(&self) {
        let _ = self.automaton();
    }

    fn automaton(&self) -> Option<&Automaton> {
        self.automaton
            .get_or_init(|| Automaton::new(&self.all).ok())
            .as_ref()
    }

    /// The keywords the automaton searches for.
    #[cfg(test)]
    fn minimal_keywords(&self) -> Vec<String> {
        self.automaton()
            .map(|a| a.keywords.clone())
            .unwrap_or_default()
    }

    /// Calls `f(triggers, start, end)` for every occurrence of every keyword in `hay`.
    pub fn for_each_hit(
        &self,
        hay: &[u8],
        lanes: &mut LaneHits,
        f: impl FnMut(&[Trigger], usize, usize),
    ) {
        let cost = (hay.len() as u64).max(BRUTE_MIN_COST);
        let total = self.scanned.fetch_add(cost, Ordering::Relaxed) + cost;
        if self.automaton.get().is_none()
            && hay.len() <= BRUTE_MAX_INPUT
            && total <= BRUTE_MAX_TOTAL
        {
            self.brute_force(hay, f);
            return;
        }
        match self.automaton() {
            Some(auto) => auto.search(hay, lanes, f),
            None => self.brute_force(hay, f),
        }
    }

    /// The longest keyword, in bytes.
    pub fn max_keyword_len(&self) -> usize {
        self.longest
    }

    /// Like [`Prefilter::for_each_hit`] over each of `ranges` (sorted, disjoint) of `hay`,
    /// with positions in `hay`. Ranges shorter than [`JOIN_BELOW`] are joined into one input
    /// in `joined` (a byte no keyword contains between them), so the search runs in lanes
    /// over them all; longer ones are searched in place. Hits come in order of end within
    /// each input, not across them.
    pub fn for_each_hit_in(
        &self,
        hay: &[u8],
        ranges: &[Range<usize>],
        joined: &mut Joined,
        lanes: &mut LaneHits,
        mut f: impl FnMut(&[Trigger], usize, usize),
    ) {
        let clamp = |r: &Range<usize>| r.start.min(hay.len())..r.end.min(hay.len());
        let separator = self.automaton().and_then(|a| a.separator);
        let (Some(separator), Some(auto)) = (separator, self.automaton()) else {
            for r in ranges {
                let r = clamp(r);
                self.for_each_hit(&hay[r.clone()], lanes, |t, s, e| {
                    f(t, r.start + s, r.start + e)
                });
            }
            return;
        };
        let Joined { bytes, starts } = joined;
        bytes.clear();
        starts.clear();
        for r in ranges {
            let r = clamp(r);
            if r.len() >= JOIN_BELOW {
                // Long enough for the lanes on its own: searched in place, not copied.
                self.scanned.fetch_add(r.len() as u64, Ordering::Relaxed);
                auto.search(&hay[r.clone()], lanes, |t, s, e| {
                    f(t, r.start + s, r.start + e)
                });
                continue;
            }
            if !bytes.is_empty() {
                bytes.push(separator);
            }
            starts.push((bytes.len(), r.start));
            bytes.extend_from_slice(&hay[r]);
        }
        self.scanned
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        // Hits come in order of end, so the range of each is found by walking forward.
        let mut at = 0;
        auto.search(bytes, lanes, |t, s, e| {
            while at + 1 < starts.len() && starts[at + 1].0 < e {
                at += 1;
            }
            let (joined_start, start) = starts[at];
            f(t, s - joined_start + start, e - joined_start + start);
        });
    }

    /// Every keyword, one after the other, over a lowercased copy: for small inputs, before
    /// an automaton has been worth building.
    fn brute_force(&self, hay: &[u8], mut f: impl FnMut(&[Trigger], usize, usize)) {
        let lower = hay.to_ascii_lowercase();
        for (k, triggers) in &self.all {
            let mut pos = 0;
            while let Some(i) = memchr::memmem::find(&lower[pos..], k.as_bytes()) {
                let start = pos + i;
                f(triggers, start, start + k.len());
                pos = start + 1;
            }
        }
    }
}

impl Automaton {
    /// Finds the minimal keywords and builds the NFA over them.
    fn new(all: &[(String, Vec<Trigger>)]) -> Result<Automaton, Error> {
        let index: FnvMap<&str, usize> = all
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (k.as_str(), i))
            .collect();
        // A keyword is minimal when none of its proper substrings is a keyword.
        let lengths: Vec<usize> = {
            let mut l: Vec<usize> = all.iter().map(|(k, _)| k.len()).collect();
            l.sort_unstable();
            l.dedup();
            l
        };
        // Most offsets of a keyword start no other keyword: look at the first one or two bytes
        // there before hashing any substring.
        let mut single = [false; 256];
        let mut pairs = vec![0u64; 1 << 10];
        for (k, _) in all {
            match k.as_bytes() {
                [b] => single[*b as usize] = true,
                [a, b, ..] => {
                    let p = usize::from(*a) << 8 | usize::from(*b);
                    pairs[p >> 6] |= 1 << (p & 63);
                }
                [] => {}
            }
        }
        let contained = |k: &str| -> Vec<(usize, usize)> {
            // (keyword slot, offset) of every keyword inside k, k itself included.
            let bytes = k.as_bytes();
            let mut found = Vec::new();
            for off in 0..bytes.len() {
                if single[bytes[off] as usize]
                    && let Some(&slot) = k.get(off..off + 1).and_then(|sub| index.get(sub))
                {
                    found.push((slot, off));
                }
                let Some(&[a, b]) = bytes.get(off..off + 2) else {
                    continue;
                };
                let p = usize::from(a) << 8 | usize::from(b);
                if pairs[p >> 6] & 1 << (p & 63) == 0 {
                    continue;
                }
                for &len in lengths.iter().filter(|&&l| l >= 2) {
                    if off + len > bytes.len() {
                        break;
                    }
                    if let Some(&slot) = k.get(off..off + len).and_then(|sub| index.get(sub)) {
                        found.push((slot, off));
                    }
                }
            }
            found
        };
        let mut minimal_slot: FnvMap<usize, usize> = FnvMap::default();
        let mut keywords = Vec::new();
        let mut inside: Vec<Vec<(usize, usize)>> = Vec::with_capacity(all.len());
        for (slot, (k, _)) in all.iter().enumerate() {
            let subs = contained(k);
            if subs.iter().all(|&(s, _)| s == slot) {
                minimal_slot.insert(slot, keywords.len());
                keywords.push(k.clone());
            }
            inside.push(subs);
        }
        let mut triggers: Vec<Vec<Trigger>> = vec![Vec::new(); keywords.len()];
        let mut extensions: Vec<Vec<Extension>> = (0..keywords.len()).map(|_| Vec::new()).collect();
        for (slot, (k, rule_ids)) in all.iter().enumerate() {
            if let Some(&m) = minimal_slot.get(&slot) {
                triggers[m] = rule_ids.clone();
                continue;
            }
            // Found through the longest minimal keyword inside it (likely the rarest).
            let Some(&(sub, offset)) = inside[slot]
                .iter()
                .filter(|(s, _)| minimal_slot.contains_key(s))
                .max_by_key(|(s, off)| (all[*s].0.len(), std::cmp::Reverse(*off)))
            else {
                continue;
            };
            extensions[minimal_slot[&sub]].push(Extension {
                keyword: k.as_bytes().into(),
                offset,
                triggers: rule_ids.clone(),
            });
        }
        let dfa = KeywordDfa::new(&keywords);
        let separator = (0..=u8::MAX).find(|&b| {
            let lower = b.to_ascii_lowercase();
            !all.iter().any(|(k, _)| k.as_bytes().contains(&lower))
        });
        Ok(Automaton {
            keywords,
            triggers,
            extensions,
            dfa,
            separator,
        })
    }

    /// Every minimal keyword hit, and every longer keyword confirmed around one.
    fn search(
        &self,
        hay: &[u8],
        lanes: &mut LaneHits,
        mut f: impl FnMut(&[Trigger], usize, usize),
    ) {
        self.dfa.for_each(hay, lanes, |p, s, e| {
            f(&self.triggers[p], s, e);
            for x in &self.extensions[p] {
                if let Some(start) = s.checked_sub(x.offset)
                    && let Some(bytes) = hay.get(start..start + x.keyword.len())
                    && bytes.eq_ignore_ascii_case(&x.keyword)
                {
                    f(&x.triggers, start, start + x.keyword.len());
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::{RuleSet, Source};

    fn rules(spec: &[(&str, &[&str])]) -> RuleSet {
        let mut text = String::from("rules:\n");
        for (id, kws) in spec {
            text.push_str(&format!(
                "  - id: {id}\n    name: {id}\n    category: generic\n    keywords: [{}]\n    pattern: 'x(y)'\n    window: {{before: 0, after: 0}}\n",
                kws.join(", ")
            ));
        }
        RuleSet::from_sources(&[Source {
            file: "t.yaml".into(),
            text,
        }])
        .expect("valid rules")
    }

    /// Every (rule, window) a brute-force overlapping search would trigger.
    fn brute(set: &RuleSet, hay: &str) -> Vec<(u32, usize, usize)> {
        let lower = hay.to_ascii_lowercase();
        let mut out = Vec::new();
        for (i, r) in set.rules().iter().enumerate() {
            for k in &r.spec.keywords {
                let k = k.to_ascii_lowercase();
                for (pos, _) in lower.match_indices(&k) {
                    out.push((i as u32, pos, pos + k.len()));
                }
                // match_indices skips overlapping occurrences of the same keyword: add them.
                for pos in 1..lower.len() {
                    if lower[pos..].starts_with(&k)
                        && !out.contains(&(i as u32, pos, pos + k.len()))
                    {
                        out.push((i as u32, pos, pos + k.len()));
                    }
                }
            }
        }
        out
    }

    #[derive(Debug, Clone, Copy)]
    enum Tier {
        Brute,
        Dfa,
    }

    /// (rule, keyword start, keyword end) for every trigger, in the order reported.
    fn hits(set: &RuleSet, hay: &str, tier: Tier) -> Vec<(u32, usize, usize)> {
        let p = Prefilter::new(set.rules(), &[])
            .expect("build")
            .expect("keywords");
        let mut got = Vec::new();
        let f = |ts: &[Trigger], s: usize, e: usize| {
            for t in ts {
                got.push((t.rule, s, e));
            }
        };
        match tier {
            Tier::Brute => p.brute_force(hay.as_bytes(), f),
            Tier::Dfa => p.automaton().expect("automaton").search(
                hay.as_bytes(),
                &mut LaneHits::default(),
                f,
            ),
        }
        got.sort_unstable();
        got
    }

    /// Every tier triggers each rule exactly at each occurrence of each of its keywords:
    /// nothing lost, and no rule run where none of its keywords occurs.
    fn exact(set: &RuleSet, hay: &str) {
        let mut expected = brute(set, hay);
        expected.sort_unstable();
        for tier in [Tier::Brute, Tier::Dfa] {
            assert_eq!(hits(set, hay, tier), expected, "{tier:?} on {hay:?}");
        }
    }

    #[test]
    fn joined_ranges_find_exactly_the_hits_inside_each_range() {
        let set = rules(&[
            ("a", &["tok", "token_x"]),
            ("b", &["ken", "sec"]),
            ("c", &["_k"]),
        ]);
        let p = Prefilter::new(set.rules(), &[])
            .expect("build")
            .expect("keywords");
        let mut seed = 7u64;
        let mut next = |n: usize| crate::test_util::lcg(&mut seed) % n;
        let alphabet = b"tokenTOKsc_x\0";
        for round in 0..40 {
            let len = [300, 9000, 20_000][round % 3];
            let hay: Vec<u8> = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
            let text = String::from_utf8(hay.clone()).expect("ascii");
            let mut ranges = Vec::new();
            let mut at = next(50);
            while at < len {
                // Mostly short ranges (joined), some long enough to be searched in place.
                let span = if next(4) == 0 {
                    JOIN_BELOW + next(6000)
                } else {
                    next(700)
                };
                let end = (at + 1 + span).min(len);
                ranges.push(at..end);
                at = end + 1 + next(300);
            }
            let mut expected: Vec<(u32, usize, usize)> = brute(&set, &text)
                .into_iter()
                .filter(|&(_, s, e)| ranges.iter().any(|r| r.start <= s && e <= r.end))
                .collect();
            expected.sort_unstable();
            let mut got = Vec::new();
            p.for_each_hit_in(
                &hay,
                &ranges,
                &mut Joined::default(),
                &mut LaneHits::default(),
                |ts, s, e| got.extend(ts.iter().map(|t| (t.rule, s, e))),
            );
            got.sort_unstable();
            assert_eq!(got, expected, "round {round}");
        }
    }

    #[test]
    fn nested_keyword_still_triggers_its_rules() {
        let set = rules(&[("long", &["client_secret"]), ("short", &["secret"])]);
        let p = Prefilter::new(set.rules(), &[])
            .expect("build")
            .expect("keywords");
        assert_eq!(p.minimal_keywords(), ["secret"]);
        exact(&set, "CLIENT_SECRET=abc");
        exact(&set, "secret and client_secret");
    }

    #[test]
    fn partial_overlaps_and_repeats_are_all_found() {
        let set = rules(&[
            ("a", &["abc"]),
            ("b", &["bcd"]),
            ("c", &["cde", "abcde"]),
            ("d", &["aa"]),
        ]);
        for hay in [
            "abcde",
            "xabcdex abcd bcde",
            "aaaaaa",
            "ABCDE",
            "abcabcdbcd",
        ] {
            exact(&set, hay);
        }
    }

    #[test]
    fn longer_keywords_found_through_shorter_ones() {
        let set = rules(&[
            ("a", &["token", "tok"]),
            ("b", &["en_", "secret", "my_token_"]),
        ]);
        exact(
            &set,
            "my_token_ = secret; tokens token_en_ MY_TOKEN_MY_TOKEN_",
        );
    }

    #[test]
    fn tiers_switch_by_size() {
        let set = rules(&[("a", &["needle"])]);
        let p = Prefilter::new(set.rules(), &[])
            .expect("build")
            .expect("keywords");
        let mut small = 0;
        p.for_each_hit(b"a needle", &mut LaneHits::default(), |_, _, _| small += 1);
        assert!(p.automaton.get().is_none(), "a small input builds nothing");
        let big = "needle ".repeat(BRUTE_MAX_INPUT);
        let mut n = 0;
        p.for_each_hit(big.as_bytes(), &mut LaneHits::default(), |_, _, _| n += 1);
        assert!(p.automaton.get().is_some());
        assert_eq!((small, n), (1, BRUTE_MAX_INPUT));
    }

    #[test]
    fn many_tiny_inputs_switch_to_the_automaton() {
        let set = rules(&[("a", &["needle"])]);
        let p = Prefilter::new(set.rules(), &[])
            .expect("build")
            .expect("keywords");
        let calls = BRUTE_MAX_TOTAL / BRUTE_MIN_COST;
        for _ in 0..calls {
            p.for_each_hit(b"x", &mut LaneHits::default(), |_, _, _| {});
        }
        assert!(
            p.automaton.get().is_none(),
            "the first inputs build nothing"
        );
        let mut n = 0;
        p.for_each_hit(b"a needle", &mut LaneHits::default(), |_, _, _| n += 1);
        assert!(
            p.automaton.get().is_some(),
            "after {calls} inputs, the automaton"
        );
        assert_eq!(n, 1);
    }
}
