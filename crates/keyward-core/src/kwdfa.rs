//! An Aho–Corasick DFA specialised for the prefilter's minimal keywords.
//!
//! The prefilter only ever searches for keywords none of which contains another. For such a
//! set, a complete DFA (every transition precomputed through the failure links) never has a
//! match that is visible only through a failure link: a keyword ending at a state's suffix
//! would be contained in a longer keyword. So every occurrence of every keyword, overlapping
//! ones included, is exactly one visit of a match state, and the search is one table lookup per
//! byte with no restarts:
//!
//! ```text
//! state = table[state << shift | class[byte]]; if state >= first_match { report }
//! ```
//!
//! For the same reason every match state is a leaf of the keyword trie (a keyword ending where
//! the trie goes on would be contained in a longer one), so states are numbered breadth-first
//! with the leaves last, and a state is a match state when its number is at least
//! `first_match`. Letters are folded to lowercase through the byte classes, which makes the
//! search ASCII case-insensitive at no cost.
//!
//! # Table size
//!
//! A row holds one entry per byte class, padded to a power of two so that a row is found with
//! a shift. The entries are `u16` when there are at most 65,536 states: the built-in rules
//! give about 3,200 states of 64 entries, 400 KiB in `u16` (800 KiB in `u32`), which then fits
//! the L2 cache of one core of the machines we measure on, and the search runs faster. Larger
//! rule sets get `u32` entries. Building fills the final table directly, breadth-first, in
//! well under a millisecond for hundreds of keywords.

/// Lanes searched at once in long inputs.
const LANES: usize = 8;
/// Inputs shorter than this are searched in one lane.
const LANE_MIN_INPUT: usize = 512;

/// Match ends per lane, reused between searches: one per thread.
#[derive(Debug, Default)]
pub struct LaneHits {
    ends: [Vec<u32>; LANES],
}

/// A table entry: a state number.
trait Entry: Copy + Default + std::fmt::Debug {
    fn from_state(s: u32) -> Self;
    fn state(self) -> u32;
}

impl Entry for u16 {
    #[inline(always)]
    fn from_state(s: u32) -> u16 {
        s as u16
    }
    #[inline(always)]
    fn state(self) -> u32 {
        u32::from(self)
    }
}

impl Entry for u32 {
    #[inline(always)]
    fn from_state(s: u32) -> u32 {
        s
    }
    #[inline(always)]
    fn state(self) -> u32 {
        self
    }
}

/// The transitions, in the narrowest entries that can number every state.
#[derive(Debug, Clone)]
enum Table {
    U16(Vec<u16>),
    U32(Vec<u32>),
}

/// The compiled DFA.
#[derive(Debug, Clone)]
pub(crate) struct KeywordDfa {
    /// Byte → class; uppercase letters share their lowercase letter's class.
    classes: [u32; 256],
    /// `states << shift` transitions.
    table: Table,
    /// log2 of the row length (the class count rounded up to a power of two).
    shift: u32,
    /// States numbered at or above this are match states.
    first_match: u32,
    /// Per match state (indexed by `state - first_match`): the keyword index and length.
    matches: Vec<(u32, u32)>,
    /// The longest keyword.
    max_len: usize,
}

/// Every occurrence of a few keywords, ASCII case-insensitively, with the prefilter's
/// automaton: for callers with a keyword set of their own, none of which contains another.
#[derive(Debug, Clone)]
pub struct KeywordSearch {
    dfa: KeywordDfa,
}

impl KeywordSearch {
    /// Builds the search; `None` unless `keywords` is not empty and its keywords are not
    /// empty, hold no uppercase ASCII letter, and none contains another (nor repeats it).
    pub fn new(keywords: &[String]) -> Option<KeywordSearch> {
        let usable = !keywords.is_empty()
            && keywords
                .iter()
                .all(|k| !k.is_empty() && !k.bytes().any(|b| b.is_ascii_uppercase()));
        let contains = |a: &str, b: &str| {
            let (a, b) = (a.as_bytes(), b.as_bytes());
            a.len() >= b.len() && a.windows(b.len()).any(|w| w[0] == b[0] && w == b)
        };
        let minimal = || {
            keywords.iter().enumerate().all(|(i, a)| {
                keywords
                    .iter()
                    .enumerate()
                    .all(|(j, b)| i == j || !contains(a, b))
            })
        };
        (usable && minimal()).then(|| KeywordSearch {
            dfa: KeywordDfa::new(keywords),
        })
    }

    /// Calls `f(keyword, start, end)` for every occurrence of every keyword in `hay`, in
    /// order of end; `keyword` indexes the list it was built from.
    pub fn for_each(&self, hay: &[u8], lanes: &mut LaneHits, f: impl FnMut(usize, usize, usize)) {
        self.dfa.for_each(hay, lanes, f);
    }
}

/// The keyword trie: first-child / next-sibling lists, with each edge's byte class.
struct Trie {
    first_child: Vec<u32>,
    next_sibling: Vec<u32>,
    class: Vec<u32>,
    /// The keyword ending at each node, if any.
    keyword: Vec<Option<u32>>,
    depth: Vec<u32>,
}

const NONE: u32 = u32::MAX;

impl Trie {
    fn new(keywords: &[String], classes: &[u32; 256]) -> Trie {
        let mut t = Trie {
            first_child: vec![NONE],
            next_sibling: vec![NONE],
            class: vec![0],
            keyword: vec![None],
            depth: vec![0],
        };
        for (i, k) in keywords.iter().enumerate() {
            let mut s = 0usize;
            for &b in k.as_bytes() {
                let c = classes[b as usize];
                let mut child = t.first_child[s];
                while child != NONE && t.class[child as usize] != c {
                    child = t.next_sibling[child as usize];
                }
                if child == NONE {
                    child = t.class.len() as u32;
                    t.first_child.push(NONE);
                    t.next_sibling.push(t.first_child[s]);
                    t.class.push(c);
                    t.keyword.push(None);
                    t.depth.push(t.depth[s] + 1);
                    t.first_child[s] = child;
                }
                s = child as usize;
            }
            t.keyword[s] = Some(i as u32);
        }
        t
    }

    fn children(&self, s: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(
            Some(self.first_child[s]).filter(|&c| c != NONE),
            move |&c| Some(self.next_sibling[c as usize]).filter(|&n| n != NONE),
        )
        .map(|c| c as usize)
    }
}

impl KeywordDfa {
    /// Builds the DFA. `keywords` must be lowercase ASCII, non-empty, none containing another.
    pub(crate) fn new(keywords: &[String]) -> KeywordDfa {
        KeywordDfa::build(keywords, false)
    }

    /// Builds the DFA, with `u32` entries when `wide` or when `u16` cannot number the states.
    fn build(keywords: &[String], wide: bool) -> KeywordDfa {
        // Byte classes: each byte that occurs in a keyword gets its own class; the rest share 0.
        let mut classes = [0u32; 256];
        let mut next = 1u32;
        for k in keywords {
            for &b in k.as_bytes() {
                if classes[b as usize] == 0 {
                    classes[b as usize] = next;
                    next += 1;
                }
            }
        }
        for b in b'A'..=b'Z' {
            classes[b as usize] = classes[b.to_ascii_lowercase() as usize];
        }
        let stride = next as usize;
        let shift = stride.next_power_of_two().trailing_zeros();
        let trie = Trie::new(keywords, &classes);

        // Number the states breadth-first, inner nodes first and leaves (the match states) last.
        let n = trie.class.len();
        let mut bfs = Vec::with_capacity(n);
        bfs.push(0usize);
        let mut head = 0;
        while head < bfs.len() {
            let s = bfs[head];
            head += 1;
            bfs.extend(trie.children(s));
        }
        let is_leaf = |s: usize| s != 0 && trie.first_child[s] == NONE;
        let leaves = bfs.iter().filter(|&&s| is_leaf(s)).count();
        let first_match = (n - leaves) as u32;
        let mut number = vec![0u32; n];
        let (mut inner, mut leaf) = (0u32, first_match);
        let mut matches = vec![(0u32, 0u32); leaves];
        for &s in &bfs {
            if is_leaf(s) {
                number[s] = leaf;
                matches[(leaf - first_match) as usize] =
                    (trie.keyword[s].unwrap_or(0), trie.depth[s]);
                leaf += 1;
            } else {
                number[s] = inner;
                inner += 1;
            }
        }
        let table = if n <= 1 << 16 && !wide {
            Table::U16(fill(&trie, &bfs, &number, stride, shift))
        } else {
            Table::U32(fill(&trie, &bfs, &number, stride, shift))
        };
        let max_len = keywords.iter().map(String::len).max().unwrap_or(0);
        KeywordDfa {
            classes,
            table,
            shift,
            first_match,
            matches,
            max_len,
        }
    }

    /// Calls `f(keyword, start, end)` for every occurrence of every keyword, in order of end.
    ///
    /// A long input is cut into eight lanes searched in one loop, so that the dependent table
    /// loads of one lane overlap those of the others (each lane's state kept in a register of
    /// its own: eight lanes took 22% less time than four on curl's history). Each lane starts
    /// early by the longest keyword, to see matches that straddle its start, and reports only
    /// the matches that end in its own part.
    pub(crate) fn for_each(
        &self,
        hay: &[u8],
        lanes: &mut LaneHits,
        f: impl FnMut(usize, usize, usize),
    ) {
        match &self.table {
            Table::U16(t) => self.search(t, hay, lanes, f),
            Table::U32(t) => self.search(t, hay, lanes, f),
        }
    }

    #[inline(always)]
    fn search<T: Entry>(
        &self,
        table: &[T],
        hay: &[u8],
        lanes: &mut LaneHits,
        mut f: impl FnMut(usize, usize, usize),
    ) {
        let classes = &self.classes;
        let (shift, first_match) = (self.shift, self.first_match);
        let next = |s: u32, b: u8| table[((s << shift) + classes[b as usize]) as usize].state();
        if hay.len() < LANE_MIN_INPUT || hay.len() > u32::MAX as usize {
            let mut s = 0u32;
            for (i, &b) in hay.iter().enumerate() {
                s = next(s, b);
                if s >= first_match {
                    self.report(s, i, &mut f);
                }
            }
            return;
        }
        let n = hay.len();
        let part = n / LANES;
        let bound = |l: usize| if l == LANES { n } else { l * part };
        let pre = self.max_len.saturating_sub(1);
        let begin = |l: usize| bound(l).saturating_sub(pre);
        for e in &mut lanes.ends {
            e.clear();
        }
        // Lock-step over the common length of the lanes, then each lane's rest.
        let common = (0..LANES)
            .map(|l| bound(l + 1) - begin(l))
            .min()
            .unwrap_or(0);
        let starts: [usize; LANES] = std::array::from_fn(begin);
        let parts: [&[u8]; LANES] = std::array::from_fn(|l| &hay[starts[l]..starts[l] + common]);
        let step = |s: &mut u32, b: u8, at: usize, ends: &mut Vec<u32>| {
            *s = next(*s, b);
            if *s >= first_match {
                ends.push(at as u32);
                ends.push(*s);
            }
        };
        let [p0, p1, p2, p3, p4, p5, p6, p7] = parts;
        let [e0, e1, e2, e3, e4, e5, e6, e7] = &mut lanes.ends;
        let [
            mut s0,
            mut s1,
            mut s2,
            mut s3,
            mut s4,
            mut s5,
            mut s6,
            mut s7,
        ] = [0u32; LANES];
        for i in 0..common {
            step(&mut s0, p0[i], starts[0] + i, e0);
            step(&mut s1, p1[i], starts[1] + i, e1);
            step(&mut s2, p2[i], starts[2] + i, e2);
            step(&mut s3, p3[i], starts[3] + i, e3);
            step(&mut s4, p4[i], starts[4] + i, e4);
            step(&mut s5, p5[i], starts[5] + i, e5);
            step(&mut s6, p6[i], starts[6] + i, e6);
            step(&mut s7, p7[i], starts[7] + i, e7);
        }
        let mut state = [s0, s1, s2, s3, s4, s5, s6, s7];
        for l in 0..LANES {
            let from = begin(l) + common;
            for (i, &b) in hay[from..bound(l + 1)].iter().enumerate() {
                step(&mut state[l], b, from + i, &mut lanes.ends[l]);
            }
        }
        for (l, ends) in lanes.ends.iter().enumerate() {
            let own = bound(l);
            for pair in ends.chunks_exact(2) {
                let (i, s) = (pair[0] as usize, pair[1]);
                if i >= own {
                    self.report(s, i, &mut f);
                }
            }
        }
    }

    #[inline]
    fn report(&self, s: u32, i: usize, f: &mut impl FnMut(usize, usize, usize)) {
        let (k, len) = self.matches[(s - self.first_match) as usize];
        f(k as usize, i + 1 - len as usize, i + 1);
    }
}

/// Fills the complete transition table, breadth-first through the failure links: a state's
/// row starts as a copy of its failure state's row, which is already complete, and then
/// points its own children's classes at them.
fn fill<T: Entry>(trie: &Trie, bfs: &[usize], number: &[u32], stride: usize, shift: u32) -> Vec<T> {
    let mut table = vec![T::default(); bfs.len() << shift];
    let mut fail = vec![0u32; bfs.len()];
    for &s in bfs {
        let row = (number[s] as usize) << shift;
        if s != 0 {
            let from = (fail[number[s] as usize] as usize) << shift;
            table.copy_within(from..from + stride, row);
        }
        for c in trie.children(s) {
            let at = row + trie.class[c] as usize;
            // Still the failure state's transition on this class: the child's failure state.
            fail[number[c] as usize] = if s == 0 { 0 } else { table[at].state() };
            table[at] = T::from_state(number[c]);
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::lcg;

    /// Every hit, with the `u16` table and with the `u32` one (which must agree).
    fn all(keywords: &[&str], hay: &str) -> Vec<(usize, usize, usize)> {
        let kws: Vec<String> = keywords.iter().map(|k| k.to_string()).collect();
        let [narrow, wide] = [false, true].map(|wide| {
            let dfa = KeywordDfa::build(&kws, wide);
            assert_eq!(matches!(dfa.table, Table::U32(_)), wide);
            let mut v = Vec::new();
            dfa.for_each(hay.as_bytes(), &mut LaneHits::default(), |k, s, e| {
                v.push((k, s, e))
            });
            v
        });
        assert_eq!(narrow, wide, "u16 and u32 tables disagree");
        narrow
    }

    #[test]
    fn every_occurrence_overlapping_and_case_insensitive() {
        assert_eq!(
            all(&["abc", "bcd"], "xABCDx abcd"),
            [(0, 1, 4), (1, 2, 5), (0, 7, 10), (1, 8, 11)]
        );
        assert_eq!(all(&["aa"], "aaaa"), [(0, 0, 2), (0, 1, 3), (0, 2, 4)]);
        assert_eq!(all(&["secret", "token"], "no keywords here"), []);
        assert_eq!(all(&["q~", "1//"], "x1//yQ~"), [(1, 1, 4), (0, 5, 7)]);
    }

    #[test]
    fn matches_brute_force_on_noise() {
        let kws = ["tok", "ken", "sec", "ecr", "api_", "_k", "xoxb-", "%3a"];
        // Lengths around the lane cut-off and lane boundaries, one lane and eight.
        let cut = LANE_MIN_INPUT;
        for len in [100, cut - 1, cut, cut + 1, 4096, 20_000, 20_003] {
            check_noise(&kws, len);
        }
    }

    #[test]
    fn keywords_longer_than_a_lane_of_a_short_input_are_found() {
        // Just past the cut-off each lane owns 64 bytes: a 70-byte keyword is longer, and is
        // placed across every lane boundary of the input in turn.
        let long = "abcdefghij".repeat(7);
        let kws = [long.as_str(), "zq", "jz"];
        for len in [LANE_MIN_INPUT, LANE_MIN_INPUT + 7, 700] {
            for at in (0..=len - long.len()).step_by(29) {
                let mut seed = (len * 1000 + at) as u64;
                let mut hay: Vec<u8> = (0..len).map(|_| b"zqj"[lcg(&mut seed) % 3]).collect();
                hay[at..at + long.len()].copy_from_slice(long.as_bytes());
                let hay = String::from_utf8(hay).expect("ascii");
                let expected = brute(&kws, &hay);
                assert!(expected.iter().any(|&(k, _, _)| k == 0));
                assert_eq!(all(&kws, &hay), expected, "{len} bytes, keyword at {at}");
            }
        }
    }

    fn check_noise(kws: &[&str], len: usize) {
        check_noise_over(kws, len, b"tokenSECRapi_k-xob%3A", 0);
    }

    fn check_noise_over(kws: &[&str], len: usize, alphabet: &[u8], salt: u64) {
        let mut seed = len as u64 ^ salt << 32;
        let mut hay = String::new();
        for _ in 0..len {
            hay.push(alphabet[lcg(&mut seed) % alphabet.len()] as char);
        }
        let got = all(kws, &hay);
        let expected = brute(kws, &hay);
        assert_eq!(got, expected, "input of {len} bytes");
    }

    /// Every occurrence of every keyword in `hay`, case-insensitively, in order of end.
    fn brute(kws: &[&str], hay: &str) -> Vec<(usize, usize, usize)> {
        let lower = hay.to_ascii_lowercase();
        let mut expected = Vec::new();
        for end in 1..=lower.len() {
            for (k, kw) in kws.iter().enumerate() {
                if end >= kw.len() && &lower[end - kw.len()..end] == *kw {
                    expected.push((k, end - kw.len(), end));
                }
            }
        }
        expected
    }

    /// Random minimal keyword sets over a small alphabet (so that keywords share prefixes and
    /// suffixes and the failure links matter), against a brute-force search.
    #[test]
    fn random_keyword_sets_match_brute_force() {
        let mut seed = 7u64;
        for round in 0..40 {
            let mut kws: Vec<String> = Vec::new();
            for _ in 0..1 + lcg(&mut seed) % 12 {
                let len = 1 + lcg(&mut seed) % 5;
                let k: String = (0..len)
                    .map(|_| b"abcd_"[lcg(&mut seed) % 5] as char)
                    .collect();
                kws.push(k);
            }
            // Keep the minimal ones, as the prefilter does.
            let mut minimal: Vec<String> = kws
                .iter()
                .filter(|k| !kws.iter().any(|o| o != *k && k.contains(o.as_str())))
                .cloned()
                .collect();
            minimal.sort();
            minimal.dedup();
            let refs: Vec<&str> = minimal.iter().map(String::as_str).collect();
            let len = [50, 5000, 9001][round % 3];
            check_noise_over(&refs, len, b"abcdABCD_xy", round as u64);
        }
    }

    #[test]
    fn the_public_search_refuses_what_the_automaton_cannot_serve() {
        let kws = |k: &[&str]| k.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        assert!(KeywordSearch::new(&kws(&[])).is_none());
        assert!(KeywordSearch::new(&kws(&["a", ""])).is_none());
        assert!(KeywordSearch::new(&kws(&["Begin"])).is_none());
        assert!(KeywordSearch::new(&kws(&["secret", "client_secret"])).is_none());
        assert!(KeywordSearch::new(&kws(&["key", "key"])).is_none());
        let search = KeywordSearch::new(&kws(&["begin", "eyj"])).expect("minimal");
        let mut hits = Vec::new();
        let hay = b"x BEGIN eyJeyj begin".repeat(300);
        search.for_each(&hay, &mut LaneHits::default(), |k, s, e| {
            hits.push((k, s, e))
        });
        assert_eq!(hits.len(), 4 * 300);
        assert_eq!(
            &hits[..4],
            &[(0, 2, 7), (1, 8, 11), (1, 11, 14), (0, 15, 20)]
        );
    }

    #[test]
    fn no_keywords_no_hits() {
        assert_eq!(all(&[], "anything at all"), []);
        assert_eq!(all(&[], &"x".repeat(5000)), []);
    }

    /// More states than `u16` can number: the table widens on its own.
    #[test]
    fn large_sets_widen_the_table() {
        let mut seed = 3u64;
        let kws: Vec<String> = (0..4000)
            .map(|i| {
                let tail: String = (0..20)
                    .map(|_| (b'a' + (lcg(&mut seed) % 26) as u8) as char)
                    .collect();
                format!("{i:04}{tail}")
            })
            .filter(|k| !k.is_empty())
            .collect();
        let dfa = KeywordDfa::new(&kws);
        assert!(matches!(dfa.table, Table::U32(_)));
        let hay = format!("x{}y{}", kws[17].to_uppercase(), kws[3999]);
        let mut v = Vec::new();
        dfa.for_each(hay.as_bytes(), &mut LaneHits::default(), |k, s, e| {
            v.push((k, s, e))
        });
        assert_eq!(v, [(17, 1, 25), (3999, 26, 50)]);
    }
}
