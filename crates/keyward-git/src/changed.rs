//! Matching only what changed: the lines of a blob that none of its earlier versions has,
//! plus as much context around them as a rule's regex can reach.
//!
//! A commit range (a push) or the staged changes introduce blobs whose earlier versions are
//! known: the blob at the same path in each parent. A secret is new only when no earlier
//! version holds it, and a secret on a line that an earlier version already has verbatim is
//! in that version. So only the *added lines* (lines absent from every earlier version) can
//! hold new secrets, and only the bytes that a rule could see around them need matching.
//!
//! How far that is comes from the rules: the matcher lets a rule's regex match only within
//! `[hit - before, hit + after]` of one of its keyword hits, so a finding whose secret touches
//! an added line has its keyword hit, and that hit's whole window, within `before + after +
//! keyword length` of the added line. For most rules that is under 2 KiB: those *near* rules
//! are served by matching the added lines widened by that margin. The few rules (and
//! decoders) that reach further (private keys, kubeconfig users, base64 payloads: up to 32
//! KiB) are served by looking for their keywords alone, with a small automaton, in the wider
//! neighbourhood, and widening the matched region to the window of each such keyword hit
//! that reaches an added line. Every region is rounded out to whole lines, so line numbers
//! and columns stay those of the blob and `^` still means the start of a line.
//!
//! The result is exact up to one difference: a regex never sees bytes outside the matched
//! region, so a match that in the whole blob would have been shadowed by an overlapping
//! longer one starting outside the region is reported in its place. No secret that the
//! whole-blob scan reports on an added line is missed.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

use keyward_core::{KeywordSearch, LaneHits, Matcher, Scratch, merge_ranges};
use rayon::prelude::*;

use crate::history::blob_findings;
use crate::id::BlobId;
use crate::objects;
use crate::packblob::{BlobReader, Packs};
use crate::progress::Progress;
use crate::provenance::BlobFinding;
use crate::stats::{ScanStats, Unreadable};

/// A rule whose reach (`before + after + keyword length`) is at most this is near.
const NEAR_LIMIT: usize = 768;
/// Blobs up to this size are matched whole: cutting them up would save nothing.
const SMALL_BLOB: usize = 8 * 1024;
/// Slack on every margin: the prefilter may confirm a keyword a few bytes off its hit.
const SLACK: usize = 64;

/// What to match around added lines, derived once from the rules.
#[derive(Debug)]
pub(crate) struct Reach {
    /// How far around an added line near rules can see.
    near: usize,
    /// The keywords of the far rules and decoders, with how far around each they see.
    far: Option<Far>,
}

#[derive(Debug)]
struct Far {
    /// The far keywords that contain no other (lowercase); `None`: no search could be
    /// built, match blobs whole.
    keywords: Option<KeywordSearch>,
    /// Per minimal keyword: its `(before, after)`, then the longer keywords found through
    /// it, as (the longer keyword, where the minimal one sits in it, its window).
    minimal: Vec<Minimal>,
    /// How far before an added line a far keyword can sit and still reach it: the widest
    /// `after + keyword length`.
    reach_before: usize,
    /// How far after: the widest `before`.
    reach_after: usize,
}

#[derive(Debug)]
struct Minimal {
    window: (usize, usize),
    longer: Vec<(Vec<u8>, usize, (usize, usize))>,
}

impl Far {
    /// Sorts the far keywords (lowercase, distinct, with their windows) into minimal ones,
    /// which the search looks for, and longer ones, found through a minimal one they contain
    /// (the first, at its first place) — so that every occurrence of every keyword is seen
    /// exactly once.
    fn new(far: Vec<(String, (usize, usize))>) -> Far {
        let longest = far.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let reach_before = far.iter().map(|(_, w)| w.1).max().unwrap_or(0) + longest + SLACK;
        let reach_after = far.iter().map(|(_, w)| w.0).max().unwrap_or(0) + SLACK;
        // Plain windows, first byte first: this runs on every push, over thousands of
        // pairs of short keywords, where setting up a searcher for each costs more.
        let at = |a: &str, b: &str| {
            (a.len() > b.len())
                .then(|| {
                    let b = b.as_bytes();
                    let first = *b.first()?;
                    a.as_bytes()
                        .windows(b.len())
                        .position(|w| w[0] == first && w == b)
                })
                .flatten()
        };
        let contains = |a: &str, b: &str| at(a, b).is_some();
        let (small, large): (Vec<_>, Vec<_>) = far
            .iter()
            .partition(|(k, _)| !far.iter().any(|(o, _)| contains(k, o)));
        let mut minimal: Vec<Minimal> = small
            .iter()
            .map(|(_, w)| Minimal {
                window: *w,
                longer: Vec::new(),
            })
            .collect();
        for (k, w) in &large {
            let inner = small
                .iter()
                .enumerate()
                .find_map(|(i, (m, _))| at(k, m).map(|at| (i, at)));
            if let Some((i, at)) = inner {
                minimal[i].longer.push((k.as_bytes().to_vec(), at, *w));
            }
        }
        let patterns: Vec<String> = small.iter().map(|(k, _)| k.clone()).collect();
        Far {
            keywords: KeywordSearch::new(&patterns),
            minimal,
            reach_before,
            reach_after,
        }
    }

    /// Adds to `out` the window of every keyword occurrence within `hay[hood]` that reaches
    /// `added`.
    fn hits(
        &self,
        keywords: &KeywordSearch,
        hay: &[u8],
        hood: Range<usize>,
        added: &[Range<usize>],
        lanes: &mut LaneHits,
        out: &mut Vec<Range<usize>>,
    ) {
        let len = hay.len();
        let part = &hay[hood.clone()];
        let mut reach = |start: usize, end: usize, (before, after): (usize, usize)| {
            let (start, end) = (hood.start + start, hood.start + end);
            let window = start.saturating_sub(before)..end.saturating_add(after).min(len);
            if touches(added, &window) {
                out.push(window);
            }
        };
        keywords.for_each(part, lanes, |k, start, end| {
            let m = &self.minimal[k];
            reach(start, end, m.window);
            for (longer, at, window) in &m.longer {
                let Some(from) = start.checked_sub(*at) else {
                    continue;
                };
                let to = from + longer.len();
                if part
                    .get(from..to)
                    .is_some_and(|b| b.eq_ignore_ascii_case(longer))
                {
                    reach(from, to, *window);
                }
            }
        });
    }
}

impl Reach {
    pub(crate) fn new(matcher: &Matcher) -> Reach {
        let mut near = 0;
        let mut far: HashMap<String, (usize, usize)> = HashMap::new();
        let rules = matcher
            .rules()
            .iter()
            .map(|r| (r.spec.keywords.as_slice(), r.window()));
        let decoders = matcher
            .rule_set()
            .decoders()
            .triggers
            .iter()
            .map(|t| (t.keywords.as_slice(), t.window));
        for (keywords, window) in rules.chain(decoders) {
            let longest = keywords.iter().map(String::len).max().unwrap_or(0);
            let reach = window.before + window.after + longest + SLACK;
            if reach <= NEAR_LIMIT {
                near = near.max(reach);
                continue;
            }
            for k in keywords {
                let w = far.entry(k.to_ascii_lowercase()).or_default();
                *w = (w.0.max(window.before), w.1.max(window.after));
            }
        }
        if far.is_empty() {
            return Reach { near, far: None };
        }
        let mut far: Vec<(String, (usize, usize))> = far.into_iter().collect();
        far.sort();
        Reach {
            near,
            far: Some(Far::new(far)),
        }
    }

    /// The regions of `hay` to match so that every finding touching `added` is found:
    /// sorted, disjoint, whole lines. `added` is sorted and disjoint.
    pub(crate) fn regions(&self, hay: &[u8], added: &[Range<usize>]) -> Vec<Range<usize>> {
        let len = hay.len();
        if added.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<Range<usize>> = added
            .iter()
            .map(|a| a.start.saturating_sub(self.near)..a.end.saturating_add(self.near).min(len))
            .collect();
        if let Some(far) = &self.far {
            let Some(keywords) = far.keywords.as_ref() else {
                return whole(len);
            };
            let mut lanes = LaneHits::default();
            let hoods = merge_ranges(
                added
                    .iter()
                    .map(|a| {
                        a.start.saturating_sub(far.reach_before)
                            ..a.end.saturating_add(far.reach_after).min(len)
                    })
                    .collect(),
            );
            for hood in hoods {
                far.hits(keywords, hay, hood, added, &mut lanes, &mut out);
            }
        }
        let lines: Vec<Range<usize>> = out.into_iter().map(|r| whole_lines(hay, r)).collect();
        merge_ranges(lines)
    }
}

/// The one region that covers a blob of `len` bytes.
fn whole(len: usize) -> Vec<Range<usize>> {
    std::iter::once(0..len).collect()
}

/// Does `window` overlap one of the sorted, disjoint `ranges`?
fn touches(ranges: &[Range<usize>], window: &Range<usize>) -> bool {
    let i = ranges.partition_point(|r| r.end <= window.start);
    ranges.get(i).is_some_and(|r| r.start < window.end)
}

/// `r` widened to the start of its first line and past the newline of its last.
fn whole_lines(hay: &[u8], r: Range<usize>) -> Range<usize> {
    let start = memchr::memrchr(b'\n', &hay[..r.start]).map_or(0, |i| i + 1);
    let end = if r.end == 0 || hay.get(r.end - 1) == Some(&b'\n') {
        r.end
    } else {
        memchr::memchr(b'\n', &hay[r.end..]).map_or(hay.len(), |i| r.end + i + 1)
    };
    start..end.max(start)
}

/// A fast hasher for lines (FxHash's mixing, eight bytes at a time). Lines are compared by
/// content after hashing, so a collision costs a comparison, never a missed line.
#[derive(Default)]
struct LineHasher(u64);

impl Hasher for LineHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
        self.0 = h;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type LineSet<'a> = HashSet<&'a [u8], BuildHasherDefault<LineHasher>>;

/// The lines of `data`, each without its newline.
fn lines(data: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= data.len() {
            return None;
        }
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        let at = start;
        start = end + 1;
        Some((at, &data[at..end]))
    })
}

/// The byte ranges of the lines of `new` (newline included) that none of `olds` has,
/// merged into runs. With one old version, the lines both share at the start and at the
/// end are set aside first (an edit usually touches the middle of a file), and a line of
/// the new middle counts as added unless the old middle has it: a line moved in from the
/// shared ends is then matched needlessly, which costs time, never a finding.
pub(crate) fn added_lines(new: &[u8], olds: &[&[u8]]) -> Vec<Range<usize>> {
    let (skip, new_mid, old_mids): (usize, &[u8], Vec<&[u8]>) = match olds {
        [old] => {
            let (head, tail) = shared_ends(new, old);
            (
                head,
                &new[head..new.len() - tail],
                vec![&old[head..old.len() - tail]],
            )
        }
        _ => (0, new, olds.to_vec()),
    };
    let lines_in = |d: &[u8]| memchr::memchr_iter(b'\n', d).count() + 1;
    let capacity = old_mids.iter().map(|o| lines_in(o)).sum();
    let mut known: LineSet<'_> = HashSet::with_capacity_and_hasher(capacity, Default::default());
    for old in &old_mids {
        known.extend(lines(old).map(|(_, l)| l));
    }
    let mut out: Vec<Range<usize>> = Vec::new();
    for (at, line) in lines(new_mid) {
        if known.contains(line) {
            continue;
        }
        let at = skip + at;
        let end = (at + line.len() + 1).min(new.len());
        match out.last_mut() {
            Some(last) if last.end == at => last.end = end,
            _ => out.push(at..end),
        }
    }
    out
}

/// How many bytes of whole lines `a` and `b` share at their start, and at their end (not
/// overlapping the start).
fn shared_ends(a: &[u8], b: &[u8]) -> (usize, usize) {
    let same = common_prefix(a, b);
    // Back to the end of the last whole line both share.
    let head = if same == a.len() && same == b.len() {
        same
    } else {
        memchr::memrchr(b'\n', &a[..same]).map_or(0, |i| i + 1)
    };
    let room = a.len().min(b.len()) - head;
    let same = common_suffix(&a[a.len() - room..], &b[b.len() - room..]);
    // Forward to the start of the first whole line both share: just after a newline.
    let tail = if same == 0 {
        0
    } else {
        let from = a.len() - same;
        if from == head || a[from - 1] == b'\n' {
            same
        } else {
            memchr::memchr(b'\n', &a[from..]).map_or(0, |i| same - i - 1)
        }
    };
    (head, tail)
}

/// Compared a block at a time (word by word, without a call, which the compiler turns into
/// vector instructions), then byte by byte within the first block that differs: most of two
/// versions of a file is shared.
const BLOCK: usize = 64;

/// Two blocks of [`BLOCK`] bytes are equal.
#[inline(always)]
fn same_block(x: &[u8], y: &[u8]) -> bool {
    let mut diff = 0u64;
    for (a, b) in x.chunks_exact(8).zip(y.chunks_exact(8)) {
        let word = |c: &[u8]| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        diff |= word(a) ^ word(b);
    }
    diff == 0
}

/// How many leading bytes `a` and `b` share.
pub(crate) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let blocks = a[..n]
        .chunks_exact(BLOCK)
        .zip(b[..n].chunks_exact(BLOCK))
        .take_while(|(x, y)| same_block(x, y))
        .count();
    let from = blocks * BLOCK;
    from + a[from..n]
        .iter()
        .zip(&b[from..n])
        .take_while(|(x, y)| x == y)
        .count()
}

/// How many trailing bytes `a` and `b` share.
pub(crate) fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let blocks = a
        .rchunks_exact(BLOCK)
        .zip(b.rchunks_exact(BLOCK))
        .take_while(|(x, y)| same_block(x, y))
        .count();
    let to = n - blocks * BLOCK;
    blocks * BLOCK
        + a[..to]
            .iter()
            .rev()
            .zip(b[..to].iter().rev())
            .take_while(|(x, y)| x == y)
            .count()
}

/// The findings of `hay` within `regions` (whole lines), at their positions in `hay`; one
/// per (rule, secret), at its first position.
fn region_findings(
    matcher: &Matcher,
    scratch: &mut Scratch,
    hay: &[u8],
    regions: &[Range<usize>],
) -> Vec<BlobFinding> {
    let mut out: Vec<BlobFinding> = Vec::new();
    let mut line = 0; // newlines before `counted`
    let mut counted = 0;
    for r in regions {
        line += memchr::memchr_iter(b'\n', &hay[counted..r.start]).count();
        counted = r.start;
        for f in blob_findings(matcher, scratch, &hay[r.clone()]) {
            if !out.iter().any(|o| o.rule == f.rule && o.secret == f.secret) {
                out.push(BlobFinding {
                    line: f.line + line,
                    ..f
                });
            }
        }
    }
    out
}

/// One blob to match, and what it is compared with.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// The new blob.
    pub blob: BlobId,
    /// For each place that introduces it, the blobs the parents have at that path; an
    /// empty list (a new path) means the whole blob is new.
    pub bases: Vec<Vec<BlobId>>,
}

/// A blob and its findings.
type Matched = (BlobId, Vec<BlobFinding>);

/// Matches what each job's blob adds to its bases, in parallel; returns the blobs with
/// findings. Unreadable blobs (new ones, and bases) are counted in `stats`.
pub(crate) fn match_jobs(
    packs: &Packs<'_>,
    matcher: &Matcher,
    max_blob_size: u64,
    jobs: &[Job],
    pool: &rayon::ThreadPool,
    progress: &Progress,
    stats: &mut ScanStats,
) -> HashMap<BlobId, Vec<BlobFinding>> {
    // Built by the first job that needs it (a large blob with an earlier version): a push
    // of small or new files never does.
    let reach: OnceLock<Reach> = OnceLock::new();
    // One reader (with its recent delta chains) and one scratch space (with the caches of
    // the regexes it ran) per worker thread, for every job it takes: fresh ones per run of
    // jobs rebuilt the regexes' lazy DFA states again and again.
    let workers = pool.current_num_threads().max(1);
    let states: Vec<Mutex<(BlobReader<'_>, Scratch)>> = (0..workers)
        .map(|_| Mutex::new((packs.reader(), Scratch::new())))
        .collect();
    let results: Vec<(Option<Matched>, ScanStats)> = pool.install(|| {
        jobs.par_iter()
            .map(|job| {
                let worker = rayon::current_thread_index().unwrap_or(0) % workers;
                let mut state = match states[worker].lock() {
                    Ok(state) => state,
                    Err(poisoned) => poisoned.into_inner(),
                };
                let (reader, scratch) = &mut *state;
                progress.step(1);
                let mut st = ScanStats {
                    blobs: 1,
                    ..ScanStats::default()
                };
                let found = match_job(
                    reader,
                    matcher,
                    &reach,
                    max_blob_size,
                    job,
                    scratch,
                    &mut st,
                );
                (found.map(|fs| (job.blob, fs)), st)
            })
            .collect()
    });
    let mut out = HashMap::new();
    for (found, st) in results {
        stats.merge(&st);
        out.extend(found);
    }
    out
}

/// One job: read, skip what is not text, diff against the bases, match the regions.
fn match_job(
    reader: &mut BlobReader<'_>,
    matcher: &Matcher,
    reach: &OnceLock<Reach>,
    max_blob_size: u64,
    job: &Job,
    scratch: &mut Scratch,
    st: &mut ScanStats,
) -> Option<Vec<BlobFinding>> {
    let buf = match reader.read(job.blob, max_blob_size) {
        Ok(Some(buf)) => buf,
        Ok(None) => {
            st.skip(objects::Skip::TooLarge.reason());
            return None;
        }
        Err(reason) => {
            st.unreadable.push(Unreadable {
                id: job.blob.to_hex(),
                reason,
            });
            return None;
        }
    };
    if let Some(skip) = objects::classify(&buf, max_blob_size) {
        st.skip(skip.reason());
        return None;
    }
    let regions = if buf.len() <= SMALL_BLOB || job.bases.iter().any(Vec::is_empty) {
        whole(buf.len())
    } else {
        let added = added_by(reader, &buf, &job.bases, st);
        reach
            .get_or_init(|| Reach::new(matcher))
            .regions(&buf, &added)
    };
    let bytes: usize = regions.iter().map(|r| r.len()).sum();
    st.blobs_scanned = 1;
    st.bytes_scanned = bytes as u64;
    let found = region_findings(matcher, scratch, &buf, &regions);
    (!found.is_empty()).then_some(found)
}

/// The added lines of `new` over every base (a line counts when one base lacks it). A base
/// that cannot be read is counted and makes the whole blob count as added.
fn added_by(
    reader: &mut BlobReader<'_>,
    new: &[u8],
    bases: &[Vec<BlobId>],
    st: &mut ScanStats,
) -> Vec<Range<usize>> {
    let mut cache: HashMap<BlobId, Arc<Vec<u8>>> = HashMap::new();
    let mut all: Vec<Range<usize>> = Vec::new();
    for base in bases {
        for id in base {
            if cache.contains_key(id) {
                continue;
            }
            match reader.read(*id, u64::MAX) {
                Ok(data) => {
                    cache.insert(*id, data.unwrap_or_default());
                }
                Err(reason) => {
                    st.unreadable.push(Unreadable {
                        id: id.to_hex(),
                        reason,
                    });
                    return whole(new.len());
                }
            }
        }
        let olds: Vec<&[u8]> = base
            .iter()
            .filter_map(|id| cache.get(id).map(|d| d.as_slice()))
            .collect();
        all.extend(added_lines(new, &olds));
    }
    merge_ranges(all)
}

/// Reads a blob into `buf`; `Ok(false)` when its header says it is over `max` (then it is
/// not inflated).
pub(crate) fn read_blob(
    repo: &gix::Repository,
    id: BlobId,
    max: u64,
    buf: &mut Vec<u8>,
) -> Result<bool, String> {
    use gix::objs::{Find, FindHeader};
    let gid = id.to_gix();
    match repo.objects.try_header(&gid) {
        Ok(Some(h)) if h.size > max => return Ok(false),
        Ok(Some(_)) => {}
        Ok(None) => return Err("blob not found".into()),
        Err(e) => return Err(e.to_string()),
    }
    match repo.objects.try_find(&gid, buf) {
        Ok(Some(d)) if d.kind == gix::objs::Kind::Blob => Ok(true),
        Ok(Some(d)) => Err(format!("expected a blob, found a {}", d.kind)),
        Ok(None) => Err("blob not found".into()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_core::RuleSet;

    const TOKEN: &str = "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";

    #[test]
    fn added_lines_are_those_no_base_has() {
        let old = b"a\nb\nc\n";
        let new = b"a\nx\nb\nc\ny";
        assert_eq!(added_lines(new, &[old]), vec![2..4, 8..9]);
        // A line present in either base is not added (a merge).
        assert_eq!(added_lines(new, &[old, b"x\n"]), vec![8..9]);
        assert_eq!(added_lines(b"", &[old]), Vec::<Range<usize>>::new());
        assert_eq!(added_lines(b"q\nq\n", &[]), vec![0..4]);
        // Shared ends are set aside, and only whole lines count as shared.
        assert_eq!(added_lines(b"a\nb\nc\n", &[b"a\nc\n"]), vec![2..4]);
        assert_eq!(added_lines(b"ab\n", &[b"a\n"]), vec![0..3]);
        assert_eq!(added_lines(b"xa\n", &[b"a\n"]), vec![0..3]);
        assert_eq!(added_lines(b"a\n", &[b"a\n"]), Vec::<Range<usize>>::new());
        // A copy of a shared line in the middle is matched (needlessly, never wrongly).
        assert_eq!(added_lines(b"a\na\n", &[b"a\n"]), vec![2..4]);
        assert_eq!(added_lines(b"a\nz", &[b"a\n"]), vec![2..3]);
    }

    #[test]
    fn regions_are_whole_lines_and_merged() {
        assert_eq!(whole_lines(b"ab\ncd\nef", 4..5), 3..6);
        assert_eq!(whole_lines(b"ab\ncd\nef", 7..8), 6..8);
        assert_eq!(whole_lines(b"ab\ncd\n", 0..3), 0..3);
        assert_eq!(
            merge_ranges(vec![5..9, 0..2, 2..3, 8..12]),
            vec![0..3, 5..12]
        );
        assert_eq!(shared_ends(b"a\nb\nc\n", b"a\nc\n"), (2, 2));
        assert_eq!(shared_ends(b"a\nxb\n", b"a\nb\n"), (2, 0));
        assert_eq!(shared_ends(b"same\n", b"same\n"), (5, 0));
        // Across whole blocks and the bytes after them.
        let long: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        for cut in [0, 1, 63, 64, 65, 500, 999] {
            let mut other = long.clone();
            other[cut] ^= 1;
            assert_eq!(common_prefix(&long, &other), cut);
            assert_eq!(common_suffix(&long, &other), 999 - cut);
            assert_eq!(common_prefix(&long[..cut], &long), cut);
            assert_eq!(common_suffix(&long[cut..], &long), 1000 - cut);
        }
        assert!(touches(&[0..2, 10..20], &(15..30)));
        assert!(!touches(&[0..2, 10..20], &(2..10)));
    }

    /// A finding on an added line of a large blob is found, at its line in the blob; one on
    /// a line that the base has is not matched at all.
    #[test]
    fn region_matching_finds_secrets_on_added_lines_only() {
        let matcher = Matcher::new(RuleSet::builtin()).expect("rules");
        let reach = Reach::new(&matcher);
        let filler: String = (0..2000)
            .map(|i| format!("let value{i} = compute({i});\n"))
            .collect();
        let old = format!("{filler}token = '{TOKEN}'\n{filler}");
        let new_secret = "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";
        let new = format!("{filler}token = '{TOKEN}'\n{filler}other = '{new_secret}'\n");
        let added = added_lines(new.as_bytes(), &[old.as_bytes()]);
        let regions = reach.regions(new.as_bytes(), &added);
        let bytes: usize = regions.iter().map(|r| r.len()).sum();
        assert!(bytes < new.len() / 4, "{bytes} of {} bytes", new.len());
        let found = region_findings(&matcher, &mut Scratch::new(), new.as_bytes(), &regions);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].secret.expose(), new_secret);
        assert_eq!(found[0].line, 4002);
        assert_eq!(found[0].column, 10);
    }

    /// The far search sees every occurrence of every far keyword, those inside a longer
    /// keyword (`key` in `private key`) and overlapping ones included, exactly where a
    /// search for each keyword on its own sees them.
    #[test]
    fn far_keywords_are_found_as_one_by_one_searches_find_them() {
        let far: Vec<(String, (usize, usize))> = [
            ("key", (3, 5)),
            ("private key", (7, 11)),
            ("b64", (13, 17)),
            ("\"b64\"", (19, 23)),
            ("eyj", (29, 31)),
        ]
        .iter()
        .map(|(k, w)| (k.to_string(), *w))
        .collect();
        let f = Far::new(far.clone());
        let keywords = f.keywords.as_ref().expect("a search");
        let mut x = 7u32;
        let words = [
            "KEY",
            "Private Key",
            "\"b64\"",
            "b64",
            "eyJ",
            "eyj",
            "x",
            "\n",
            " ",
        ];
        let hay: Vec<u8> = (0..6000)
            .flat_map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                words[(x >> 16) as usize % words.len()].bytes()
            })
            .collect();
        let hood = 5..hay.len() - 3;
        let added = whole(hay.len());
        let mut ours = Vec::new();
        f.hits(
            keywords,
            &hay,
            hood.clone(),
            &added,
            &mut LaneHits::default(),
            &mut ours,
        );
        let mut theirs = Vec::new();
        for (k, (before, after)) in &far {
            for start in hood.start..=hood.end - k.len() {
                if hay[start..start + k.len()].eq_ignore_ascii_case(k.as_bytes()) {
                    let end = start + k.len();
                    theirs.push(start.saturating_sub(*before)..(end + after).min(hay.len()));
                }
            }
        }
        let key = |r: &Range<usize>| (r.start, r.end);
        ours.sort_by_key(key);
        theirs.sort_by_key(key);
        assert!(theirs.len() > 1000);
        assert_eq!(ours, theirs);
    }

    /// A far rule (a private key: its keyword may sit kilobytes above the secret) is found
    /// when only the last lines of the key changed, beyond the near margin.
    #[test]
    fn far_rules_widen_the_region_to_their_keyword() {
        let matcher = Matcher::new(RuleSet::builtin()).expect("rules");
        let reach = Reach::new(&matcher);
        let body = |seed: u32, lines: usize| -> String {
            let mut x = seed;
            let chars = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            (0..lines)
                .map(|_| {
                    let line: String = (0..64)
                        .map(|_| {
                            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                            chars[(x >> 16) as usize % 64] as char
                        })
                        .collect();
                    line + "\n"
                })
                .collect()
        };
        let filler: String = (0..400).map(|i| format!("# comment line {i}\n")).collect();
        let key = |seed| {
            format!(
                "-----BEGIN RSA PRIVATE KEY-----\n{}{}-----END RSA PRIVATE KEY-----\n",
                body(7, 50),
                body(seed, 4)
            )
        };
        let old = format!("{filler}{}{filler}", key(1));
        let new = format!("{filler}{}{filler}", key(2));
        let added = added_lines(new.as_bytes(), &[old.as_bytes()]);
        let begin = new.find("-----BEGIN").expect("key");
        assert!(
            added[0].start - begin > NEAR_LIMIT,
            "the keyword is beyond the near margin"
        );
        let regions = reach.regions(new.as_bytes(), &added);
        assert!(regions.iter().any(|r| r.contains(&begin)), "{regions:?}");
        let whole = blob_findings(&matcher, &mut Scratch::new(), new.as_bytes());
        assert!(!whole.is_empty(), "the key is a finding in the whole blob");
        let found = region_findings(&matcher, &mut Scratch::new(), new.as_bytes(), &regions);
        let key_of = |fs: &[BlobFinding]| fs.iter().map(|f| (f.rule, f.line)).collect::<Vec<_>>();
        assert_eq!(key_of(&found), key_of(&whole));
    }
}
