//! The matcher: keyword prefilter, per-rule regex windows, value filters, overlap removal.
//!
//! # Contract of the prefilter
//!
//! One Aho–Corasick automaton holds every rule's keywords (ASCII case-insensitive) and reports
//! *every* occurrence of every keyword, overlapping ones included, so a keyword nested inside a
//! longer one (`secret` inside `client_secret`) still selects its rules. A candidate may be a
//! false positive (the regex then finds nothing), never a false negative: for each occurrence of
//! a rule's keyword the rule's regex runs over the window `[start - before, end + after]`, and
//! the windows of one rule are merged, so a million hits cost a million window updates and one
//! regex pass over their union — linear in the input. A rule must therefore keep its matches
//! within its window of a keyword, which `rules check` verifies on every example.
//!
//! # Performance
//!
//! Building a [`Matcher`] builds the automaton (a few milliseconds for hundreds of keywords);
//! regexes compile lazily, the first time one of their keywords hits, so scanning one small
//! file compiles only the rules it needs. The regex runs over the whole haystack with a span,
//! so `\b` and `^` see the bytes just outside the window.

use std::ops::Range;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex_automata::{Input, meta, util::primitives::NonMaxUsize};

use crate::entropy;
use crate::error::Error;
use crate::finding::{Finding, Secret, locate};
use crate::rule::{Rule, RuleSet};

/// The compiled matcher, built once and shared read-only by all threads.
#[derive(Debug, Clone)]
pub struct Matcher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    rules: RuleSet,
    automaton: Option<AhoCorasick>,
    /// For each automaton pattern, the rules that listed that keyword.
    keyword_rules: Vec<Vec<u32>>,
}

/// Per-thread mutable state for [`Matcher::scan`]: reuse one per worker.
#[derive(Debug, Default)]
pub struct Scratch {
    windows: Vec<Vec<Range<usize>>>,
    touched: Vec<u32>,
    caches: Vec<Option<meta::Cache>>,
    slots: Vec<Option<NonMaxUsize>>,
    candidates: Vec<Finding>,
}

impl Scratch {
    /// An empty scratch space; it grows to fit the matcher it is used with.
    pub fn new() -> Scratch {
        Scratch::default()
    }

    fn prepare(&mut self, rules: usize) {
        if self.windows.len() < rules {
            self.windows.resize_with(rules, Vec::new);
            self.caches.resize_with(rules, || None);
        }
        for &r in &self.touched {
            self.windows[r as usize].clear();
        }
        self.touched.clear();
        self.candidates.clear();
    }
}

impl Matcher {
    /// Builds the keyword automaton over `rules`.
    pub fn new(rules: RuleSet) -> Result<Matcher, Error> {
        let mut keywords: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<u32>> = Vec::new();
        let mut index = std::collections::HashMap::new();
        for (i, rule) in rules.rules().iter().enumerate() {
            for k in &rule.spec.keywords {
                let lower = k.to_ascii_lowercase();
                let slot = *index.entry(lower.clone()).or_insert_with(|| {
                    keywords.push(lower);
                    keyword_rules.push(Vec::new());
                    keyword_rules.len() - 1
                });
                let list = &mut keyword_rules[slot];
                if list.last() != Some(&(i as u32)) {
                    list.push(i as u32);
                }
            }
        }
        let automaton = if keywords.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&keywords)
                    .map_err(|e| Error::Matcher(e.to_string()))?,
            )
        };
        Ok(Matcher { inner: Arc::new(Inner { rules, automaton, keyword_rules }) })
    }

    /// The rules, indexed by [`Finding::rule`].
    pub fn rules(&self) -> &[Rule] {
        self.inner.rules.rules()
    }

    /// The rule set (rules and filters).
    pub fn rule_set(&self) -> &RuleSet {
        &self.inner.rules
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
        let Some(ac) = &self.inner.automaton else { return };
        let rules = self.rules();
        scratch.prepare(rules.len());
        self.collect_windows(ac, hay, scratch);
        if scratch.touched.is_empty() {
            return;
        }
        scratch.touched.sort_unstable();
        let touched = std::mem::take(&mut scratch.touched);
        for &r in &touched {
            self.run_rule(r as usize, hay, scratch);
        }
        scratch.touched = touched;
        let first = out.len();
        remove_overlaps(&mut scratch.candidates, rules, out);
        locate(hay, &mut out[first..]);
    }

    fn collect_windows(&self, ac: &AhoCorasick, hay: &[u8], scratch: &mut Scratch) {
        let rules = self.rules();
        for m in ac.find_overlapping_iter(hay) {
            for &r in &self.inner.keyword_rules[m.pattern().as_usize()] {
                let w = rules[r as usize].window();
                let start = m.start().saturating_sub(w.before);
                let end = m.end().saturating_add(w.after).min(hay.len());
                let list = &mut scratch.windows[r as usize];
                match list.last_mut() {
                    Some(last) if start <= last.end => {
                        last.start = last.start.min(start);
                        last.end = last.end.max(end);
                    }
                    Some(_) => list.push(start..end),
                    None => {
                        scratch.touched.push(r);
                        list.push(start..end);
                    }
                }
            }
        }
    }

    fn run_rule(&self, r: usize, hay: &[u8], scratch: &mut Scratch) {
        let rule = &self.rules()[r];
        let Ok(compiled) = rule.compiled() else { return };
        let re = &compiled.regex;
        let cache = scratch.caches[r].get_or_insert_with(|| re.create_cache());
        let slot_len = 2 * compiled.secret_group.map_or(compiled.groups, |g| g + 1);
        scratch.slots.clear();
        scratch.slots.resize(slot_len, None);
        let filters = self.inner.rules.filters();
        for w in &scratch.windows[r] {
            let mut input = Input::new(hay).span(w.clone());
            while input.start() <= input.end() {
                if re.search_slots_with(cache, &input, &mut scratch.slots).is_none() {
                    break;
                }
                let (Some(ms), Some(me)) = (scratch.slots[0], scratch.slots[1]) else { break };
                let (ms, me) = (ms.get(), me.get());
                let next = if me > ms { me } else { me + 1 };
                if let Some(span) = secret_span(&scratch.slots, compiled.secret_group) {
                    if accept(rule, &hay[span.clone()], filters) {
                        scratch.candidates.push(Finding {
                            rule: r,
                            secret: Secret::new(&hay[span.clone()]),
                            span,
                            match_span: ms..me,
                            line: 0,
                            column: 0,
                        });
                    }
                }
                if next > input.end() {
                    break;
                }
                input.set_start(next);
            }
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
    true
}

/// Ranks a finding for overlap removal: provider rules beat generic ones, then confidence,
/// then the longer secret.
fn rank(f: &Finding, rules: &[Rule]) -> (bool, crate::Confidence, usize, std::cmp::Reverse<usize>) {
    let rule = &rules[f.rule];
    (!rule.spec.generic, rule.confidence(), f.span.len(), std::cmp::Reverse(f.rule))
}

/// Moves the candidates to `out`, sorted by position, dropping any that overlaps a better one.
///
/// Kept findings never overlap, so sorted by start they are sorted by end too: only the tail
/// that reaches past a candidate's start can overlap it.
fn remove_overlaps(candidates: &mut Vec<Finding>, rules: &[Rule], out: &mut Vec<Finding>) {
    candidates.sort_by(|a, b| a.span.start.cmp(&b.span.start).then(a.span.end.cmp(&b.span.end)));
    let first = out.len();
    for c in candidates.drain(..) {
        let mut overlap_from = out.len();
        while overlap_from > first && out[overlap_from - 1].span.end > c.span.start {
            overlap_from -= 1;
        }
        let wins = out[overlap_from..].iter().all(|k| rank(&c, rules) > rank(k, rules));
        if wins {
            out.truncate(overlap_from);
            out.push(c);
        }
    }
}
