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
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{BLOB, Entry, Forest, IdBuild, prefix};
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
}

impl Chunk {
    fn push(&mut self, name: &[u8], target: u64) {
        let n = match self.names.get(name) {
            Some(&n) => n,
            None => {
                let n = self.names.len() as u32;
                self.names.insert(name.to_vec(), n);
                n
            }
        };
        self.entries.push(Entry::new(n, target));
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
        let start = chunk.entries.len();
        chunk.held.clear();
        chunk.held_names.clear();
        for e in parse::tree(data) {
            match e.kind {
                EntryKind::Tree => {
                    chunk.held_names.extend_from_slice(e.name);
                    chunk.held.push((chunk.held_names.len(), prefix(&e.id)));
                }
                EntryKind::Blob => {
                    if let Some(&b) = self.known.interest.get(&BlobId::from_bytes(e.id)) {
                        chunk.push(e.name, BLOB | u64::from(b));
                    }
                }
                EntryKind::Gitlink => {
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
            let held = std::mem::take(&mut chunk.held);
            for &(_, q) in &held {
                chunk.wide_child(q);
            }
            chunk.held = held;
        }
        chunk.close(me, start);
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
        for e in parse::tree(data) {
            if e.kind != EntryKind::Tree {
                continue;
            }
            let p = prefix(&e.id);
            if self.pending.is_some_and(|pending| !pending.contains(&p)) {
                continue;
            }
            let target = self.known.subtree(p, chunk);
            chunk.push(e.name, target);
        }
        chunk.close(me, start);
    }
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
    };
    let stats = source.each_tree(&survey, true);
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
        let climb = Climb {
            known: &known,
            wide: &wide,
            pending: (!last).then_some(&pending),
            chunks: Mutex::default(),
        };
        source.each_tree(&climb, false);
        passes += 1;
        let chunks = climb.chunks.into_inner().unwrap_or_else(|e| e.into_inner());
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
