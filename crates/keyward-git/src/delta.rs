//! Matching what a delta adds: the pack-aware half of the blob pass.
//!
//! A blob stored as a delta of another is its base's bytes, copied in runs, with literal
//! bytes inserted between them. Only the bytes near an *event* can hold a finding its base
//! does not: an insert, a join of two copies that were not adjacent in the base, or a blob
//! edge where the base went on. So the base's findings whose surroundings were copied whole
//! are carried over, and the rules run only where an event could change what they find.
//!
//! # Why that is meant to give the same findings as matching the whole blob
//!
//! A finding depends on the bytes within its trigger's *reach* (the keyword window plus the
//! longest keyword) of its match: its keyword lies there, and so does every byte its regex
//! and filters look at. The matcher is run on the whole rebuilt blob, but only some keyword
//! hits start rule windows (`Matcher::scan_regions_into`); the windows, regexes, decoders and
//! filters are then exactly those of a whole scan. Triggers are split by reach at
//! [`SHORT_REACH`]:
//!
//! - a finding whose match ± reach lies in one copy is the base's, carried. Any other has an
//!   event within its reach, and its keyword within its reach of the match: for a short
//!   trigger, the keyword search over each event ± two short reaches (the *regions*) finds it.
//! - the keywords of long triggers (private-key blocks, base64 documents, rules with wide
//!   windows) are tracked instead: a blob's record lists all of them, the delta's are its
//!   base's that were copied whole plus the new ones, which touch an event and so lie in the
//!   regions. Each long trigger's hits are grouped as the matcher merges their windows, and
//!   every group whose window comes within the trigger's reach of an event starts its
//!   windows again, so those findings are recomputed with the same windows as a whole scan.
//! - a decoded finding counts with the largest decoder reach; a base's decoded finding that
//!   is only partly copied makes the blob be matched whole (which trigger decoded it is not
//!   kept).
//! - what is found and carried are *candidates*, every accepted match before the matcher
//!   removes overlaps, so their union is every candidate a whole scan has; overlaps are then
//!   removed over it as the matcher removes them (a chain of overlaps included: a finding
//!   dropped for a neighbour that a better one drops in turn).
//!
//! # Where a finding reaches further
//!
//! - a rule's windows can merge into a chain: a match then depends on every keyword of the
//!   chain. So a hit remembers its merged window (its *group*), carrying and "near an event"
//!   use the group ± reach, and only groups near an event start windows: the matcher grows
//!   the regions along each of them until every keyword that merges into it is found (after
//!   four rounds, or once they cover nine tenths of the blob, it searches the rest at once);
//! - a decoder takes a run that starts in its window whole, so its group counts with that
//!   run. A delta that cuts a run starts that window again: a tracked trigger's through its
//!   hits, an untracked one's because its keyword lies in the regions. The record keeps the
//!   runs too long for that (untracked triggers' runs reaching past two short reaches), and
//!   a delta that cuts one is matched whole;
//! - the decoded-bytes budget is per scan: a base that ran out of it is matched whole, and
//!   so is a blob that could run out of it. The record keeps the encoded regions the scan
//!   decoded and what each spent: a whole scan of the delta spends at most what its copied
//!   regions spent in the base plus what the regions near its events spend now.
//!
//! The base's findings are complete by induction: roots of a delta tree, and every blob whose
//! base was not matched (skipped as binary, too large, or unreadable), are matched whole.

use std::ops::Range;

use keyward_core::{Encoding, Extents, Matcher, Regions, Scratch, Secret, merge_ranges};

/// Triggers whose reach is at most this many bytes are looked for around each event; the
/// keywords of the others are tracked from base to delta. (Half of the rules reach less.
/// 450 bytes made the regions of curl's deltas a third smaller than 1,024 did; 300 makes
/// the regions of the synthetic repository 44% smaller than 450 and curl a little faster,
/// for about 12% more peak memory on curl, where records track more keywords.)
pub(crate) const SHORT_REACH: usize = 300;
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
    /// What the finding depends on besides its reach: the merged window its regex ran in
    /// (for a decoded finding, its encoded region).
    pub group: Range<usize>,
}

impl Hit {
    /// The bytes the finding depends on: its group and match, widened by `reach`.
    fn need(&self, reach: usize, len: usize) -> Range<usize> {
        let lo = self
            .group
            .start
            .min(self.match_span.start)
            .min(self.span.start);
        let hi = self.group.end.max(self.match_span.end).max(self.span.end);
        lo.saturating_sub(reach)..hi.saturating_add(reach).min(len)
    }
}

/// What a blob passes on to the blobs stored as its deltas: every finding, and where the
/// keywords of long-reach rules are.
#[derive(Debug, Default)]
pub(crate) struct Record {
    /// Every accepted match, overlapping ones included, sorted by start and then end.
    pub hits: Vec<Hit>,
    /// Every keyword hit of the long-reach triggers: trigger and keyword span, by trigger,
    /// then in order of end.
    pub long: Vec<(u32, Range<usize>)>,
    /// The runs past an untracked decoder window (see `Scratch::runs`) too long for the
    /// window's keyword to lie within two short reaches of a cut, with their trigger.
    pub runs: Vec<(u32, Range<usize>)>,
    /// The encoded regions decoded: trigger, region, and the decoded-bytes budget it spent.
    pub decoded: Vec<(u32, Range<usize>, usize)>,
    /// Its scan ran out of its decoded-bytes budget.
    pub exhausted: bool,
}

impl Record {
    /// Nothing to pass on.
    pub(crate) fn is_empty(&self) -> bool {
        self.hits.is_empty()
            && self.long.is_empty()
            && self.runs.is_empty()
            && self.decoded.is_empty()
            && !self.exhausted
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
    /// Per trigger (the rules, then the decoders' triggers): its reach, in bytes.
    reach: Vec<usize>,
    /// Per trigger: its reach exceeds [`SHORT_REACH`], so its keywords are tracked.
    long: Vec<bool>,
    /// Per trigger: its window (bytes before and after a keyword).
    windows: Vec<(usize, usize)>,
    /// The reach of a decoded finding: the widest of every decoder trigger's (which trigger
    /// decoded it is not kept).
    decoded_reach: usize,
    /// The largest reach up to [`SHORT_REACH`].
    short: usize,
    /// The first decoder trigger (the rules come first).
    first_decoder: usize,
    /// Per decoder trigger: its encoding.
    encodings: Vec<Encoding>,
}

fn reach_of(keywords: &[String], before: usize, after: usize) -> usize {
    before + after + keywords.iter().map(String::len).max().unwrap_or(0)
}

impl<'m> DeltaMatcher<'m> {
    /// Reads the rules' keyword windows.
    pub(crate) fn new(matcher: &'m Matcher) -> DeltaMatcher<'m> {
        let mut reach = Vec::with_capacity(matcher.trigger_count());
        let mut windows = Vec::with_capacity(matcher.trigger_count());
        for rule in matcher.rules() {
            let w = rule.window();
            reach.push(reach_of(&rule.spec.keywords, w.before, w.after));
            windows.push((w.before, w.after));
        }
        let rules = reach.len();
        for t in &matcher.rule_set().decoders().triggers {
            reach.push(reach_of(&t.keywords, t.window.before, t.window.after));
            windows.push((t.window.before, t.window.after));
        }
        let long: Vec<bool> = reach.iter().map(|&r| r > SHORT_REACH).collect();
        let short = reach.iter().copied().filter(|&r| r <= SHORT_REACH).max();
        let decoded_reach = reach[rules..].iter().copied().max().unwrap_or(0);
        DeltaMatcher {
            matcher,
            reach,
            long,
            windows,
            decoded_reach,
            short: short.unwrap_or(0),
            first_decoder: rules,
            encodings: matcher
                .rule_set()
                .decoders()
                .triggers
                .iter()
                .map(|t| t.encoding)
                .collect(),
        }
    }

    fn hit_reach(&self, h: &Hit) -> usize {
        if h.encoded {
            self.decoded_reach
        } else {
            self.reach.get(h.rule).copied().unwrap_or(usize::MAX / 4)
        }
    }

    /// Runs the matcher over `data` (keywords only as `regions` says, when given) and turns
    /// every accepted match, overlapping ones included, into hits.
    fn run(&self, data: &[u8], regions: Option<Regions<'_>>, scratch: &mut Scratch) -> Vec<Hit> {
        let mut findings = Vec::new();
        self.matcher
            .candidates_in(data, regions, &self.long, scratch, &mut findings);
        findings
            .into_iter()
            .map(|f| {
                let encoded = f.encoding.is_some();
                let group = if encoded {
                    f.span.clone()
                } else {
                    scratch
                        .windows_of(f.rule)
                        .iter()
                        .find(|w| w.start <= f.match_span.start && f.match_span.end <= w.end)
                        .cloned()
                        .unwrap_or_else(|| f.match_span.clone())
                };
                Hit {
                    rule: f.rule,
                    secret: f.secret,
                    span: f.span,
                    match_span: f.match_span,
                    encoded,
                    group,
                }
            })
            .collect()
    }

    /// Matches a whole blob. `record`: also list its hits and long keywords for its deltas.
    pub(crate) fn whole(&self, data: &[u8], scratch: &mut Scratch, record: bool) -> Matched {
        let candidates = self.run(data, None, scratch);
        let hits = self.keep_best(&candidates);
        let record = record.then(|| Record {
            hits: candidates,
            long: {
                let mut long = scratch.tracked().to_vec();
                long.sort_by_key(|(t, k)| (*t, k.end, k.start));
                long
            },
            runs: self.long_runs(scratch.runs()).collect(),
            decoded: scratch.decoded().to_vec(),
            exhausted: scratch.exhausted(),
        });
        Matched {
            hits,
            record,
            windowed: None,
        }
    }

    /// Matches a blob stored as a delta (`ops`) of a base of `base_len` bytes whose record is
    /// `base`: the base's findings whose surroundings were copied whole are carried over,
    /// and the rules run only where an event could have changed what they find. Falls back
    /// to [`DeltaMatcher::whole`] where that cannot be trusted.
    pub(crate) fn delta(
        &self,
        data: &[u8],
        ops: &[Op],
        base_len: usize,
        base: &Record,
        scratch: &mut Scratch,
    ) -> Matched {
        let len = data.len();
        let ops = join_copies(ops);
        let mut events = events(&ops, base_len, len);
        let copies = Copies::new(&ops);
        let mut at = Vec::new();
        if base.exhausted {
            // Which encoded runs a whole scan would decode depends on all of them.
            return self.whole(data, scratch, true);
        }
        // A base hit whose surroundings were not copied whole depends on something the delta
        // changed, possibly far from its match: the head of its chain of windows, say, cut
        // off with the start of the base. Where its match was copied then counts as an event
        // too, so that the scan finds it again with the surroundings it has now.
        let mut cut: Vec<Range<usize>> = Vec::new();
        for h in &base.hits {
            let need = h.need(self.hit_reach(h), base_len);
            if !h.encoded && !copies.find(&need, &mut at) && copies.find(&h.match_span, &mut at) {
                cut.extend(at.iter().map(|&a| a..a + h.match_span.len()));
            }
        }
        if !cut.is_empty() {
            events.extend(cut);
            events.sort_unstable_by_key(|e| (e.start, e.end));
            let mut merged: Vec<Range<usize>> = Vec::with_capacity(events.len());
            for e in events {
                match merged.last_mut() {
                    Some(last) if e.start <= last.end => last.end = last.end.max(e.end),
                    _ => merged.push(e),
                }
            }
            events = merged;
        }
        let events = events;
        let near_event = |lo: usize, hi: usize| near(&events, lo, hi);
        // A decoded run the delta cuts (its bytes or the blank that ends it) decodes to
        // something else, whichever keyword started it. Its window then counts again: a
        // window of a tracked trigger counts with its run (`long_hits_near`); one of an
        // untracked trigger is found by the keyword search when its keyword lies within
        // two short reaches of the cut (as the matcher counts it with its run too). The
        // record keeps only the runs too long for that.
        let mut runs: Vec<(u32, Range<usize>)> = Vec::with_capacity(base.runs.len());
        for (t, run) in &base.runs {
            let edges = run.start.saturating_sub(1)..(run.end + 1).min(base_len);
            if !copies.find(&edges, &mut at) {
                return self.whole(data, scratch, true);
            }
            runs.extend(at.iter().map(|&a| {
                let start = a + (run.start - edges.start);
                (*t, start..start + run.len())
            }));
        }
        // What a whole scan would spend of the budget on the regions the delta copied.
        let mut decoded: Vec<(u32, Range<usize>, usize)> = Vec::with_capacity(base.decoded.len());
        for (t, region, spent) in &base.decoded {
            if copies.find(region, &mut at) {
                decoded.extend(at.iter().map(|&a| (*t, a..a + region.len(), *spent)));
            }
        }
        // Carry the base's hits whose surroundings were copied whole and touch no event: a
        // need cut short by the base's edge can still touch one (`\b` and `$` see the end
        // of the input), and then the scan near the events finds what the hit became.
        let mut carried: Vec<Hit> = Vec::new();
        for h in &base.hits {
            let need = h.need(self.hit_reach(h), base_len);
            if !copies.find(&need, &mut at) && h.encoded {
                // Which trigger found a decoded region is not known.
                return self.whole(data, scratch, true);
            }
            for &at in &at {
                if near_event(at, at + need.len()) {
                    if h.encoded {
                        return self.whole(data, scratch, true);
                    }
                    continue;
                }
                let shift = |x: usize| x - need.start + at;
                carried.push(Hit {
                    span: shift(h.span.start)..shift(h.span.end),
                    match_span: shift(h.match_span.start)..shift(h.match_span.end),
                    group: shift(h.group.start)..shift(h.group.end),
                    ..h.clone()
                });
            }
        }
        // A new finding of a short-reach rule has an event within its reach, and its keyword
        // lies within its reach of the finding: look for keywords two short reaches around
        // each event.
        let regions = regions(&events, 2 * self.short, len);
        // Every long-reach keyword of the blob: the base's that were copied whole, and the
        // new ones, which touch an event and so lie in the regions (found by this scan).
        let mut long: Vec<(u32, Range<usize>)> = Vec::with_capacity(base.long.len());
        for (t, k) in &base.long {
            copies.find(k, &mut at);
            long.extend(at.iter().map(|&at| (*t, at..at + k.len())));
        }
        // Which of them count is known once the new ones are found.
        long.sort_by_key(|(t, k)| (*t, k.end, k.start));
        let count = |new: &[(u32, Range<usize>)]| {
            if new.is_empty() {
                return self.long_hits_near(data, &long, &events);
            }
            let mut all = long.clone();
            all.extend_from_slice(new);
            all.sort_by_key(|(t, k)| (*t, k.end, k.start));
            all.dedup();
            self.long_hits_near(data, &all, &events)
        };
        let inject = Regions {
            ranges: &regions,
            hits: &count,
            events: &events,
        };
        let found = self.run(data, Some(inject), scratch);
        if !scratch.tracked().is_empty() {
            long.extend_from_slice(scratch.tracked());
            long.sort_by_key(|(t, k)| (*t, k.end, k.start));
            long.dedup();
        }
        let searched: usize = scratch.searched().iter().map(|w| w.len()).sum();
        if scratch.exhausted() {
            return self.whole(data, scratch, true);
        }
        let new_runs = runs.len();
        runs.extend(self.long_runs(scratch.runs()));
        if runs.len() > new_runs {
            runs.sort_unstable_by_key(|(t, r)| (r.start, r.end, *t));
            runs.dedup();
        }
        // A whole scan decodes what the base's copied regions decoded, and what is near the
        // events: when that could exceed the budget, only a whole scan spends it as a whole
        // scan does.
        // (A region decoded again near an event is the same decoding as the copied one.)
        decoded.extend_from_slice(scratch.decoded());
        decoded.sort_unstable_by_key(|(t, r, _)| (r.start, r.end, *t));
        decoded.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        let spent: usize = decoded.iter().map(|(_, _, s)| s).sum();
        if spent > self.matcher.rule_set().decoders().budget() {
            return self.whole(data, scratch, true);
        }
        // Keep what an event could have changed; the rest is the base's, carried.
        let mut all: Vec<Hit> = found
            .into_iter()
            .filter(|h| {
                let need = h.need(self.hit_reach(h), len);
                near_event(need.start, need.end)
            })
            .collect();
        all.extend(carried);
        all.sort_by_key(|h| (h.span.start, h.span.end, h.rule, h.encoded));
        all.dedup_by(|a, b| a.rule == b.rule && a.span == b.span && a.encoded == b.encoded);
        let hits = self.keep_best(&all);
        Matched {
            record: Some(Record {
                hits: all,
                long,
                runs,
                decoded,
                exhausted: false,
            }),
            hits,
            windowed: Some(searched as u64),
        }
    }

    /// The findings a scan reports among `candidates` (every accepted match, sorted by
    /// start and then end, as `Matcher::candidates_in` gives them): a hit overlapping a
    /// better one is dropped, in the order the matcher's overlap removal drops them.
    fn keep_best(&self, candidates: &[Hit]) -> Vec<Hit> {
        let rank = |h: &Hit| self.matcher.rank(h.rule, h.encoded, &h.span);
        let mut out: Vec<Hit> = Vec::with_capacity(candidates.len());
        for h in candidates {
            let mut from = out.len();
            while from > 0 && out[from - 1].span.end > h.span.start {
                from -= 1;
            }
            if out[from..].iter().all(|k| rank(h) > rank(k)) {
                out.truncate(from);
                out.push(h.clone());
            }
        }
        out
    }

    /// The runs (see `Scratch::runs`) a record keeps: an untracked trigger's that reach too
    /// far past its window for the keyword search around a cut to find its keyword.
    fn long_runs<'a>(
        &'a self,
        runs: &'a [(u32, Range<usize>)],
    ) -> impl Iterator<Item = (u32, Range<usize>)> + 'a {
        runs.iter()
            .filter(|(t, run)| {
                let t = *t as usize;
                !self.long.get(t).copied().unwrap_or(true)
                    && run.len() + 2 + self.reach[t] > 2 * self.short
            })
            .cloned()
    }

    /// The long-reach keyword hits (all of the blob's, by trigger, then in order of end)
    /// that must count: those of each trigger's merged windows that come within the
    /// trigger's reach of an event (a decoder's window with the run it takes whole). The
    /// other windows are as in the base, so their findings were carried.
    fn long_hits_near(
        &self,
        data: &[u8],
        long: &[(u32, Range<usize>)],
        events: &[Range<usize>],
    ) -> Vec<(u32, Range<usize>)> {
        let len = data.len();
        let by_trigger = long;
        let mut extents: Option<(usize, Extents)> = None;
        let mut out = Vec::new();
        // Each trigger's hits grouped as the matcher merges their windows.
        let mut group_from = 0;
        let mut window = 0..0;
        for i in 0..=by_trigger.len() {
            let hit = by_trigger.get(i).map(|(t, k)| {
                let (before, after) = self.windows[*t as usize];
                (
                    *t,
                    k.start.saturating_sub(before)..k.end.saturating_add(after).min(len),
                )
            });
            let same_group = match (&hit, by_trigger.get(group_from)) {
                (Some((t, w)), Some((gt, _))) => i > group_from && t == gt && w.start <= window.end,
                _ => false,
            };
            if same_group {
                if let Some((_, w)) = &hit {
                    window.start = window.start.min(w.start);
                    window.end = window.end.max(w.end);
                }
                continue;
            }
            if i > group_from {
                let t = by_trigger[group_from].0 as usize;
                let r = self.reach[t];
                // A decoder takes a run or token that its window touches whole.
                let mut span = window.clone();
                if let Some(&encoding) = self.encodings.get(t.wrapping_sub(self.first_decoder)) {
                    if extents.as_ref().is_none_or(|(et, _)| *et != t) {
                        extents = Some((t, Extents::new(encoding)));
                    }
                    if let Some((_, e)) = extents.as_mut() {
                        span = e.of(data, window.clone());
                    }
                }
                if near(
                    events,
                    span.start.saturating_sub(r),
                    span.end.saturating_add(r),
                ) {
                    out.extend_from_slice(&by_trigger[group_from..i]);
                }
            }
            group_from = i;
            if let Some((_, w)) = hit {
                window = w;
            }
        }
        out.sort_by_key(|(t, k)| (k.end, k.start, *t));
        out
    }
}

/// The delta's instructions with each run of copies that are adjacent in the base as well
/// joined into one copy.
fn join_copies(ops: &[Op]) -> Vec<Op> {
    let mut out: Vec<Op> = Vec::with_capacity(ops.len());
    for op in ops {
        if let Some(last) = out.last_mut()
            && let (Some(lf), Some(f)) = (last.from, op.from)
            && lf + last.len == f
            && last.at + last.len == op.at
        {
            last.len += op.len;
            continue;
        }
        out.push(*op);
    }
    out
}

/// Whether an event lies in `lo..=hi` (`events` in order, as [`events`] gives them).
fn near(events: &[Range<usize>], lo: usize, hi: usize) -> bool {
    let i = events.partition_point(|e| e.end < lo);
    events.get(i).is_some_and(|e| e.start <= hi)
}

/// A delta's copies, ordered by where they read the base, to find where base bytes went.
struct Copies {
    /// (base start, base end, target start), by base start.
    by_base: Vec<(usize, usize, usize)>,
    /// The largest base end among `by_base[..=i]`.
    max_end: Vec<usize>,
}

impl Copies {
    fn new(ops: &[Op]) -> Copies {
        let mut by_base: Vec<(usize, usize, usize)> = ops
            .iter()
            .filter_map(|op| op.from.map(|f| (f, f + op.len, op.at)))
            .collect();
        by_base.sort_unstable();
        let max_end = by_base
            .iter()
            .scan(0, |m, c| {
                *m = (*m).max(c.1);
                Some(*m)
            })
            .collect();
        Copies { by_base, max_end }
    }

    /// Where the base's bytes `range` landed in the target, once for each copy that took all
    /// of them; false when some copy took only part of them.
    fn find(&self, range: &Range<usize>, out: &mut Vec<usize>) -> bool {
        out.clear();
        let mut whole = true;
        let mut j = self
            .by_base
            .partition_point(|c| c.0 < range.end.max(range.start + 1));
        while j > 0 && self.max_end[j - 1] > range.start {
            j -= 1;
            let (from, end, at) = self.by_base[j];
            if end <= range.start {
                continue;
            }
            if from <= range.start && range.end <= end {
                out.push(range.start - from + at);
            } else {
                whole = false;
            }
        }
        whole
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

/// The ranges to look for keywords in: each event widened by `widen` each way, merged.
fn regions(events: &[Range<usize>], widen: usize, len: usize) -> Vec<Range<usize>> {
    merge_ranges(
        events
            .iter()
            .map(|e| e.start.saturating_sub(widen)..e.end.saturating_add(widen).min(len))
            .collect(),
    )
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
    fn copies_and_events_are_found_as_a_linear_search_finds_them() {
        let mut seed = 3u64;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        for _ in 0..200 {
            let mut ops = Vec::new();
            let mut at = 0;
            for _ in 0..1 + next(12) {
                let len = 1 + next(40);
                let from = (next(3) > 0).then(|| next(200));
                ops.push(Op { at, len, from });
                at += len;
            }
            let copies = Copies::new(&ops);
            let events = events(&ops, 240, at);
            let mut got = Vec::new();
            for _ in 0..50 {
                let start = next(240);
                let range = start..start + 1 + next(30);
                let mut expected = Vec::new();
                let mut whole = true;
                for op in &ops {
                    let Some(from) = op.from else { continue };
                    if from <= range.start && range.end <= from + op.len {
                        expected.push(range.start - from + op.at);
                    } else if from < range.end && range.start < from + op.len {
                        whole = false;
                    }
                }
                assert_eq!(copies.find(&range, &mut got), whole, "{ops:?} {range:?}");
                got.sort_unstable();
                assert_eq!(got, expected, "{ops:?} {range:?}");
                let (lo, hi) = (range.start, range.end);
                let linear = events.iter().any(|e| e.start <= hi && lo <= e.end);
                assert_eq!(near(&events, lo, hi), linear, "{events:?} {lo}..={hi}");
            }
        }
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
    fn regions_widen_and_merge() {
        assert_eq!(regions(&[7..7], 2, 20), [5..9]);
        assert_eq!(regions(&[7..7, 12..13], 3, 20), [4..16]);
        assert_eq!(regions(&[1..2, 18..20], 4, 20), [0..6, 14..20]);
        assert_eq!(line_column("ab\ncd\u{e9}f".as_bytes(), 7), (2, 4));
    }
}
