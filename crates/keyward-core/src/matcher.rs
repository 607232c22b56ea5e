//! The matcher: keyword prefilter, per-rule regex windows, value filters, overlap removal.
//!
//! # Prefilter
//!
//! One Aho–Corasick automaton over every rule's keywords (ASCII case-insensitive) selects the
//! candidate rules; see the `prefilter` module for its contract: a candidate may be a false
//! positive (the regex then finds nothing), never a false negative. For each keyword
//! occurrence the rule's regex may match within `[start - before, end + after]`; the windows
//! of one rule are merged, so a million hits cost a million window updates and one regex pass
//! over their union — linear in the input.
//!
//! # Performance
//!
//! Building a [`Matcher`] costs about a millisecond; the faster DFA form of the automaton is
//! built on its own once a few hundred KiB have been scanned. Regexes compile lazily, the first
//! time one of their keywords hits, so scanning one small file compiles only the rules it
//! needs. A regex runs over the whole haystack with a span, so `\b` and `^` see the bytes just
//! outside the window.

use std::ops::Range;
use std::sync::Arc;

use regex_automata::{Input, meta, util::primitives::NonMaxUsize};

use crate::decode::{Decoded, Extents, decode_window};
use crate::entropy;
use crate::error::Error;
use crate::finding::{Finding, Secret, locate};
use crate::kwdfa::LaneHits;
use crate::prefilter::{Joined, Prefilter};
use crate::rule::{Rule, RuleSet};

/// The compiled matcher, built once and shared read-only by all threads.
#[derive(Debug, Clone)]
pub struct Matcher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    rules: RuleSet,
    prefilter: Option<Prefilter>,
}

/// Per-thread mutable state for [`Matcher::scan`]: reuse one per worker.
#[derive(Debug, Default)]
pub struct Scratch {
    windows: Vec<Vec<Range<usize>>>,
    touched: Vec<u32>,
    caches: Vec<Option<meta::Cache>>,
    slots: Vec<Option<NonMaxUsize>>,
    candidates: Vec<Finding>,
    regions: Vec<Decoded>,
    lanes: LaneHits,
    /// Ranges of a restricted scan, joined for the keyword search.
    joined: Joined,
    /// Keyword hits of the tracked triggers, from the last top-level scan.
    tracked: Vec<(u32, Range<usize>)>,
    /// How far past each decoder window of the last top-level scan a run taken whole
    /// could reach: its trigger, and the bytes from the window's end to the next blank.
    runs: Vec<(u32, Range<usize>)>,
    /// Whether the last top-level scan ran out of its decoded-bytes budget.
    exhausted: bool,
    /// The encoded regions the last top-level scan decoded: trigger, region, and the part
    /// of the decoded-bytes budget it spent (its nested decoding included).
    decoded: Vec<(u32, Range<usize>, usize)>,
    /// The ranges the last region scan searched, grown from the ones asked for.
    searched: Vec<Range<usize>>,
    /// For matching decoded text, one level down.
    nested: Option<Box<Scratch>>,
}

impl Scratch {
    /// An empty scratch space; it grows to fit the matcher it is used with.
    pub fn new() -> Scratch {
        Scratch::default()
    }

    /// The tracked keyword hits of the last [`Matcher::scan_regions_into`]: trigger and
    /// keyword span, in order of end.
    pub fn tracked(&self) -> &[(u32, Range<usize>)] {
        &self.tracked
    }

    /// The merged windows of trigger `t` in the last top-level scan, in order.
    pub fn windows_of(&self, t: usize) -> &[Range<usize>] {
        self.windows.get(t).map_or(&[], Vec::as_slice)
    }

    /// How far past each decoder window of the last top-level scan a run taken whole could
    /// reach: its trigger, and the bytes from the window's end to the next blank, when
    /// that is further.
    pub fn runs(&self) -> &[(u32, Range<usize>)] {
        &self.runs
    }

    /// Whether the last top-level scan ran out of its decoded-bytes budget.
    pub fn exhausted(&self) -> bool {
        self.exhausted
    }

    /// The encoded regions the last top-level scan decoded: the trigger that decoded it,
    /// the region, and the part of the decoded-bytes budget it spent, nested decoding
    /// included (a region two triggers decode is listed once for each).
    pub fn decoded(&self) -> &[(u32, Range<usize>, usize)] {
        &self.decoded
    }

    /// The ranges the last region scan searched for keywords: those asked for, grown along
    /// every merged window near an event (see [`Regions::events`]), or the whole input.
    pub fn searched(&self) -> &[Range<usize>] {
        &self.searched
    }

    fn prepare(&mut self, triggers: usize) {
        if self.windows.len() < triggers {
            self.windows.resize_with(triggers, Vec::new);
            self.caches.resize_with(triggers, || None);
        }
        for &r in &self.touched {
            self.windows[r as usize].clear();
        }
        self.touched.clear();
        self.candidates.clear();
    }
}

impl Matcher {
    /// Builds the keyword automaton over `rules` (and the decoders' keywords).
    pub fn new(rules: RuleSet) -> Result<Matcher, Error> {
        let extra: Vec<(&[String], crate::Window)> = rules
            .decoders()
            .triggers
            .iter()
            .map(|t| (t.keywords.as_slice(), t.window))
            .collect();
        let prefilter = Prefilter::new(rules.rules(), &extra)?;
        Ok(Matcher {
            inner: Arc::new(Inner { rules, prefilter }),
        })
    }

    /// Builds the keyword automaton now instead of when a scan first needs it: for a caller
    /// with a thread to spare before it scans (a hook reading the repository meanwhile).
    pub fn build_prefilter(&self) {
        if let Some(p) = &self.inner.prefilter {
            p.build();
        }
    }

    /// The rules, indexed by [`Finding::rule`].
    pub fn rules(&self) -> &[Rule] {
        self.inner.rules.rules()
    }

    /// The rule set (rules and filters).
    pub fn rule_set(&self) -> &RuleSet {
        &self.inner.rules
    }

    /// How many keyword hits the prefilter reports in `hay`, running nothing else: the
    /// benchmark's measure of the automaton on its own.
    #[doc(hidden)]
    pub fn keyword_hits(&self, hay: &[u8]) -> usize {
        let mut n = 0;
        if let Some(p) = &self.inner.prefilter {
            p.for_each_hit(hay, &mut LaneHits::default(), |_, _, _| n += 1);
        }
        n
    }

    /// Scans `hay` and returns its findings, sorted by position, with overlaps removed (the
    /// more specific rule wins).
    pub fn scan(&self, hay: &[u8], scratch: &mut Scratch) -> Vec<Finding> {
        let mut out = Vec::new();
        self.scan_into(hay, scratch, &mut out);
        out
    }

    /// Like [`Matcher::scan`], appending to `out`.
    pub fn scan_into(&self, hay: &[u8], scratch: &mut Scratch, out: &mut Vec<Finding>) {
        self.scan_regions_into(hay, None, &[], scratch, out);
    }

    /// How a finding of `rule` over `span` (found by decoding when `encoded`) ranks when it
    /// overlaps another: the higher one is kept, as [`Matcher::scan`] does.
    pub fn rank(&self, rule: usize, encoded: bool, span: &Range<usize>) -> impl Ord + use<> {
        rank_of(rule, encoded, span.len(), self.rules())
    }

    /// How many triggers the keyword hits start: the rules (numbered as in
    /// [`Matcher::rules`]), then the decoders' triggers (numbered on from there).
    pub fn trigger_count(&self) -> usize {
        self.rules().len() + self.inner.rules.decoders().triggers.len()
    }

    /// Like [`Matcher::scan_into`], but every keyword hit of a trigger `t` with `track[t]`
    /// set is kept, in order of end, for [`Scratch::tracked`]; and with `regions`, only
    /// some keyword hits start rule windows (see [`Regions`]). The rules and decoders then
    /// run on `hay` exactly as for a whole scan, so a finding has the same bytes around it
    /// whichever way it was found.
    pub fn scan_regions_into(
        &self,
        hay: &[u8],
        regions: Option<Regions<'_>>,
        track: &[bool],
        scratch: &mut Scratch,
        out: &mut Vec<Finding>,
    ) {
        self.top_scan(hay, regions, track, scratch, out, true);
    }

    /// Like [`Matcher::scan_regions_into`], but overlapping findings are all kept: every
    /// accepted match, sorted by start and then end, as the overlap removal of a scan sees
    /// them (see [`Matcher::rank`]).
    pub fn candidates_in(
        &self,
        hay: &[u8],
        regions: Option<Regions<'_>>,
        track: &[bool],
        scratch: &mut Scratch,
        out: &mut Vec<Finding>,
    ) {
        self.top_scan(hay, regions, track, scratch, out, false);
    }

    fn top_scan(
        &self,
        hay: &[u8],
        regions: Option<Regions<'_>>,
        track: &[bool],
        scratch: &mut Scratch,
        out: &mut Vec<Finding>,
        remove: bool,
    ) {
        let decoders = self.inner.rules.decoders();
        let mut budget = decoders.budget();
        scratch.tracked.clear();
        scratch.runs.clear();
        scratch.exhausted = false;
        scratch.decoded.clear();
        let top = Top {
            regions,
            track,
            top: true,
        };
        let mut candidates = self.candidates(hay, scratch, decoders.depth(), &mut budget, top);
        let first = out.len();
        if remove {
            remove_overlaps(&mut candidates, self.rules(), out);
        } else {
            sort_by_span(&mut candidates);
            out.append(&mut candidates);
        }
        locate(hay, &mut out[first..]);
        scratch.candidates = candidates;
    }

    /// Every accepted match in `hay`, overlaps included, plus what decoding `depth` levels
    /// down finds (reported at the encoded region).
    fn candidates(
        &self,
        hay: &[u8],
        scratch: &mut Scratch,
        depth: usize,
        budget: &mut usize,
        top: Top<'_>,
    ) -> Vec<Finding> {
        let Some(prefilter) = &self.inner.prefilter else {
            return Vec::new();
        };
        let rules = self.rules().len();
        let triggers = self.inner.rules.decoders().triggers.as_slice();
        scratch.prepare(rules + triggers.len());
        collect_windows(prefilter, &self.inner.rules, hay, top, scratch);
        if scratch.touched.is_empty() {
            return Vec::new();
        }
        scratch.touched.sort_unstable();
        let touched = std::mem::take(&mut scratch.touched);
        for &r in touched.iter().filter(|&&r| (r as usize) < rules) {
            self.run_rule(r as usize, hay, scratch);
        }
        let mut found = std::mem::take(&mut scratch.candidates);
        if depth > 0 {
            for &t in touched.iter().filter(|&&r| (r as usize) >= rules) {
                let trigger = &triggers[t as usize - rules];
                let min = trigger.min_length.unwrap_or(12);
                if top.top {
                    // A run or token that a window touches is taken whole: note how far
                    // before and past the window each one can reach.
                    let mut extents = Extents::new(trigger.encoding);
                    for w in &scratch.windows[t as usize] {
                        let ext = extents.of(hay, w.clone());
                        if ext.start < w.start {
                            scratch.runs.push((t, ext.start..w.start));
                        }
                        if ext.end > w.end {
                            scratch.runs.push((t, w.end..ext.end));
                        }
                    }
                }
                scratch.regions.clear();
                let mut done = 0;
                for w in &scratch.windows[t as usize] {
                    let (encoding, regions) = (trigger.encoding, &mut scratch.regions);
                    decode_window(encoding, hay, w.clone(), min, &mut done, regions);
                }
                scratch
                    .regions
                    .dedup_by(|a, b| a.start == b.start && a.end == b.end);
                let regions = std::mem::take(&mut scratch.regions);
                for region in &regions {
                    if region.bytes.len() > *budget {
                        scratch.exhausted = true;
                        break;
                    }
                    let before = *budget;
                    *budget -= region.bytes.len();
                    let nested = scratch.nested.get_or_insert_with(Default::default);
                    nested.exhausted = false;
                    let inner =
                        self.candidates(&region.bytes, nested, depth - 1, budget, Top::default());
                    scratch.exhausted |= nested.exhausted;
                    if top.top {
                        let spent = before - *budget;
                        scratch.decoded.push((t, region.start..region.end, spent));
                    }
                    found.extend(inner.into_iter().map(|f| Finding {
                        span: region.start..region.end,
                        match_span: region.start..region.end,
                        encoding: Some(f.encoding.unwrap_or(trigger.encoding)),
                        ..f
                    }));
                }
                scratch.regions = regions;
            }
        }
        scratch.touched = touched;
        found
    }

    fn run_rule(&self, r: usize, hay: &[u8], scratch: &mut Scratch) {
        let rule = &self.rules()[r];
        let Ok(compiled) = rule.compiled() else {
            return;
        };
        let re = &compiled.regex;
        let cache = scratch.caches[r].get_or_insert_with(|| re.create_cache());
        let slot_len = 2 * compiled.secret_group.map_or(compiled.groups, |g| g + 1);
        scratch.slots.clear();
        scratch.slots.resize(slot_len, None);
        let filters = self.inner.rules.filters();
        for w in &scratch.windows[r] {
            let mut input = Input::new(hay).span(w.clone());
            while input.start() <= input.end() {
                if re
                    .search_slots_with(cache, &input, &mut scratch.slots)
                    .is_none()
                {
                    break;
                }
                let (Some(ms), Some(me)) = (scratch.slots[0], scratch.slots[1]) else {
                    break;
                };
                let (ms, me) = (ms.get(), me.get());
                let next = if me > ms { me } else { me + 1 };
                if let Some(span) = secret_span(&scratch.slots, compiled.secret_group)
                    && accept(rule, &hay[span.clone()], filters)
                {
                    scratch.candidates.push(Finding {
                        rule: r,
                        secret: Secret::new(&hay[span.clone()]),
                        span,
                        match_span: ms..me,
                        line: 0,
                        column: 0,
                        encoding: None,
                    });
                }
                if next > input.end() {
                    break;
                }
                input.set_start(next);
            }
        }
    }
}

/// How many times a region scan grows its ranges before it searches the rest of the input
/// at once.
const MAX_GROWTH: usize = 4;

/// A keyword hit of one trigger: the trigger's number and the keyword's span.
pub type KeywordHit = (u32, Range<usize>);

/// Which keyword hits start rule windows in [`Matcher::scan_regions_into`].
#[derive(Clone, Copy)]
pub struct Regions<'a> {
    /// Sorted, disjoint ranges of the input to look for keywords in. Hits of tracked
    /// triggers found there are kept in [`Scratch::tracked`] but start no window.
    pub ranges: &'a [Range<usize>],
    /// Given the tracked hits found in `ranges` (trigger and keyword span, in order of
    /// end), the hits of tracked triggers that do count, each trigger's in order of end
    /// (as a whole scan finds them). Called once, after the keyword search.
    pub hits: &'a dyn Fn(&[KeywordHit]) -> Vec<KeywordHit>,
    /// Sorted ranges (points may be empty) whose surroundings count: an untracked
    /// trigger's hits start windows only when their merged window, widened by the
    /// trigger's reach (its window plus the longest keyword), touches one of them. The
    /// ranges grow along each such window until every hit a whole scan would merge into it
    /// is found, so `ranges` must hold at least one hit of each (each event widened by two
    /// reaches does).
    pub events: &'a [Range<usize>],
}

impl std::fmt::Debug for Regions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Regions")
            .field("ranges", &self.ranges)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

/// Which keyword hits of a top-level scan count, and which are kept.
#[derive(Debug, Clone, Copy, Default)]
struct Top<'a> {
    /// Only some hits count (all when `None`).
    regions: Option<Regions<'a>>,
    /// Per trigger: keep its hits in [`Scratch::tracked`].
    track: &'a [bool],
    /// The top level of a scan (not decoded text).
    top: bool,
}

/// Records, per rule, the merged windows around every keyword hit that counts.
fn collect_windows(
    prefilter: &Prefilter,
    rules: &RuleSet,
    hay: &[u8],
    top: Top<'_>,
    scratch: &mut Scratch,
) {
    let Scratch {
        windows,
        touched,
        lanes,
        tracked,
        joined,
        searched,
        ..
    } = scratch;
    let len = hay.len();
    let Some(r) = top.regions else {
        prefilter.for_each_hit(hay, lanes, |triggers, hit_start, hit_end| {
            for t in triggers {
                if top.track.get(t.rule as usize) == Some(&true) {
                    tracked.push((t.rule, hit_start..hit_end));
                }
                add_window(
                    t.rule,
                    t.before,
                    t.after,
                    hit_start..hit_end,
                    len,
                    windows,
                    touched,
                );
            }
        });
        searched.clear();
        return;
    };
    // Search the ranges; then, for every merged window that touches an event within its
    // trigger's reach, grow them over every hit that could merge into it, and search what
    // was added, until they stop growing. Windows near no event start nothing: their
    // findings are the caller's to carry.
    let overlap = prefilter.max_keyword_len().saturating_sub(1);
    let longest = overlap + 1;
    let near = |lo: usize, hi: usize| {
        let i = r.events.partition_point(|e| e.end < lo);
        r.events.get(i).is_some_and(|e| e.start <= hi)
    };
    let mut ranges: Vec<Range<usize>> = r.ranges.to_vec();
    let mut todo = ranges.clone();
    let mut found: Vec<(u32, usize, usize, Range<usize>)> = Vec::new();
    // Per hit of `found` (in its order): its merged window touches an event.
    let mut counts: Vec<bool> = Vec::new();
    let first_decoder = rules.rules().len();
    // The extents of the current decoder trigger's windows (see `Extents`).
    let mut extents: Option<(u32, Extents)> = None;
    let mut rounds = 0;
    loop {
        rounds += 1;
        prefilter.for_each_hit_in(hay, &todo, joined, lanes, |triggers, s, e| {
            for t in triggers {
                if top.track.get(t.rule as usize) == Some(&true) {
                    tracked.push((t.rule, s..e));
                } else {
                    found.push((t.rule, t.before, t.after, s..e));
                }
            }
        });
        found.sort_unstable_by_key(|(t, _, _, k)| (*t, k.end, k.start));
        found.dedup();
        counts.clear();
        counts.resize(found.len(), false);
        let mut wanted: Vec<Range<usize>> = ranges.clone();
        let mut from = 0;
        while from < found.len() {
            // One merged window: the hits of one trigger whose windows overlap or touch.
            let (t, before, after, k) = &found[from];
            let mut cur = k.start.saturating_sub(*before)..k.end.saturating_add(*after).min(len);
            let mut to = from + 1;
            while let Some((t2, _, _, k2)) = found.get(to) {
                let w = k2.start.saturating_sub(*before)..k2.end.saturating_add(*after).min(len);
                if t2 != t || w.start > cur.end {
                    break;
                }
                cur.start = cur.start.min(w.start);
                cur.end = cur.end.max(w.end);
                to += 1;
            }
            let reach = before + after + longest;
            // A decoder takes a run or token that its window touches whole.
            let mut span = cur.clone();
            if let Some(trigger) = rules
                .decoders()
                .triggers
                .get((*t as usize).wrapping_sub(first_decoder))
            {
                if extents.as_ref().is_none_or(|(et, _)| et != t) {
                    extents = Some((*t, Extents::new(trigger.encoding)));
                }
                if let Some((_, e)) = extents.as_mut() {
                    span = e.of(hay, cur.clone());
                }
            }
            if near(
                span.start.saturating_sub(reach),
                span.end.saturating_add(reach),
            ) {
                counts[from..to].fill(true);
                // A hit merges into it when its window touches it.
                wanted.push(
                    cur.start.saturating_sub(after + longest)
                        ..cur.end.saturating_add(before + longest).min(len),
                );
            }
            from = to;
        }
        let mut grown = merge_ranges(wanted);
        if grown == ranges {
            break;
        }
        let covered: usize = grown.iter().map(|g| g.len()).sum();
        if rounds >= MAX_GROWTH || covered * 10 >= len * 9 {
            // Chains of windows across much of the input: search the rest at once (the
            // next round finds nothing more to grow).
            grown = std::iter::once(0..len).collect();
        }
        // What was added, widened by a keyword's length so that none across an old edge
        // is missed (hits found twice are dropped above).
        todo.clear();
        let mut old = ranges.iter().peekable();
        for g in &grown {
            let mut from = g.start;
            while let Some(o) = old.peek() {
                if o.start >= g.end {
                    break;
                }
                if o.start > from {
                    todo.push(from.saturating_sub(overlap)..(o.start + overlap).min(len));
                }
                from = from.max(o.end);
                old.next();
            }
            if from < g.end {
                todo.push(from.saturating_sub(overlap)..g.end);
            }
        }
        todo = merge_ranges(std::mem::take(&mut todo));
        ranges = grown;
    }
    tracked.sort_unstable_by_key(|(t, k)| (k.end, k.start, *t));
    tracked.dedup();
    let mut starting: Vec<(u32, usize, usize, Range<usize>)> = found
        .into_iter()
        .zip(&counts)
        .filter_map(|(hit, &counts)| counts.then_some(hit))
        .collect();
    starting.sort_unstable_by_key(|(t, _, _, k)| (k.end, k.start, *t));
    for (t, before, after, k) in starting {
        add_window(t, before, after, k, len, windows, touched);
    }
    *searched = ranges;
    if let Some(r) = top.regions {
        let n = rules.rules().len();
        for (t, hit) in (r.hits)(tracked) {
            let w = match rules.rules().get(t as usize) {
                Some(rule) => rule.window(),
                None => match rules.decoders().triggers.get(t as usize - n) {
                    Some(trigger) => trigger.window,
                    None => continue,
                },
            };
            add_window(t, w.before, w.after, hit, len, windows, touched);
        }
    }
}

/// Sorts ranges and merges those that overlap or touch.
pub fn merge_ranges(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_unstable_by_key(|r| r.start);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// Adds the window of one keyword hit to its trigger's list.
fn add_window(
    rule: u32,
    before: usize,
    after: usize,
    hit: Range<usize>,
    len: usize,
    windows: &mut [Vec<Range<usize>>],
    touched: &mut Vec<u32>,
) {
    let start = hit.start.saturating_sub(before);
    let end = hit.end.saturating_add(after).min(len);
    let list = &mut windows[rule as usize];
    match list.last_mut() {
        Some(last) if start <= last.end => {
            last.start = last.start.min(start);
            last.end = last.end.max(end);
        }
        Some(_) => list.push(start..end),
        None => {
            touched.push(rule);
            list.push(start..end);
        }
    }
}

/// The secret's span: the named group, or the first group after group 0 that matched.
fn secret_span(slots: &[Option<NonMaxUsize>], group: Option<usize>) -> Option<Range<usize>> {
    let pair = |g: usize| match (slots[2 * g], slots[2 * g + 1]) {
        (Some(s), Some(e)) => Some(s.get()..e.get()),
        _ => None,
    };
    match group {
        Some(g) => pair(g),
        None => (1..slots.len() / 2).find_map(pair),
    }
}

/// The value filters of one rule: entropy floor, checksum, documented examples, placeholders.
fn accept(rule: &Rule, value: &[u8], filters: &crate::Filters) -> bool {
    if value.is_empty() {
        return false;
    }
    if let Some(min) = rule.spec.min_entropy
        && entropy(value) < min
    {
        return false;
    }
    if let Some(c) = rule.spec.checksum
        && !c.verify(value)
    {
        return false;
    }
    if let Ok(allow) = rule.allow_regexes()
        && allow.iter().any(|re| re.is_match(value))
    {
        return false;
    }
    if rule.spec.placeholder_check.unwrap_or(true) && filters.is_placeholder(value) {
        return false;
    }
    if rule.spec.random && filters.is_word_like(value) {
        return false;
    }
    true
}

/// Ranks a finding for overlap removal: rules restricted to some exposures lose to all others
/// (they only fill in where nothing else matched), provider rules beat generic ones, then
/// confidence, then a match in the text itself beats one in decoded text (a rule written for
/// the encoded form knows it better), then the longer secret.
type Rank = (
    bool,
    bool,
    crate::Confidence,
    bool,
    usize,
    std::cmp::Reverse<usize>,
);

fn rank(f: &Finding, rules: &[Rule]) -> Rank {
    rank_of(f.rule, f.encoding.is_some(), f.span.len(), rules)
}

fn rank_of(r: usize, encoded: bool, len: usize, rules: &[Rule]) -> Rank {
    let rule = &rules[r];
    (
        rule.spec.only_in.is_empty(),
        !rule.spec.generic,
        rule.confidence(),
        !encoded,
        len,
        std::cmp::Reverse(r),
    )
}

/// Moves the candidates to `out`, sorted by position, dropping any that overlaps a better one.
///
/// Kept findings never overlap, so sorted by start they are sorted by end too: only the tail
/// that reaches past a candidate's start can overlap it.
/// Sorts findings by start, then end, keeping the order of equal spans.
fn sort_by_span(candidates: &mut [Finding]) {
    candidates.sort_by(|a, b| {
        a.span
            .start
            .cmp(&b.span.start)
            .then(a.span.end.cmp(&b.span.end))
    });
}

fn remove_overlaps(candidates: &mut Vec<Finding>, rules: &[Rule], out: &mut Vec<Finding>) {
    sort_by_span(candidates);
    let first = out.len();
    for c in candidates.drain(..) {
        let mut overlap_from = out.len();
        while overlap_from > first && out[overlap_from - 1].span.end > c.span.start {
            overlap_from -= 1;
        }
        let wins = out[overlap_from..]
            .iter()
            .all(|k| rank(&c, rules) > rank(k, rules));
        if wins {
            out.truncate(overlap_from);
            out.push(c);
        }
    }
}
