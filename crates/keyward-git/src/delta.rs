//! Matching what a delta adds: the pack-aware half of the blob pass.
//!
//! A blob stored as a delta of another is its base's bytes, copied in runs, with literal
//! bytes inserted between them. Only the bytes near an *event* can hold a finding its base
//! does not: an insert, a join of two copies that were not adjacent in the base, or a blob
//! edge where the base went on. So such a blob is matched only in windows around its events,
//! and the base's findings whose surroundings were copied whole are carried over.
//!
//! # Why that gives the same findings as matching the whole blob
//!
//! A finding depends on the bytes within its rule's *reach* (the keyword window plus the
//! longest keyword) of its match. Rules are split by reach at [`SHORT_REACH`]:
//!
//! - a short-reach finding whose match ± reach lies in one copy is the base's, carried;
//!   otherwise an event lies within reach of it, so the window around that event (± three
//!   times the largest short reach, widened to whole lines) holds its match with a full
//!   reach of context on both sides, and matching the window finds it. Window findings
//!   closer than that to a window edge (other than the blob's own edges) are dropped: they
//!   lack context, and if real they are found from another window or carried. Decoded
//!   findings of short-reach decoder triggers count as short, with the triggers' reach; a
//!   base's decoded finding that is only partly copied makes the blob be matched whole.
//! - long-reach rules (private-key blocks, the decoder of base64 documents) are never matched
//!   in a window. Their keyword positions are tracked like findings; when one lies within twice its
//!   reach of an event, or a long-reach finding of the base is only partly copied, the whole
//!   blob is matched instead.
//!
//! The base's findings are complete by induction: roots of a delta tree, and every blob whose
//! base was not matched (skipped as binary, too large, or unreadable), are matched whole.

use std::ops::Range;

use aho_corasick::AhoCorasick;
use keyward_core::{Matcher, Scratch, Secret};

/// Rules whose reach is at most this many bytes are matched in windows; the others only
/// when a blob is matched whole.
pub(crate) const SHORT_REACH: usize = 1024;
/// How far a window is widened to reach a line boundary, each way.
const LINE_WIDEN: usize = 2048;
/// A blob with more findings than this is not used as a base (its children are matched whole).
const MAX_HITS: usize = 4096;

/// One finding at one position of a blob.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub rule: usize,
    pub secret: Secret,
    /// The secret's bytes (for decoded findings, the encoded region).
    pub span: Range<usize>,
    /// The whole match.
    pub match_span: Range<usize>,
    /// Found by decoding: its reach is the decoders'.
    pub encoded: bool,
}

/// What a blob passes on to the blobs stored as its deltas: every finding, and where the
/// keywords of long-reach rules are.
#[derive(Debug, Default)]
pub(crate) struct Record {
    pub hits: Vec<Hit>,
    /// (keyword position, its reach).
    pub long: Vec<(Range<usize>, usize)>,
}

impl Record {
    /// Nothing to pass on.
    pub(crate) fn is_empty(&self) -> bool {
        self.hits.is_empty() && self.long.is_empty()
    }
}

/// One delta instruction, in target coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Op {
    /// Where its bytes start in the target.
    pub at: usize,
    pub len: usize,
    /// For a copy, where its bytes start in the base; `None` for an insert.
    pub from: Option<usize>,
}

/// A delta header's size: little-endian groups of seven bits.
fn varint(d: &[u8], pos: &mut usize) -> Option<usize> {
    let mut v: usize = 0;
    let mut shift = 0;
    loop {
        let b = *d.get(*pos)?;
        *pos += 1;
        v |= usize::from(b & 0x7f).checked_shl(shift)?;
        shift += 7;
        if b & 0x80 == 0 || shift > 63 {
            return Some(v);
        }
    }
}

/// One delta instruction as stored.
enum Instruction {
    /// Copy `len` bytes of the base from `from`.
    Copy { from: usize, len: usize },
    /// Insert these bytes of the delta.
    Insert(Range<usize>),
}

/// Reads the instruction at `pos` and moves past it; `None` if it is malformed or cut short.
fn instruction(delta: &[u8], pos: &mut usize) -> Option<Instruction> {
    let cmd = *delta.get(*pos)?;
    *pos += 1;
    if cmd & 0x80 != 0 {
        // Which offset and size bytes follow is in the command's low seven bits.
        let mut field = |bytes: std::ops::Range<u32>| -> Option<usize> {
            let mut v = 0usize;
            for (k, bit) in bytes.enumerate() {
                if cmd & (1 << bit) != 0 {
                    v |= usize::from(*delta.get(*pos)?) << (8 * k);
                    *pos += 1;
                }
            }
            Some(v)
        };
        let from = field(0..4)?;
        let len = match field(4..7)? {
            0 => 0x10000,
            n => n,
        };
        Some(Instruction::Copy { from, len })
    } else if cmd != 0 {
        let bytes = *pos..*pos + usize::from(cmd);
        if bytes.end > delta.len() {
            return None;
        }
        *pos = bytes.end;
        Some(Instruction::Insert(bytes))
    } else {
        None
    }
}

/// Rebuilds a delta's target from `base` into `out` (cleared first). `None` if the delta is
/// not a valid delta of `base`, or the memory for its target cannot be had.
pub(crate) fn apply(delta: &[u8], base: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let mut pos = 0;
    if varint(delta, &mut pos)? != base.len() {
        return None;
    }
    let target_len = varint(delta, &mut pos)?;
    out.clear();
    out.try_reserve_exact(target_len).ok()?;
    while pos < delta.len() {
        let piece = match instruction(delta, &mut pos)? {
            Instruction::Copy { from, len } => base.get(from..from.checked_add(len)?)?,
            Instruction::Insert(bytes) => &delta[bytes],
        };
        if out.len() + piece.len() > target_len {
            return None;
        }
        out.extend_from_slice(piece);
    }
    (out.len() == target_len).then_some(())
}

/// Parses git's delta format (base size, target size, then copy and insert instructions).
/// Returns the base size and the instructions, or `None` if the data is not a valid delta of
/// a `target_len`-byte target.
pub(crate) fn parse(delta: &[u8], target_len: usize, ops: &mut Vec<Op>) -> Option<usize> {
    ops.clear();
    let mut pos = 0;
    let base_len = varint(delta, &mut pos)?;
    if varint(delta, &mut pos)? != target_len {
        return None;
    }
    let mut at = 0usize;
    while pos < delta.len() {
        let op = match instruction(delta, &mut pos)? {
            Instruction::Copy { from, len } => {
                if from.checked_add(len)? > base_len {
                    return None;
                }
                Op {
                    at,
                    len,
                    from: Some(from),
                }
            }
            Instruction::Insert(bytes) => Op {
                at,
                len: bytes.len(),
                from: None,
            },
        };
        at += op.len;
        ops.push(op);
    }
    (at == target_len).then_some(base_len)
}

/// The matcher with what the delta pass needs to know about its rules' reach.
pub(crate) struct DeltaMatcher<'m> {
    matcher: &'m Matcher,
    /// Per rule: its reach, in bytes.
    reach: Vec<usize>,
    /// The reach of a decoded finding (the widest short-reach decoder trigger's; a finding
    /// of a long-reach trigger is never matched in a window, see `long`).
    decoded_reach: usize,
    /// The largest reach below [`SHORT_REACH`].
    short: usize,
    /// The keywords of long-reach rules and of decoder triggers, with their reach.
    long: Option<AhoCorasick>,
    long_reach: Vec<usize>,
}

fn reach_of(keywords: &[String], before: usize, after: usize) -> usize {
    before + after + keywords.iter().map(String::len).max().unwrap_or(0)
}

impl<'m> DeltaMatcher<'m> {
    /// Reads the rules' keyword windows.
    pub(crate) fn new(matcher: &'m Matcher) -> DeltaMatcher<'m> {
        let mut reach = Vec::new();
        let mut short = 0;
        let mut long_words: Vec<(String, usize)> = Vec::new();
        for rule in matcher.rules() {
            let w = rule.window();
            let r = reach_of(&rule.spec.keywords, w.before, w.after);
            reach.push(r);
            if r <= SHORT_REACH {
                short = short.max(r);
            } else {
                long_words.extend(rule.spec.keywords.iter().map(|k| (k.to_lowercase(), r)));
            }
        }
        // Decoder triggers of short reach are windowed like short rules; the others are
        // long-reach keywords.
        let mut decoded_reach = 0;
        for t in &matcher.rule_set().decoders().triggers {
            let r = reach_of(&t.keywords, t.window.before, t.window.after);
            if r <= SHORT_REACH {
                decoded_reach = decoded_reach.max(r);
                short = short.max(r);
            } else {
                long_words.extend(t.keywords.iter().map(|k| (k.to_lowercase(), r)));
            }
        }
        // One entry per keyword, with its largest reach.
        long_words.sort();
        let mut merged: Vec<(String, usize)> = Vec::new();
        for (k, r) in long_words {
            match merged.last_mut() {
                Some((last, lr)) if *last == k => *lr = (*lr).max(r),
                _ => merged.push((k, r)),
            }
        }
        let long = if merged.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .match_kind(aho_corasick::MatchKind::Standard)
                .build(merged.iter().map(|(k, _)| k.as_bytes()))
                .ok()
        };
        DeltaMatcher {
            matcher,
            reach,
            decoded_reach,
            short,
            long,
            long_reach: merged.into_iter().map(|(_, r)| r).collect(),
        }
    }

    fn hit_reach(&self, h: &Hit) -> usize {
        if h.encoded {
            self.decoded_reach
        } else {
            self.reach.get(h.rule).copied().unwrap_or(usize::MAX / 4)
        }
    }

    fn is_long(&self, h: &Hit) -> bool {
        h.encoded || self.hit_reach(h) > SHORT_REACH
    }

    /// Long-reach keyword positions in `data[range]`, in blob coordinates.
    fn long_keywords(
        &self,
        data: &[u8],
        range: Range<usize>,
        out: &mut Vec<(Range<usize>, usize)>,
    ) {
        let Some(ac) = &self.long else {
            return;
        };
        let base = range.start;
        for m in ac.find_overlapping_iter(&data[range]) {
            out.push((
                base + m.start()..base + m.end(),
                self.long_reach[m.pattern().as_usize()],
            ));
        }
    }

    /// Matches a whole blob. `record`: also list its hits and long keywords for its deltas.
    pub(crate) fn whole(&self, data: &[u8], scratch: &mut Scratch, record: bool) -> Matched {
        let findings = self.matcher.scan(data, scratch);
        let mut out = Matched {
            hits: findings
                .into_iter()
                .map(|f| Hit {
                    rule: f.rule,
                    secret: f.secret,
                    span: f.span,
                    match_span: f.match_span,
                    encoded: f.encoding.is_some(),
                })
                .collect(),
            record: None,
            windowed: None,
        };
        if record {
            let mut long = Vec::new();
            self.long_keywords(data, 0..data.len(), &mut long);
            out.record = Some(Record {
                hits: out.hits.clone(),
                long,
            });
        }
        out
    }

    /// Matches a blob stored as a delta (`ops`) of a base of `base_len` bytes whose record is
    /// `base`. Falls back to [`DeltaMatcher::whole`] where windows cannot be trusted.
    pub(crate) fn delta(
        &self,
        data: &[u8],
        ops: &[Op],
        base_len: usize,
        base: &Record,
        scratch: &mut Scratch,
    ) -> Matched {
        let len = data.len();
        let events = events(ops, base_len, len);
        // Carry the base's hits whose surroundings were copied whole.
        let mut carried: Vec<Hit> = Vec::new();
        for h in &base.hits {
            let r = self.hit_reach(h);
            let need = h.match_span.start.min(h.span.start).saturating_sub(r)
                ..(h.match_span.end.max(h.span.end) + r).min(base_len);
            let mut partial = false;
            for op in ops {
                let Some(from) = op.from else { continue };
                let (lo, hi) = (from, from + op.len);
                if lo <= need.start && need.end <= hi {
                    let shift = |x: usize| x - from + op.at;
                    carried.push(Hit {
                        span: shift(h.span.start)..shift(h.span.end),
                        match_span: shift(h.match_span.start)..shift(h.match_span.end),
                        ..h.clone()
                    });
                } else if lo < need.end && need.start < hi {
                    partial = true;
                }
            }
            if partial && self.is_long(h) {
                return self.whole(data, scratch, true);
            }
        }
        // Long-reach keywords: copied ones, and any in the windows.
        let windows = windows(&events, self.short, data);
        let window_bytes: usize = windows.iter().map(|w| w.len()).sum();
        if window_bytes * 4 >= len * 3 {
            return self.whole(data, scratch, true);
        }
        let mut long: Vec<(Range<usize>, usize)> = Vec::new();
        for (k, r) in &base.long {
            for op in ops {
                let Some(from) = op.from else { continue };
                if from <= k.start && k.end <= from + op.len {
                    long.push((k.start - from + op.at..k.end - from + op.at, *r));
                }
            }
        }
        for w in &windows {
            self.long_keywords(data, w.clone(), &mut long);
        }
        long.sort_by_key(|(k, r)| (k.start, k.end, *r));
        long.dedup();
        let near_event = |k: &Range<usize>, r: usize| {
            let (lo, hi) = (k.start.saturating_sub(2 * r), k.end.saturating_add(2 * r));
            events.iter().any(|e| e.start <= hi && lo <= e.end)
        };
        if long.iter().any(|(k, r)| near_event(k, *r)) {
            return self.whole(data, scratch, true);
        }
        // Short-reach rules in the windows.
        let margin = self.short;
        let mut found: Vec<Hit> = Vec::new();
        for w in &windows {
            for f in self.matcher.scan(&data[w.clone()], scratch) {
                if f.encoding.is_none() && self.reach.get(f.rule).is_none_or(|&r| r > SHORT_REACH) {
                    continue;
                }
                let (ms, me) = (
                    w.start + f.match_span.start.min(f.span.start),
                    w.start + f.match_span.end.max(f.span.end),
                );
                let left_ok = w.start == 0 || ms >= w.start + margin;
                let right_ok = w.end == len || me + margin <= w.end;
                if left_ok && right_ok {
                    found.push(Hit {
                        rule: f.rule,
                        secret: f.secret,
                        span: w.start + f.span.start..w.start + f.span.end,
                        match_span: w.start + f.match_span.start..w.start + f.match_span.end,
                        encoded: f.encoding.is_some(),
                    });
                }
            }
        }
        let mut hits = found.clone();
        for c in carried {
            let same = |h: &Hit| h.rule == c.rule && h.span == c.span;
            let overlaps = |h: &Hit| h.span.start < c.span.end && c.span.start < h.span.end;
            if !found.iter().any(|h| same(h) || overlaps(h)) && !hits.iter().any(same) {
                hits.push(c);
            }
        }
        hits.sort_by_key(|h| (h.span.start, h.span.end, h.rule));
        Matched {
            record: Some(Record {
                hits: hits.clone(),
                long,
            }),
            hits,
            windowed: Some(window_bytes as u64),
        }
    }
}

/// What matching one blob gave.
pub(crate) struct Matched {
    /// Every finding, sorted by position.
    pub hits: Vec<Hit>,
    /// What to pass on to its deltas, when asked for and not too large.
    pub record: Option<Record>,
    /// Bytes matched, when only windows were.
    pub windowed: Option<u64>,
}

impl Matched {
    /// Drops a record too large to keep.
    pub(crate) fn bounded_record(&mut self) -> Option<Record> {
        self.record.take().filter(|r| r.hits.len() <= MAX_HITS)
    }
}

/// What a visitor tells the pass about one blob it matched.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// What its deltas need; `None` when it cannot serve as a base (its deltas are then
    /// matched whole).
    pub record: Option<Record>,
    /// Bytes matched, when only windows were.
    pub windowed: Option<u64>,
}

/// The events of a delta: inserts, joins of copies that were not adjacent in the base, and
/// blob edges where the base went on (empty ranges for points).
fn events(ops: &[Op], base_len: usize, len: usize) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut prev: Option<&Op> = None;
    for op in ops {
        match op.from {
            None => out.push(op.at..op.at + op.len),
            Some(from) => match prev {
                Some(p) => {
                    if let Some(pf) = p.from
                        && pf + p.len != from
                    {
                        out.push(op.at..op.at);
                    }
                }
                None => {
                    if from != 0 {
                        out.push(0..0);
                    }
                }
            },
        }
        prev = Some(op);
    }
    if let Some(last) = ops.last()
        && let Some(from) = last.from
        && from + last.len != base_len
    {
        out.push(len..len);
    }
    if ops.is_empty() && base_len != 0 {
        out.push(0..0);
    }
    out
}

/// The windows to match: each event widened by three short reaches, then to line boundaries
/// (at most [`LINE_WIDEN`] further each way), merged.
fn windows(events: &[Range<usize>], short: usize, data: &[u8]) -> Vec<Range<usize>> {
    let len = data.len();
    let widen = 3 * short;
    let mut out: Vec<Range<usize>> = Vec::new();
    for e in events {
        let mut start = e.start.saturating_sub(widen);
        let mut end = (e.end + widen).min(len);
        let floor = start.saturating_sub(LINE_WIDEN);
        start = memchr::memrchr(b'\n', &data[floor..start]).map_or(floor, |i| floor + i + 1);
        let ceil = (end + LINE_WIDEN).min(len);
        end = memchr::memchr(b'\n', &data[end..ceil]).map_or(ceil, |i| end + i + 1);
        match out.last_mut() {
            Some(last) if start <= last.end => last.end = last.end.max(end),
            _ => out.push(start..end),
        }
    }
    out
}

/// 1-based line and column (in characters) of byte `at`.
pub(crate) fn line_column(data: &[u8], at: usize) -> (usize, usize) {
    let at = at.min(data.len());
    let line = 1 + memchr::memchr_iter(b'\n', &data[..at]).count();
    let start = memchr::memrchr(b'\n', &data[..at]).map_or(0, |i| i + 1);
    let column = 1 + data[start..at]
        .iter()
        .filter(|&&b| (b & 0xC0) != 0x80)
        .count();
    (line, column)
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    /// Builds a delta: base size, target size, then the instructions.
    fn delta(base_len: usize, target_len: usize, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for mut v in [base_len, target_len] {
            loop {
                let b = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    out.push(b);
                    break;
                }
                out.push(b | 0x80);
            }
        }
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn parses_copies_and_inserts_and_rejects_bad_deltas() {
        // copy 4 bytes from offset 2, insert "xy", copy 0x10000 bytes (size 0) from 0.
        let body = [0x91, 2, 4, 2, b'x', b'y', 0x80];
        let d = delta(0x10006, 0x10006, &body);
        let mut ops = Vec::new();
        assert_eq!(parse(&d, 0x10006, &mut ops), Some(0x10006));
        assert_eq!(
            ops,
            [
                Op {
                    at: 0,
                    len: 4,
                    from: Some(2)
                },
                Op {
                    at: 4,
                    len: 2,
                    from: None
                },
                Op {
                    at: 6,
                    len: 0x10000,
                    from: Some(0)
                },
            ]
        );
        assert_eq!(parse(&d, 7, &mut ops), None, "wrong target size");
        assert_eq!(
            parse(&delta(3, 4, &[0x91, 2, 4]), 4, &mut ops),
            None,
            "copy past the base"
        );
        assert_eq!(
            parse(&delta(0, 1, &[0]), 1, &mut ops),
            None,
            "reserved instruction"
        );
        assert_eq!(
            parse(&delta(0, 3, &[5, b'a']), 3, &mut ops),
            None,
            "truncated insert"
        );
    }

    #[test]
    fn applies_copies_and_inserts_and_rejects_bad_deltas() {
        let base: Vec<u8> = (0..0x10006u32).map(|i| (i % 251) as u8).collect();
        // copy 4 bytes from offset 2, insert "xy", copy 0x10000 bytes (size 0) from 0.
        let d = delta(base.len(), 0x10006, &[0x91, 2, 4, 2, b'x', b'y', 0x80]);
        let mut out = Vec::new();
        assert_eq!(apply(&d, &base, &mut out), Some(()));
        let mut want = base[2..6].to_vec();
        want.extend_from_slice(b"xy");
        want.extend_from_slice(&base[..0x10000]);
        assert_eq!(out, want);
        // Every rejection, and the base size check.
        let bad: [(&[u8], Vec<u8>, &str); 5] = [
            (b"abc", delta(3, 4, &[0x91, 2, 4]), "copy past the base"),
            (b"", delta(0, 1, &[0]), "reserved instruction"),
            (b"", delta(0, 3, &[5, b'a']), "truncated insert"),
            (
                b"abcd",
                delta(4, 5, &[0x91, 0, 2]),
                "shorter than its target size",
            ),
            (b"abcd", delta(3, 2, &[0x91, 0, 2]), "wrong base size"),
        ];
        for (base, d, why) in bad {
            assert_eq!(apply(&d, base, &mut out), None, "{why}");
        }
        assert_eq!(
            apply(&delta(4, 2, &[0x91, 0, 4]), b"abcd", &mut out),
            None,
            "longer than its target size"
        );
    }

    #[test]
    fn events_are_inserts_joins_and_cut_edges() {
        let ops = [
            Op {
                at: 0,
                len: 10,
                from: Some(5),
            },
            Op {
                at: 10,
                len: 5,
                from: Some(15),
            },
            Op {
                at: 15,
                len: 3,
                from: Some(40),
            },
            Op {
                at: 18,
                len: 2,
                from: None,
            },
            Op {
                at: 20,
                len: 10,
                from: Some(50),
            },
        ];
        // Starts mid-base, adjacent copies, a join, an insert, and ends before the base does.
        assert_eq!(events(&ops, 100, 30), [0..0, 15..15, 18..20, 30..30]);
        let whole = [Op {
            at: 0,
            len: 8,
            from: Some(0),
        }];
        assert!(events(&whole, 8, 8).is_empty());
    }

    #[test]
    fn windows_widen_to_lines_and_merge() {
        let data = b"aaaa\nbbbb\ncccc\ndddd\n";
        assert_eq!(windows(&[7..7], 0, data), [5..10]);
        assert_eq!(windows(&[7..7, 12..12], 0, data), [5..15]);
        assert_eq!(windows(&[7..7], 1, data), [0..15]);
        assert_eq!(line_column("ab\ncd\u{e9}f".as_bytes(), 7), (2, 4));
    }
}
