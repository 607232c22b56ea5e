//! Building the [`Forest`]: which trees lead to a blob of interest, found in as few passes over
//! the trees as their shape allows, holding at no point every entry of every tree.
//!
//! Whether a tree leads to a blob of interest (is *relevant*) is known bottom-up, while the
//! object pass hands trees over in pack order. Keeping every tree whole until that is known
//! costs memory that grows with commits × tree width: every commit that changes one file in
//! a directory of 2,500 subdirectories writes a new tree of 2,500 entries. So:
//!
//! 1. The first pass keeps each *narrow* tree (at most [`NARROW`] subtrees) whole: its
//!    subtrees and its blobs of interest. Of a *wide* tree it keeps only the blobs of
//!    interest, and adds its subtrees' ids to one set of distinct ids, which grows with the
//!    number of trees, not with their entries. (Wide trees are kept whole too while a small
//!    budget of entries lasts, see [`WIDE_PER_TREE`]: where they are few, that spares the
//!    passes below.)
//! 2. Relevance spreads upward through the narrow trees in memory. When trees that some wide
//!    tree holds become relevant, one more pass keeps, of each wide tree, the entries that
//!    name them; what that makes relevant spreads again. Each such pass climbs one level of
//!    wide trees: typical repositories have none or one, and after [`MAX_CLIMBS`] a last pass
//!    keeps every subtree entry of every wide tree, so a hostile repository cannot make the
//!    passes go on.
//! 3. The relevant trees are compacted, each with only its relevant entries.
//!
//! A subtree that the database lacks counts as relevant, so that the diffs still meet it and
//! name it.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::{BLOB, Entry, Forest, IdBuild, prefix};
use crate::changed::{common_prefix, common_suffix};
use crate::delta::Outcome;
use crate::id::{BlobId, CommitId, TreeId};
use crate::objects::{Base, ObjectDb, PassOptions, Stage, Visit};
use crate::parse::{self, EntryKind};
use crate::progress::Progress;
use crate::stats::ScanStats;

/// A tree with more subtrees than this is *wide*: the first pass does not keep its subtrees.
pub(super) const NARROW: usize = 64;
/// Subtree entries of wide trees the first pass keeps whole all the same, as narrow ones,
/// while they last: then the wide trees need no pass of their own. Keeping an entry costs
/// more than a pass reading it, so this is worth it only while wide trees hold few of the
/// entries: at most this many per tree of the repository (git/git: 0.7 million in wide
/// trees, 4 per tree, and one pass instead of two saves a fifth of the tree time; the
/// synthetic repository: 5.1 million, 88 per tree, and keeping them was slower)…
pub(super) const WIDE_PER_TREE: usize = 8;
/// …and at most this many in all (12 bytes each).
pub(super) const WIDE_BUDGET: usize = 8 << 20;
/// Subtree entries the first pass may list in its records of wide trees (16 bytes each):
/// the climbs then replay them instead of reading the trees again. Past it, they read.
const RECORD_BUDGET: usize = 2 << 20;
/// Passes that climb one level of wide trees each, before the last pass keeps them whole.
pub(super) const MAX_CLIMBS: usize = 16;
/// In a chunk's entries, a subtree is named by its number (looked up once, by the workers),
/// a blob of interest by [`BLOB`] | its number, and a subtree the database lacks by this |
/// its place in [`Chunk::missing`]. [`compact`] turns them into the forest's form.
const MISSING: u64 = 1 << 62;
/// Slots of [`Chunk::recent`].
const RECENT: usize = 1 << 14;

/// Something that hands every tree of a repository to a visitor: the object database, or a
/// list of trees in tests.
pub(crate) trait TreeSource {
    /// One pass over every tree; `first` is true for the first pass of a build (the one
    /// whose progress and counts are reported).
    fn each_tree<V: Visit>(&self, visit: &V, first: bool) -> ScanStats;
}

/// The trees of an object database, rebuilt base first by the object pass.
pub(crate) struct DbTrees<'a> {
    /// The packs and loose objects.
    pub db: &'a ObjectDb,
    /// Reads what a delta-tree walk could not.
    pub odb: &'a gix::ThreadSafeRepository,
    /// Threads and limits of the pass.
    pub pass: PassOptions,
    /// The workers.
    pub pool: &'a rayon::ThreadPool,
    /// Progress of the first pass.
    pub progress: &'a Progress,
}

impl TreeSource for DbTrees<'_> {
    fn each_tree<V: Visit>(&self, visit: &V, first: bool) -> ScanStats {
        let quiet = Progress::new();
        let progress = if first { self.progress } else { &quiet };
        self.db.run(
            Stage::Trees,
            self.odb,
            self.pass,
            self.pool,
            visit,
            progress,
        )
    }
}

/// What one worker kept of the trees it rebuilt in one pass, with its own name numbering.
#[derive(Default)]
struct Chunk {
    names: HashMap<Vec<u8>, u32, IdBuild>,
    entries: Vec<Entry>,
    /// Id prefixes of missing subtrees (see [`MISSING`]).
    missing: Vec<u64>,
    /// Subtree numbers looked up lately, by the low bits of the prefix: successive versions
    /// of a tree share nearly all their subtrees, and this spares most lookups in the map of
    /// every tree (empty until the first lookup).
    resolved: Vec<(u64, u32)>,
    /// (tree, start, len) into `entries`; trees that kept nothing are left out.
    trees: Vec<(u32, u32, u32)>,
    /// Wide trees met (first pass).
    wide: Vec<u32>,
    /// Distinct subtrees of the wide trees met (first pass).
    wide_children: HashSet<u64, IdBuild>,
    /// The subtrees most recently added to `wide_children`, by their low bits: successive
    /// versions of a wide tree share nearly all their subtrees, and this skips hashing them
    /// again (empty until the first wide tree).
    recent: Vec<u64>,
    /// The subtrees of the tree being read, held back until it is known to be narrow:
    /// (end of the name in `held_names`, id prefix).
    held: Vec<(usize, u64)>,
    held_names: Vec<u8>,
    /// Distinct submodule commits (first pass).
    gitlinks: HashSet<[u8; 20], IdBuild>,
    /// The last wide tree this worker read in this pass, to read the next against.
    prev: Prev,
    /// Entry starts of the tree being read (see [`Prev::starts`]).
    starts: Vec<u32>,
    /// Entries kept of the tree being read: start and target.
    kept: Vec<(u32, u64)>,
    /// First pass: how each wide tree it did not keep whole reads, in the order read, so
    /// that climbing needs no pass of its own (see [`Wide`]).
    wides: Vec<Wide>,
    /// The subtree entries the records list: name, id prefix, place in the tree.
    wide_subs: Vec<(u32, u64, u32)>,
}

/// How a wide tree of the first pass reads: in full (its subtree entries), or as the one
/// recorded before it in the same chunk (the last wide tree that worker read) with entries
/// `head..tail` of that one replaced by the entries listed here. Replaying a chunk's
/// records gives, for any set of trees, the entries of each wide tree that name one of
/// them: what a climbing pass would read, without reading the trees again.
struct Wide {
    tree: u32,
    /// Lists every subtree entry; else read against the record before it.
    fresh: bool,
    head: u32,
    tail: u32,
    /// Its number of entries.
    len: u32,
    /// Its entries in `wide_subs`.
    subs: Range<u32>,
}

impl Chunk {
    fn push(&mut self, name: &[u8], target: u64) {
        let n = self.intern(name);
        self.entries.push(Entry::new(n, target));
    }

    /// The chunk's number of a name.
    fn intern(&mut self, name: &[u8]) -> u32 {
        match self.names.get(name) {
            Some(&n) => n,
            None => {
                let n = self.names.len() as u32;
                self.names.insert(name.to_vec(), n);
                n
            }
        }
    }

    fn wide_child(&mut self, p: u64) {
        if self.recent.is_empty() {
            self.recent = vec![u64::MAX; RECENT]; // never a prefix: their top bit is clear
        }
        let slot = &mut self.recent[p as usize & (RECENT - 1)];
        if *slot != p {
            *slot = p;
            self.wide_children.insert(p);
        }
    }

    fn close(&mut self, tree: u32, start: usize) {
        let len = self.entries.len() - start;
        if len > 0 {
            self.trees.push((tree, start as u32, len as u32));
        }
    }
}

/// Tree ids by number and by prefix, and the blobs of interest.
struct Known<'a> {
    index: HashMap<TreeId, u32, IdBuild>,
    by_prefix: HashMap<u64, u32, IdBuild>,
    /// Each tree number's id prefix.
    prefixes: Vec<u64>,
    interest: &'a HashMap<BlobId, u32, IdBuild>,
}

impl<'a> Known<'a> {
    /// How a chunk's entry names the subtree with id prefix `p` (see [`MISSING`]).
    fn subtree(&self, p: u64, chunk: &mut Chunk) -> u64 {
        if chunk.resolved.is_empty() {
            chunk.resolved = vec![(u64::MAX, 0); RECENT]; // never a prefix
        }
        let slot = p as usize & (RECENT - 1);
        if chunk.resolved[slot].0 == p {
            return u64::from(chunk.resolved[slot].1);
        }
        match self.by_prefix.get(&p) {
            Some(&c) => {
                chunk.resolved[slot] = (p, c);
                u64::from(c)
            }
            None => {
                chunk.missing.push(p);
                MISSING | (chunk.missing.len() - 1) as u64
            }
        }
    }

    fn new(trees: Vec<TreeId>, interest: &'a HashMap<BlobId, u32, IdBuild>) -> Self {
        let mut index: HashMap<TreeId, u32, IdBuild> =
            HashMap::with_capacity_and_hasher(trees.len(), IdBuild::default());
        let mut prefixes = Vec::with_capacity(trees.len());
        for t in trees {
            let next = index.len() as u32;
            index.entry(t).or_insert_with(|| {
                prefixes.push(prefix(t.as_bytes()));
                next
            });
        }
        let by_prefix = index
            .iter()
            .map(|(id, &i)| (prefix(id.as_bytes()), i))
            .collect();
        Known {
            index,
            by_prefix,
            prefixes,
            interest,
        }
    }
}

/// The first pass: narrow trees whole, wide trees' blobs of interest.
struct Survey<'a> {
    known: &'a Known<'a>,
    chunks: Mutex<Vec<Chunk>>,
    /// Subtree entries of wide trees that may still be kept whole, as narrow ones are.
    wide_budget: AtomicUsize,
    /// Subtree entries the chunks' [`Wide`] records may still list…
    record_budget: AtomicUsize,
    /// …and whether some were left out (then climbing reads the trees again).
    unrecorded: AtomicBool,
}

impl Survey<'_> {
    /// Records how wide tree `tree` reads (see [`Wide`]): `subs` are its listed subtree
    /// entries (name, id prefix, place).
    fn record<'d>(
        &self,
        chunk: &mut Chunk,
        mut wide: Wide,
        subs: impl ExactSizeIterator<Item = (&'d [u8], u64, u32)>,
    ) {
        let n = subs.len();
        if self.unrecorded.load(Ordering::Relaxed)
            || self
                .record_budget
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                    left.checked_sub(n)
                })
                .is_err()
        {
            self.unrecorded.store(true, Ordering::Relaxed);
            return;
        }
        let from = chunk.wide_subs.len() as u32;
        for (name, p, place) in subs {
            let name = chunk.intern(name);
            chunk.wide_subs.push((name, p, place));
        }
        wide.subs = from..chunk.wide_subs.len() as u32;
        chunk.wides.push(wide);
    }
}

/// A climbing pass: of each wide tree, the subtree entries naming a tree in `pending` (every
/// subtree entry when `None`).
struct Climb<'a> {
    known: &'a Known<'a>,
    wide: &'a [bool],
    pending: Option<&'a HashSet<u64, IdBuild>>,
    chunks: Mutex<Vec<Chunk>>,
}

/// The parts of [`Visit`] that tree passes do not use.
macro_rules! trees_only {
    () => {
        type State = Chunk;

        fn state(&self) -> Chunk {
            Chunk::default()
        }

        fn blob(&self, _: &mut Chunk, _: BlobId, _: &[u8], _: Base<'_>) -> Outcome {
            Outcome::default()
        }

        fn commit(&self, _: &mut Chunk, _: CommitId, _: &[u8]) {}

        fn finish(&self, chunk: Chunk) {
            if let Ok(mut chunks) = self.chunks.lock() {
                chunks.push(chunk);
            }
        }
    };
}

impl Visit for Survey<'_> {
    trees_only!();

    fn tree(&self, chunk: &mut Chunk, id: TreeId, data: &[u8]) {
        let Some(&me) = self.known.index.get(&id) else {
            return;
        };
        if self.wide_against_prev(chunk, me, data) {
            return;
        }
        let start = chunk.entries.len();
        chunk.held.clear();
        chunk.held_names.clear();
        chunk.starts.clear();
        chunk.kept.clear();
        let mut entries = parse::tree(data);
        loop {
            let at = (data.len() - entries.remaining()) as u32;
            let Some(e) = entries.next() else {
                break;
            };
            match e.kind {
                EntryKind::Tree => {
                    chunk.starts.push(at | SUB);
                    chunk.held_names.extend_from_slice(e.name);
                    chunk.held.push((chunk.held_names.len(), prefix(&e.id)));
                }
                EntryKind::Blob => {
                    chunk.starts.push(at);
                    if let Some(&b) = self.known.interest.get(&BlobId::from_bytes(e.id)) {
                        chunk.push(e.name, BLOB | u64::from(b));
                        chunk.kept.push((at, BLOB | u64::from(b)));
                    }
                }
                EntryKind::Gitlink => {
                    chunk.starts.push(at);
                    chunk.gitlinks.insert(e.id);
                }
            }
        }
        let subtrees = chunk.held.len();
        let whole = subtrees <= NARROW
            || self
                .wide_budget
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                    left.checked_sub(subtrees)
                })
                .is_ok();
        if whole {
            let (held, names) = (
                std::mem::take(&mut chunk.held),
                std::mem::take(&mut chunk.held_names),
            );
            let mut from = 0;
            for &(to, p) in &held {
                let target = self.known.subtree(p, chunk);
                chunk.push(&names[from..to], target);
                from = to;
            }
            (chunk.held, chunk.held_names) = (held, names);
        } else {
            chunk.wide.push(me);
            let (held, names, starts) = (
                std::mem::take(&mut chunk.held),
                std::mem::take(&mut chunk.held_names),
                std::mem::take(&mut chunk.starts),
            );
            for &(_, q) in &held {
                chunk.wide_child(q);
            }
            let places = (0..starts.len() as u32).filter(|&i| starts[i as usize] & SUB != 0);
            let ends = held.iter().map(|&(to, _)| to);
            let froms = std::iter::once(0).chain(ends.clone());
            let subs = held
                .iter()
                .zip(froms.zip(ends))
                .zip(places)
                .map(|((&(_, p), (from, to)), place)| (&names[from..to], p, place));
            let wide = Wide {
                tree: me,
                fresh: true,
                head: 0,
                tail: 0,
                len: starts.len() as u32,
                subs: 0..0,
            };
            self.record(chunk, wide, subs.collect::<Vec<_>>().into_iter());
            (chunk.held, chunk.held_names, chunk.starts) = (held, names, starts);
            chunk.remember(data, subtrees, entries.malformed);
        }
        chunk.close(me, start);
    }
}

impl Survey<'_> {
    /// Reads a wide tree against the last wide tree this worker read (see [`Prev`]): only
    /// the entries between their common start and end are looked at, since the others'
    /// subtrees are in `wide_children` already. False (nothing done) when that cannot be
    /// done or the tree is to be kept whole.
    fn wide_against_prev(&self, chunk: &mut Chunk, me: u32, data: &[u8]) -> bool {
        let mut middle = std::mem::take(&mut chunk.starts);
        let Some((head, tail)) = chunk.prev.against(data, &mut middle) else {
            chunk.starts = middle;
            return false;
        };
        let prev = std::mem::take(&mut chunk.prev);
        let subtrees = prev.subtrees + subtrees_in(&middle) - subtrees_in(&prev.starts[head..tail]);
        if subtrees <= NARROW || self.wide_budget.load(Ordering::Relaxed) >= subtrees {
            // Kept whole (or narrow): read in full.
            (chunk.prev, chunk.starts) = (prev, middle);
            return false;
        }
        let start = chunk.entries.len();
        chunk.kept.clear();
        let [before, after] = prev.kept_around(head, tail);
        for &(at, target) in before {
            chunk.keep_at(data, at, target);
        }
        let mut subs: Vec<(&[u8], u64, u32)> = Vec::new();
        for (m, &at) in middle.iter().enumerate() {
            let Some(e) = entry_at(data, at) else {
                continue;
            };
            match e.kind {
                EntryKind::Tree => {
                    chunk.wide_child(prefix(&e.id));
                    subs.push((e.name, prefix(&e.id), (head + m) as u32));
                }
                EntryKind::Blob => {
                    if let Some(&b) = self.known.interest.get(&BlobId::from_bytes(e.id)) {
                        chunk.keep_at(data, at & !SUB, BLOB | u64::from(b));
                    }
                }
                EntryKind::Gitlink => {
                    chunk.gitlinks.insert(e.id);
                }
            }
        }
        let shift = prev.shift(data);
        for &(at, target) in after {
            chunk.keep_at(data, shifted(at, shift), target);
        }
        chunk.wide.push(me);
        chunk.close(me, start);
        let wide = Wide {
            tree: me,
            fresh: false,
            head: head as u32,
            tail: tail as u32,
            len: (head + middle.len() + prev.starts.len() - tail) as u32,
            subs: 0..0,
        };
        self.record(chunk, wide, subs.into_iter());
        chunk.starts = prev.starts_of(head, tail, &middle, shift);
        chunk.prev = prev;
        chunk.remember(data, subtrees, false);
        chunk.starts = middle;
        true
    }
}

impl Visit for Climb<'_> {
    trees_only!();

    fn tree(&self, chunk: &mut Chunk, id: TreeId, data: &[u8]) {
        let Some(&me) = self.known.index.get(&id) else {
            return;
        };
        if !self.wide.get(me as usize).copied().unwrap_or(false) {
            return;
        }
        let start = chunk.entries.len();
        chunk.kept.clear();
        let mut middle = std::mem::take(&mut chunk.starts);
        if let Some((head, tail)) = chunk.prev.against(data, &mut middle) {
            // Only the entries between the common start and end of this tree and the last
            // wide tree read can name something else than that one's did.
            let prev = std::mem::take(&mut chunk.prev);
            let [before, after] = prev.kept_around(head, tail);
            for &(at, target) in before {
                chunk.keep_at(data, at, target);
            }
            for &at in &middle {
                if at & SUB != 0 {
                    let at = at & !SUB;
                    if let Some(e) = entry_at(data, at) {
                        self.climb(chunk, at, &e);
                    }
                }
            }
            let shift = prev.shift(data);
            for &(at, target) in after {
                chunk.keep_at(data, shifted(at, shift), target);
            }
            chunk.starts = prev.starts_of(head, tail, &middle, shift);
            chunk.prev = prev;
            chunk.remember(data, 0, false);
            chunk.starts = middle;
        } else {
            middle.clear();
            chunk.starts = middle;
            let mut entries = parse::tree(data);
            loop {
                let at = (data.len() - entries.remaining()) as u32;
                let Some(e) = entries.next() else {
                    break;
                };
                if e.kind != EntryKind::Tree {
                    chunk.starts.push(at);
                    continue;
                }
                chunk.starts.push(at | SUB);
                self.climb(chunk, at, &e);
            }
            chunk.remember(data, 0, entries.malformed);
        }
        chunk.close(me, start);
    }
}

impl Climb<'_> {
    /// Keeps a subtree entry (at `at`) when it names a pending tree.
    fn climb(&self, chunk: &mut Chunk, at: u32, e: &parse::Entry<'_>) {
        let p = prefix(&e.id);
        if self.pending.is_some_and(|pending| !pending.contains(&p)) {
            return;
        }
        let target = self.known.subtree(p, chunk);
        chunk.push(e.name, target);
        chunk.kept.push((at, target));
    }
}

/// An entry a pass kept: where it starts in its tree, and its target.
type Kept = (u32, u64);

/// In [`Prev::starts`]: the entry is a subtree.
const SUB: u32 = 1 << 31;

/// The last wide tree a worker read in a pass. Successive versions of a wide tree differ in
/// an entry or two, so the next is read against it: their common start and end (compared as
/// bytes) hold the same entries, and only the entries between are parsed. Where the parse
/// of the new tree comes back in step with the old one's entries inside their common end is
/// checked against the old one's entry starts, so the result is exact for any two trees.
#[derive(Default)]
struct Prev {
    /// Holds a tree; else the next wide tree is read in full.
    valid: bool,
    bytes: Vec<u8>,
    /// Where each entry starts, | [`SUB`] for a subtree.
    starts: Vec<u32>,
    /// Its subtree entries (first pass).
    subtrees: usize,
    /// The entries the pass kept of it: start and target.
    kept: Vec<(u32, u64)>,
}

impl Prev {
    /// Parses the entries of `data` that differ from this tree's into `middle` (their starts,
    /// | [`SUB`] for a subtree): `data`'s other entries are this tree's before entry `head`,
    /// and from entry `tail` on (moved by [`Prev::shift`]). `None` when there is no tree to
    /// read against or `data` is malformed there.
    fn against(&self, data: &[u8], middle: &mut Vec<u32>) -> Option<(usize, usize)> {
        if !self.valid || data.len() >= SUB as usize {
            return None;
        }
        let old = &self.bytes;
        let n = self.starts.len();
        let at = |i: usize| (self.starts[i] & !SUB) as usize;
        let same_start = common_prefix(old, data);
        let same_end = common_suffix(&old[same_start..], &data[same_start..]);
        // Entries that end within the common start are the same entries.
        let head = if same_start == old.len() {
            n
        } else {
            self.starts
                .partition_point(|&x| (x & !SUB) as usize <= same_start)
                .saturating_sub(1)
        };
        let mut pos = if head < n { at(head) } else { old.len() };
        let in_end = data.len() - same_end;
        middle.clear();
        let mut entries = parse::tree(data.get(pos..)?);
        loop {
            if pos >= in_end {
                // The rest of `data` is the rest of the old tree from `then`: in step when
                // an old entry starts there.
                let then = pos + old.len() - data.len();
                if then == old.len() {
                    return Some((head, n));
                }
                if let Ok(j) = self
                    .starts
                    .binary_search_by_key(&then, |&x| (x & !SUB) as usize)
                {
                    return Some((head, j));
                }
            }
            let e = entries.next()?;
            middle.push(pos as u32 | if e.kind == EntryKind::Tree { SUB } else { 0 });
            pos = data.len() - entries.remaining();
        }
    }

    /// How far the entries from `tail` on moved in `data`.
    fn shift(&self, data: &[u8]) -> isize {
        data.len() as isize - self.bytes.len() as isize
    }

    /// The kept entries before entry `head`, and from entry `tail` on.
    fn kept_around(&self, head: usize, tail: usize) -> [&[Kept]; 2] {
        let bound = |i: usize| {
            self.starts
                .get(i)
                .map_or(self.bytes.len() as u32, |&x| x & !SUB)
        };
        let (h, t) = (bound(head), bound(tail));
        let before = self.kept.partition_point(|&(at, _)| at < h);
        let after = self.kept.partition_point(|&(at, _)| at < t);
        [&self.kept[..before], &self.kept[after..]]
    }

    /// The entry starts of the tree read against this one.
    fn starts_of(&self, head: usize, tail: usize, middle: &[u32], shift: isize) -> Vec<u32> {
        let mut out = Vec::with_capacity(head + middle.len() + self.starts.len() - tail);
        out.extend_from_slice(&self.starts[..head]);
        out.extend_from_slice(middle);
        out.extend(self.starts[tail..].iter().map(|&x| {
            let moved = shifted(x & !SUB, shift);
            moved | (x & SUB)
        }));
        out
    }
}

/// An entry start moved by `shift` bytes.
fn shifted(at: u32, shift: isize) -> u32 {
    (at as isize + shift) as u32
}

/// How many of these entry starts begin subtrees.
fn subtrees_in(starts: &[u32]) -> usize {
    starts.iter().filter(|&&x| x & SUB != 0).count()
}

/// The entry of `data` that starts at `at` (| [`SUB`] allowed).
fn entry_at(data: &[u8], at: u32) -> Option<parse::Entry<'_>> {
    parse::tree(data.get((at & !SUB) as usize..)?).next()
}

impl Chunk {
    /// Keeps the entry at `at` of `data` (with its name) pointing at `target`.
    fn keep_at(&mut self, data: &[u8], at: u32, target: u64) {
        if let Some(e) = entry_at(data, at) {
            self.push(e.name, target);
            self.kept.push((at, target));
        }
    }

    /// Makes `data` the tree the next wide tree is read against, with the entry starts in
    /// `starts` and the entries kept in `kept`.
    fn remember(&mut self, data: &[u8], subtrees: usize, malformed: bool) {
        let prev = &mut self.prev;
        prev.valid = !malformed && data.len() < SUB as usize;
        prev.bytes.clear();
        prev.bytes.extend_from_slice(data);
        std::mem::swap(&mut prev.starts, &mut self.starts);
        std::mem::swap(&mut prev.kept, &mut self.kept);
        prev.subtrees = subtrees;
    }
}

/// An entry a replayed climb keeps: its place in its tree, its name and its target.
type Carried = (u32, u32, u64);

/// A climb without a pass: of each wide tree the first pass recorded, the entries naming a
/// tree in `pending`, as [`Climb`] keeps them, from the records of each chunk replayed in
/// order (a record read against another carries over that one's kept entries).
fn replay(known: &Known<'_>, first: &[Chunk], pending: &HashSet<u64, IdBuild>) -> Vec<Chunk> {
    first
        .iter()
        .filter(|c| !c.wides.is_empty())
        .map(|c| {
            let mut names: Vec<&[u8]> = vec![&[]; c.names.len()];
            for (name, &i) in &c.names {
                names[i as usize] = name;
            }
            let mut out = Chunk::default();
            // (place, name, target) of the last record's kept entries, and of this one's.
            let (mut kept, mut next): (Vec<Carried>, Vec<Carried>) = (Vec::new(), Vec::new());
            let mut last_len = 0u32;
            for w in &c.wides {
                next.clear();
                if !w.fresh {
                    next.extend(kept.iter().filter(|k| k.0 < w.head));
                }
                for &(name, p, place) in &c.wide_subs[w.subs.start as usize..w.subs.end as usize] {
                    if pending.contains(&p) {
                        next.push((place, name, known.subtree(p, &mut out)));
                    }
                }
                if !w.fresh {
                    let moved = |place: u32| {
                        (i64::from(place) + i64::from(w.len) - i64::from(last_len)) as u32
                    };
                    next.extend(
                        kept.iter()
                            .filter(|k| k.0 >= w.tail)
                            .map(|&(place, name, target)| (moved(place), name, target)),
                    );
                }
                let start = out.entries.len();
                for &(_, name, target) in &next {
                    out.push(names[name as usize], target);
                }
                out.close(w.tree, start);
                std::mem::swap(&mut kept, &mut next);
                last_len = w.len;
            }
            out
        })
        .collect()
}

/// The subtree number a chunk's entry names, if it names one the database has.
fn child(target: u64) -> Option<u32> {
    (target & (BLOB | MISSING) == 0).then_some(target as u32)
}

/// Which trees are relevant so far, and the narrow trees' edges reversed to spread it.
struct Relevance {
    relevant: Vec<bool>,
    /// Narrow parents of tree `c`: `parents[offsets[c]..offsets[c + 1]]`.
    offsets: Vec<u32>,
    parents: Vec<u32>,
    /// Trees made relevant since the last climb.
    fresh: Vec<u32>,
}

impl Relevance {
    /// Marks `tree` and every narrow tree above it.
    fn mark(&mut self, tree: u32) {
        let mut stack = vec![tree];
        while let Some(t) = stack.pop() {
            let Some(flag) = self.relevant.get_mut(t as usize) else {
                continue;
            };
            if *flag {
                continue;
            }
            *flag = true;
            self.fresh.push(t);
            let (a, b) = (self.offsets[t as usize], self.offsets[t as usize + 1]);
            stack.extend_from_slice(&self.parents[a as usize..b as usize]);
        }
    }

    fn is(&self, tree: u32) -> bool {
        self.relevant.get(tree as usize).copied().unwrap_or(false)
    }
}

/// Builds the forest of the trees that lead to `blobs` (the blobs of interest, numbered by
/// position), reading the trees from `source`. Returns it with the first pass's counts and
/// the number of passes made.
pub(crate) fn build<S: TreeSource>(
    source: &S,
    trees: Vec<TreeId>,
    blobs: Vec<BlobId>,
) -> (Forest, ScanStats, usize) {
    build_with(source, trees, blobs, RECORD_BUDGET)
}

/// [`build`], with room for `record_budget` subtree entries in the records of wide trees
/// (none: every climb is a pass).
pub(super) fn build_with<S: TreeSource>(
    source: &S,
    trees: Vec<TreeId>,
    blobs: Vec<BlobId>,
    record_budget: usize,
) -> (Forest, ScanStats, usize) {
    if blobs.is_empty() {
        return (Forest::empty(), ScanStats::default(), 0);
    }
    let interest: HashMap<BlobId, u32, IdBuild> = blobs
        .iter()
        .enumerate()
        .map(|(i, b)| (*b, i as u32))
        .collect();
    let known = Known::new(trees, &interest);
    let n = known.prefixes.len();

    let survey = Survey {
        known: &known,
        chunks: Mutex::default(),
        wide_budget: AtomicUsize::new((WIDE_PER_TREE * n).min(WIDE_BUDGET)),
        record_budget: AtomicUsize::new(record_budget),
        unrecorded: AtomicBool::new(false),
    };
    let stats = source.each_tree(&survey, true);
    let recorded = !survey.unrecorded.load(Ordering::Relaxed);
    let mut first = survey
        .chunks
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());

    // Per tree: where the first pass kept it (the first copy, if a tree came twice).
    let mut place = vec![(u32::MAX, 0u32, 0u32); n];
    let mut wide = vec![false; n];
    let mut wide_children: HashSet<u64, IdBuild> = HashSet::default();
    let mut gitlinks: HashSet<[u8; 20], IdBuild> = HashSet::default();
    for (k, c) in first.iter_mut().enumerate() {
        for &(tree, start, len) in &c.trees {
            if place[tree as usize].0 == u32::MAX {
                place[tree as usize] = (k as u32, start, len);
            }
        }
        for &t in &c.wide {
            wide[t as usize] = true;
        }
        let set = std::mem::take(&mut c.wide_children);
        if set.len() > wide_children.len() {
            let small = std::mem::replace(&mut wide_children, set);
            wide_children.extend(small);
        } else {
            wide_children.extend(set);
        }
        gitlinks.extend(c.gitlinks.drain());
        c.wide = Vec::new();
        c.recent = Vec::new();
        c.resolved = Vec::new();
        c.held = Vec::new();
        c.held_names = Vec::new();
        c.prev = Prev::default();
        c.starts = Vec::new();
        c.kept = Vec::new();
    }

    // The narrow trees' edges, reversed; trees holding a blob of interest or a missing
    // subtree are where relevance starts.
    let children = |t: usize| -> &[Entry] {
        let (k, start, len) = place[t];
        if k == u32::MAX {
            return &[];
        }
        &first[k as usize].entries[start as usize..(start + len) as usize]
    };
    let mut offsets = vec![0u32; n + 1];
    let mut sources = Vec::new();
    for t in 0..n {
        for e in children(t) {
            match child(e.target()) {
                Some(c) => offsets[c as usize + 1] += 1,
                None => sources.push(t as u32), // a blob of interest, or a missing subtree
            }
        }
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let mut parents = vec![0u32; offsets[n] as usize];
    let mut fill = offsets.clone();
    for t in 0..n {
        for e in children(t) {
            if let Some(c) = child(e.target()) {
                parents[fill[c as usize] as usize] = t as u32;
                fill[c as usize] += 1;
            }
        }
    }
    drop(fill);
    let mut rel = Relevance {
        relevant: vec![false; n],
        offsets,
        parents,
        fresh: Vec::new(),
    };
    for t in sources {
        rel.mark(t);
    }

    // Climb the wide trees while what became relevant sits in one of them.
    let missing: HashSet<u64, IdBuild> = wide_children
        .iter()
        .filter(|p| !known.by_prefix.contains_key(p))
        .copied()
        .collect();
    let mut climbed: Vec<Chunk> = Vec::new();
    let mut passes = 1;
    for round in 0.. {
        let mut pending: HashSet<u64, IdBuild> = rel
            .fresh
            .drain(..)
            .map(|t| known.prefixes[t as usize])
            .filter(|p| wide_children.contains(p))
            .collect();
        if round == 0 {
            pending.extend(missing.iter().copied());
        }
        if pending.is_empty() {
            break;
        }
        let last = round == MAX_CLIMBS;
        let chunks = if recorded && !last {
            replay(&known, &first, &pending)
        } else {
            let climb = Climb {
                known: &known,
                wide: &wide,
                pending: (!last).then_some(&pending),
                chunks: Mutex::default(),
            };
            source.each_tree(&climb, false);
            passes += 1;
            climb.chunks.into_inner().unwrap_or_else(|e| e.into_inner())
        };
        for c in &chunks {
            for &(tree, _, _) in &c.trees {
                rel.mark(tree);
            }
        }
        climbed.extend(chunks);
        if last {
            break;
        }
    }
    drop(wide_children);
    // Relevance is settled: free the reversed edges before the compact copy is made.
    (rel.offsets, rel.parents) = (Vec::new(), Vec::new());

    let forest = compact(known, &first, &place, &climbed, &rel, blobs, gitlinks);
    (forest, stats, passes)
}

/// The relevant trees, each with its relevant entries only, under one name numbering.
fn compact(
    known: Known<'_>,
    first: &[Chunk],
    place: &[(u32, u32, u32)],
    climbed: &[Chunk],
    rel: &Relevance,
    blobs: Vec<BlobId>,
    gitlinks: HashSet<[u8; 20], IdBuild>,
) -> Forest {
    let keep = |e: &Entry| child(e.target()).is_none_or(|c| rel.is(c));
    // Every chunk of both kinds, by one index: first-pass chunks, then climbing ones.
    let chunks: Vec<&Chunk> = first.iter().chain(climbed).collect();
    let mut pieces: Vec<(u32, u32, u32, u32)> = Vec::new(); // tree, chunk, start, len
    for (t, &(k, start, len)) in place.iter().enumerate() {
        if k != u32::MAX && rel.is(t as u32) {
            pieces.push((t as u32, k, start, len));
        }
    }
    for (k, c) in climbed.iter().enumerate() {
        for &(tree, start, len) in &c.trees {
            pieces.push((tree, (first.len() + k) as u32, start, len));
        }
    }
    pieces.sort_unstable();

    // The names the kept entries use, numbered in byte order.
    let locals: Vec<Vec<&[u8]>> = chunks
        .iter()
        .map(|c| {
            let mut v: Vec<&[u8]> = vec![&[]; c.names.len()];
            for (name, &i) in &c.names {
                v[i as usize] = name;
            }
            v
        })
        .collect();
    // Which local names each chunk's kept entries use, then one byte-ordered numbering.
    let mut seen: Vec<Vec<bool>> = chunks.iter().map(|c| vec![false; c.names.len()]).collect();
    for &(_, k, start, len) in &pieces {
        let c = chunks[k as usize];
        let range = start as usize..(start + len) as usize;
        for e in c.entries[range].iter().filter(|e| keep(e)) {
            seen[k as usize][e.name as usize] = true;
        }
    }
    let mut used: Vec<&[u8]> = Vec::new();
    for (names, seen) in locals.iter().zip(&seen) {
        used.extend(names.iter().zip(seen).filter(|(_, s)| **s).map(|(n, _)| *n));
    }
    used.sort_unstable();
    used.dedup();
    // Per chunk: local name number to the shared one.
    let remap: Vec<Vec<u32>> = locals
        .iter()
        .zip(&seen)
        .map(|(names, seen)| {
            names
                .iter()
                .zip(seen)
                .map(|(n, &s)| {
                    if s {
                        used.binary_search(n).unwrap_or(0) as u32
                    } else {
                        0
                    }
                })
                .collect()
        })
        .collect();
    drop(seen);

    let mut out_place = vec![(0u32, 0u32); place.len()];
    let mut entries: Vec<Entry> = Vec::new();
    let mut i = 0;
    while i < pieces.len() {
        let tree = pieces[i].0;
        let start = entries.len();
        while i < pieces.len() && pieces[i].0 == tree {
            let (_, k, s, len) = pieces[i];
            let (names, c) = (&remap[k as usize], chunks[k as usize]);
            let range = s as usize..(s + len) as usize;
            for e in c.entries[range].iter().filter(|e| keep(e)) {
                let name = names[e.name as usize];
                let t = e.target();
                let target = match child(t) {
                    Some(c) => known.prefixes[c as usize],
                    None if t & BLOB != 0 => t,
                    None => c.missing[(t & !MISSING) as usize],
                };
                entries.push(Entry::new(name, target));
            }
            i += 1;
        }
        let list = &mut entries[start..];
        list.sort_unstable();
        let mut len = list.len();
        if len > 1 {
            // Dedup in place (a tree met twice, or by the last climbing pass again).
            let mut w = 1;
            for r in 1..len {
                if list[r] != list[w - 1] {
                    list[w] = list[r];
                    w += 1;
                }
            }
            len = w;
        }
        entries.truncate(start + len);
        out_place[tree as usize] = (start as u32, len as u32);
    }
    entries.shrink_to_fit();
    let names: Vec<Vec<u8>> = used.iter().map(|n| n.to_vec()).collect();
    Forest {
        index: known.index,
        by_prefix: known.by_prefix,
        place: out_place,
        entries,
        names,
        blobs,
        gitlinks: gitlinks.len() as u64,
        damage: Mutex::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) as usize) % n.max(1)
        }
    }

    /// A random entry: names and ids from small alphabets, so that neighbours share bytes
    /// and a changed entry often differs only near its end.
    fn entry(rng: &mut Lcg) -> (bool, Vec<u8>, [u8; 20]) {
        let name: Vec<u8> = (0..1 + rng.next(4)).map(|_| b"ab0"[rng.next(3)]).collect();
        let mut id = [0u8; 20];
        for b in &mut id {
            *b = [0u8, 1, b'a', b' '][rng.next(4)];
        }
        (rng.next(3) > 0, name, id)
    }

    fn bytes(entries: &[(bool, Vec<u8>, [u8; 20])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (sub, name, id) in entries {
            out.extend_from_slice(if *sub { b"40000 " } else { b"100644 " });
            out.extend_from_slice(name);
            out.push(0);
            out.extend_from_slice(id);
        }
        out
    }

    fn full_starts(data: &[u8]) -> Vec<u32> {
        let mut it = parse::tree(data);
        let mut out = Vec::new();
        loop {
            let at = (data.len() - it.remaining()) as u32;
            let Some(e) = it.next() else { break };
            out.push(at | if e.kind == EntryKind::Tree { SUB } else { 0 });
        }
        out
    }

    #[test]
    fn a_tree_read_against_another_has_the_entries_of_a_full_parse() {
        let mut rng = Lcg(11);
        for round in 0..3000 {
            let old: Vec<_> = (0..rng.next(12)).map(|_| entry(&mut rng)).collect();
            let mut new = old.clone();
            for _ in 0..1 + rng.next(3) {
                let at = rng.next(new.len() + 1);
                match rng.next(4) {
                    0 if at < new.len() => {
                        new.remove(at);
                    }
                    1 if at < new.len() => new[at].2[19 - rng.next(3)] ^= 1,
                    2 if at < new.len() => new[at].1.push(b'a'),
                    _ => new.insert(at, entry(&mut rng)),
                }
            }
            let (old, new) = (bytes(&old), bytes(&new));
            let prev = Prev {
                valid: true,
                bytes: old.clone(),
                starts: full_starts(&old),
                subtrees: 0,
                kept: Vec::new(),
            };
            let mut middle = Vec::new();
            let (head, tail) = prev
                .against(&new, &mut middle)
                .unwrap_or_else(|| panic!("round {round}: well-formed trees"));
            assert!(head <= tail, "round {round}");
            let starts = prev.starts_of(head, tail, &middle, prev.shift(&new));
            assert_eq!(starts, full_starts(&new), "round {round}");
        }
    }

    #[test]
    fn entries_that_parse_out_of_step_in_the_common_end_are_not_taken_for_the_old_ones() {
        // The common end `same` parses as three entries from its start, and as three other
        // entries from its ninth byte: the old tree's first entry ends there.
        let mut same = b"40000 z\0".to_vec();
        same.extend_from_slice(b"40000 x\0XXXXXXXXXXXX");
        same.extend_from_slice(b"40000 y\0");
        same.extend_from_slice(b"40000 v\0YYYYYYYYYYYY");
        same.extend_from_slice(b"40000 uu40000 w\0");
        same.extend_from_slice(&[b'U'; 20]);
        let mut old = b"100644 p\0KKKKKKKKKKKK".to_vec();
        old.extend_from_slice(&same);
        let mut new = b"100644 q\0".to_vec();
        new.extend_from_slice(&[b'Q'; 20]);
        new.extend_from_slice(&same);
        assert_eq!(full_starts(&old).len(), 4);
        assert_eq!(full_starts(&new).len(), 4);
        let prev = Prev {
            valid: true,
            bytes: old.clone(),
            starts: full_starts(&old),
            subtrees: 3,
            kept: Vec::new(),
        };
        let mut middle = Vec::new();
        let (head, tail) = prev.against(&new, &mut middle).expect("well-formed");
        let starts = prev.starts_of(head, tail, &middle, prev.shift(&new));
        assert_eq!(starts, full_starts(&new));
    }

    #[test]
    fn a_malformed_tree_is_not_read_against_another() {
        let old = bytes(&[
            (true, b"a".to_vec(), [1; 20]),
            (true, b"b".to_vec(), [2; 20]),
        ]);
        let prev = Prev {
            valid: true,
            starts: full_starts(&old),
            bytes: old.clone(),
            subtrees: 2,
            kept: Vec::new(),
        };
        let mut cut = old.clone();
        cut.truncate(old.len() - 30);
        cut.extend_from_slice(b"4000");
        assert!(prev.against(&cut, &mut Vec::new()).is_none());
        let invalid = Prev {
            valid: false,
            ..prev
        };
        assert!(invalid.against(&old, &mut Vec::new()).is_none());
    }
}
