//! The object pass: every object of the repository rebuilt exactly once, blobs handed to a
//! visitor in parallel.
//!
//! Packs are walked along their delta trees, base first (gix-pack's `cache::delta::Tree`), so
//! a base is inflated once and each delta applied once, in parallel with work stealing; the
//! object ids come from the pack index and nothing is re-hashed or checksummed. Loose objects
//! are read one by one. An object found in several packs, or both loose and packed, is
//! visited once. Commits are handed over too (they are rebuilt anyway), so that the commit
//! walk afterwards needs no lookups.
//!
//! A pack whose traversal fails (a corrupt entry aborts gix's traversal) is finished object
//! by object through the object database, so each object that really cannot be read is
//! named and counted, and the rest are still scanned.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use gix::odb::pack;
use rayon::prelude::*;

use crate::delta::{self, Op, Outcome, Record};
use crate::id::{BlobId, CommitId, TreeId};
use crate::packread;
use crate::progress::Progress;
use crate::stats::{ScanStats, Unreadable};

/// How many leading bytes are inspected for a NUL byte to call a blob binary.
pub const BINARY_PROBE: usize = 8192;

/// What the pass does with the objects it rebuilds. One `State` per worker thread.
pub(crate) trait Visit: Sync {
    /// Per-thread state (a matcher scratch space, found things).
    type State: Send;
    /// A fresh state for a new worker.
    fn state(&self) -> Self::State;
    /// A blob that passed the size, binary and LFS checks. `base` says how it is stored; for
    /// [`Base::Root`] and [`Base::Delta`] the visitor may return what its own deltas need.
    fn blob(&self, state: &mut Self::State, id: BlobId, data: &[u8], base: Base<'_>) -> Outcome;
    /// A commit object.
    fn commit(&self, state: &mut Self::State, id: CommitId, data: &[u8]);
    /// A tree object (only in the [`Stage::Trees`] run).
    fn tree(&self, _state: &mut Self::State, _id: TreeId, _data: &[u8]) {}
    /// A worker is done: collect what its state holds.
    fn finish(&self, state: Self::State);
}

/// How a blob handed to [`Visit::blob`] is stored.
pub(crate) enum Base<'a> {
    /// Nothing known: match it whole, pass nothing on (loose objects, the exhaustive mode).
    Unknown,
    /// A blob whose deltas, if any, will ask for its [`Record`]: match it whole.
    Root,
    /// Stored as a delta of a blob whose record is `record`.
    Delta {
        ops: &'a [Op],
        base_len: usize,
        record: &'a Record,
    },
}

/// Options of the pass.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PassOptions {
    pub max_blob_size: u64,
    /// Hand blobs stored as deltas over with their delta instructions and their base's
    /// record (the pack-aware pass); else every blob is [`Base::Unknown`].
    pub deltas: bool,
}

/// Why a blob is not matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skip {
    TooLarge,
    Binary,
    LfsPointer,
}

impl Skip {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Skip::TooLarge => "too_large",
            Skip::Binary => "binary",
            Skip::LfsPointer => "lfs_pointer",
        }
    }
}

/// Is this blob to be skipped, and why?
pub(crate) fn classify(data: &[u8], max_blob_size: u64) -> Option<Skip> {
    if data.len() as u64 > max_blob_size {
        return Some(Skip::TooLarge);
    }
    if memchr::memchr(0, &data[..data.len().min(BINARY_PROBE)]).is_some() {
        return Some(Skip::Binary);
    }
    if is_lfs_pointer(data) {
        return Some(Skip::LfsPointer);
    }
    None
}

/// A Git LFS pointer file: small, and starting with the spec's version line.
pub(crate) fn is_lfs_pointer(data: &[u8]) -> bool {
    data.len() < 1024 && data.starts_with(b"version https://git-lfs.github.com/spec/")
}

/// The object directories: the repository's own and its alternates.
pub(crate) fn object_dirs(objects_dir: &Path) -> Vec<PathBuf> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut dirs = vec![objects_dir.to_path_buf()];
    if let Ok(alternates) = gix::odb::alternate::resolve(objects_dir.to_path_buf(), &cwd) {
        dirs.extend(alternates);
    }
    dirs
}

/// The pack indexes of an object directory, sorted by name so that runs are repeatable.
fn pack_indexes(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir.join("pack")) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = read
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "idx") && p.with_extension("pack").is_file())
        .collect();
    out.sort();
    out
}

struct Pack {
    index: pack::index::File,
    data: pack::data::File,
    /// The pack file, when it is read with positioned reads rather than through the map
    /// (see [`packread`]).
    file: Option<std::fs::File>,
}

impl Pack {
    /// The bytes of the entry at `offset..end` into `raw` (only its header when `header_only`),
    /// or, for a mapped pack, a slice of the map.
    fn entry_bytes<'a>(
        &'a self,
        offset: u64,
        end: u64,
        header_only: bool,
        raw: &'a mut Vec<u8>,
    ) -> Result<&'a [u8], String> {
        let end = if header_only {
            end.min(offset + packread::MAX_HEADER as u64)
        } else {
            end
        };
        let Some(file) = &self.file else {
            return self
                .data
                .entry_slice(offset..end)
                .ok_or_else(|| "entry reaches past the end of the pack".to_string());
        };
        let len = usize::try_from(end.saturating_sub(offset))
            .map_err(|_| "entry does not fit in memory".to_string())?;
        raw.clear();
        raw.try_reserve_exact(len)
            .map_err(|_| format!("cannot allocate {len} bytes for the entry"))?;
        raw.resize(len, 0);
        let n = packread::read_at(file, raw, offset).map_err(|e| e.to_string())?;
        if n < len {
            return Err("entry reaches past the end of the pack".into());
        }
        Ok(raw)
    }
}

/// Shared state of one pass.
struct Shared<'a, V: Visit> {
    visit: &'a V,
    opts: PassOptions,
    progress: &'a Progress,
    pool: &'a rayon::ThreadPool,
    stats: Mutex<ScanStats>,
}

/// One worker's view: the visitor's state plus local counters, merged when the worker ends.
struct Worker<'s, 'a, V: Visit> {
    shared: &'s Shared<'a, V>,
    state: Option<V::State>,
    stats: ScanStats,
    inflater: libdeflater::Decompressor,
    /// An inflated delta.
    delta: Vec<u8>,
    /// The bytes of the last leaf of a delta forest it rebuilt.
    leaf: Vec<u8>,
    /// An entry read from a pack that is not mapped.
    raw: Vec<u8>,
    ops: Vec<Op>,
}

impl<'s, 'a, V: Visit> Worker<'s, 'a, V> {
    fn new(shared: &'s Shared<'a, V>) -> Self {
        Worker {
            shared,
            state: Some(shared.visit.state()),
            stats: ScanStats::default(),
            inflater: libdeflater::Decompressor::new(),
            delta: Vec::new(),
            leaf: Vec::new(),
            raw: Vec::new(),
            ops: Vec::new(),
        }
    }

    /// Matches a blob; returns its record for its deltas when `base` is not
    /// [`Base::Unknown`] and it was matched (not skipped) completely.
    fn blob(&mut self, id: BlobId, data: &[u8], base: Base<'_>) -> Option<Record> {
        self.stats.blobs += 1;
        if let Some(skip) = classify(data, self.shared.opts.max_blob_size) {
            self.stats.skip(skip.reason());
            return None;
        }
        self.stats.blobs_scanned += 1;
        self.stats.bytes_scanned += data.len() as u64;
        self.shared.progress.add_bytes(data.len() as u64);
        let state = self.state.as_mut()?;
        let outcome = self.shared.visit.blob(state, id, data, base);
        if let Some(bytes) = outcome.windowed {
            self.stats.blobs_windowed += 1;
            self.stats.bytes_windowed += bytes;
        }
        outcome.record
    }

    /// A blob of the pack-aware pass: matched around its delta's events (`self.delta` holds
    /// the inflated delta) when its base was matched completely, else whole. Unless it is a
    /// `leaf` (no delta is built on it), its record is kept in `records[pos]` for its own
    /// deltas.
    fn packed_blob(
        &mut self,
        id: BlobId,
        data: &[u8],
        (pos, leaf): (usize, bool),
        base: Option<usize>,
        records: &[OnceLock<Option<Box<Record>>>],
    ) {
        let base_record = base.and_then(|b| records.get(b)).and_then(OnceLock::get);
        let record = match base_record {
            None if leaf => self.blob(id, data, Base::Unknown),
            None => self.blob(id, data, Base::Root),
            Some(base_record) => match delta::parse(&self.delta, data.len(), &mut self.ops) {
                Some(base_len) => {
                    let ops = std::mem::take(&mut self.ops);
                    let empty = Record::default();
                    let record = base_record.as_deref().unwrap_or(&empty);
                    let r = self.blob(
                        id,
                        data,
                        Base::Delta {
                            ops: &ops,
                            base_len,
                            record,
                        },
                    );
                    self.ops = ops;
                    r
                }
                None => self.blob(id, data, Base::Root),
            },
        };
        if let Some(r) = record
            && !leaf
        {
            let _ = records[pos].set((!r.is_empty()).then(|| Box::new(r)));
        }
    }

    fn commit(&mut self, id: CommitId, data: &[u8]) {
        if let Some(state) = self.state.as_mut() {
            self.shared.visit.commit(state, id, data);
        }
    }

    fn tree(&mut self, id: TreeId, data: &[u8]) {
        if let Some(state) = self.state.as_mut() {
            self.shared.visit.tree(state, id, data);
        }
    }
}

impl<V: Visit> Clone for Worker<'_, '_, V> {
    fn clone(&self) -> Self {
        Worker::new(self.shared)
    }
}

impl<V: Visit> Drop for Worker<'_, '_, V> {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            self.shared.visit.finish(state);
        }
        if let Ok(mut stats) = self.shared.stats.lock() {
            stats.merge(&self.stats);
        }
    }
}

/// Which objects a run of the pass rebuilds. Git deltas never cross object types, so each
/// delta chain, and so each delta tree, belongs to one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Blobs and commits (and entries whose type cannot be told: their errors show there).
    Content,
    /// Trees.
    Trees,
}

const UNKNOWN: u8 = 0;
const COMMIT: u8 = 1;
const TREE: u8 = 2;
const BLOB: u8 = 3;
const TAG: u8 = 4;

impl Stage {
    fn wants(self, kind: u8) -> bool {
        match self {
            Stage::Content => matches!(kind, UNKNOWN | COMMIT | BLOB),
            Stage::Trees => kind == TREE,
        }
    }
}

/// A pack with what the stages need to know about its entries, by index position.
struct PackInfo {
    pack: Pack,
    /// Also in an earlier pack: rebuilt (it may be a base) but not visited.
    duplicate: Vec<bool>,
    /// The object type of each entry (a delta's is its chain's base type).
    kinds: Vec<u8>,
    /// The entry position of each delta's base; [`NO_BASE`] for an undeltified entry,
    /// [`LOST_BASE`] when the base is not in this pack or the header cannot be read.
    bases: Vec<u32>,
    /// Where each entry's compressed data ends: the next entry's offset, or the trailer's.
    ends: Vec<u64>,
}

/// In [`PackInfo::bases`]: the entry is not a delta.
const NO_BASE: u32 = u32::MAX;
/// In [`PackInfo::bases`]: a delta whose base this pack cannot give.
const LOST_BASE: u32 = u32::MAX - 1;

/// Every pack and loose object of a repository, opened once for the stages of the pass.
pub(crate) struct ObjectDb {
    packs: Vec<PackInfo>,
    loose: Vec<(PathBuf, gix::ObjectId)>,
    problems: Vec<Unreadable>,
}

impl ObjectDb {
    /// Opens the packs of `objects_dir` and its alternates and lists their loose objects.
    /// Packs larger than `map_limit` bytes are read without their memory map
    /// ([`packread::MAP_LIMIT`] is the usual limit).
    pub(crate) fn open(objects_dir: &Path, map_limit: u64) -> ObjectDb {
        let dirs = object_dirs(objects_dir);
        let mut packs: Vec<PackInfo> = Vec::new();
        let mut problems = Vec::new();
        for dir in &dirs {
            for idx in pack_indexes(dir) {
                match open_pack(&idx, map_limit) {
                    Ok(pack) => {
                        let earlier: Vec<&Pack> = packs.iter().map(|p| &p.pack).collect();
                        let duplicate = duplicates(&pack.index, &earlier);
                        let (kinds, bases, ends) = entry_table(&pack);
                        packs.push(PackInfo {
                            pack,
                            duplicate,
                            kinds,
                            bases,
                            ends,
                        });
                    }
                    Err(message) => problems.push(Unreadable {
                        id: idx.display().to_string(),
                        reason: message,
                    }),
                }
            }
        }
        let loose = dirs
            .iter()
            .flat_map(|dir| {
                let store = gix::odb::loose::Store::at(dir.clone(), gix::hash::Kind::Sha1);
                store
                    .iter()
                    .filter_map(Result::ok)
                    .map(|id| (dir.clone(), id))
                    .collect::<Vec<_>>()
            })
            .collect();
        ObjectDb {
            packs,
            loose,
            problems,
        }
    }

    /// Packed entries plus loose objects.
    pub(crate) fn total(&self) -> u64 {
        self.packs
            .iter()
            .map(|p| u64::from(p.pack.index.num_objects()))
            .sum::<u64>()
            + self.loose.len() as u64
    }

    /// The id of every tree in the database (packed ones from the entry headers; loose ones
    /// from their object headers).
    pub(crate) fn tree_ids(&self) -> Vec<TreeId> {
        let mut out = Vec::new();
        for p in &self.packs {
            for i in 0..p.pack.index.num_objects() {
                if p.kinds[i as usize] == TREE
                    && !p.duplicate.get(i as usize).copied().unwrap_or(false)
                {
                    out.push(TreeId::from_gix(p.pack.index.oid_at_index(i)));
                }
            }
        }
        for (dir, id) in &self.loose {
            let store = gix::odb::loose::Store::at(dir.clone(), gix::hash::Kind::Sha1);
            if let Ok(Some((_, gix::objs::Kind::Tree))) = store.try_header(id) {
                out.push(TreeId::from_gix(id));
            }
        }
        out
    }

    /// Runs one stage of the pass: rebuilds the stage's objects and hands them to `visit`.
    /// `odb` reads the objects that a delta-tree walk could not (a corrupt pack).
    pub(crate) fn run<V: Visit>(
        &self,
        stage: Stage,
        odb: &gix::ThreadSafeRepository,
        opts: PassOptions,
        pool: &rayon::ThreadPool,
        visit: &V,
        progress: &Progress,
    ) -> ScanStats {
        let shared = Shared {
            visit,
            opts,
            progress,
            pool,
            stats: Mutex::new(ScanStats::default()),
        };
        for p in &self.packs {
            walk_pack(p, stage, &shared, odb);
        }
        let packs: Vec<&Pack> = self.packs.iter().map(|p| &p.pack).collect();
        walk_loose(&self.loose, &packs, stage, &shared);
        let mut stats = shared.stats.into_inner().unwrap_or_else(|e| e.into_inner());
        if stage == Stage::Content {
            stats.packs = self.packs.len() as u64;
            stats.loose_objects = self.loose.len() as u64;
            stats.objects = self.total();
            stats.unreadable.extend(self.problems.iter().cloned());
        }
        stats
    }
}

fn open_pack(idx: &Path, map_limit: u64) -> Result<Pack, String> {
    let index = pack::index::File::at(idx, gix::hash::Kind::Sha1).map_err(|e| e.to_string())?;
    let path = idx.with_extension("pack");
    let data = pack::data::File::at(&path, gix::hash::Kind::Sha1).map_err(|e| e.to_string())?;
    let file = if data.data_len() as u64 > map_limit {
        Some(std::fs::File::open(&path).map_err(|e| e.to_string())?)
    } else {
        None
    };
    Ok(Pack { index, data, file })
}

/// For each entry of `index` (by index position): is the object also in an earlier pack?
fn duplicates(index: &pack::index::File, earlier: &[&Pack]) -> Vec<bool> {
    if earlier.is_empty() {
        return Vec::new();
    }
    (0..index.num_objects())
        .map(|i| {
            let id = index.oid_at_index(i);
            earlier.iter().any(|p| p.index.lookup(id).is_some())
        })
        .collect()
}

/// The type, base and data end of every entry, from the entry headers alone (nothing
/// inflated): a base's type is in its header, and a delta has its base's type. Offset deltas
/// point backwards, so one pass in offset order settles them; ref deltas may point anywhere
/// and are settled after.
fn entry_table(p: &Pack) -> (Vec<u8>, Vec<u32>, Vec<u64>) {
    use packread::EntryBase;
    let index = &p.index;
    let n = index.num_objects();
    let mut by_offset: Vec<(u64, u32)> =
        (0..n).map(|i| (index.pack_offset_at_index(i), i)).collect();
    by_offset.sort_unstable();
    let mut ends = vec![0u64; n as usize];
    let trailer = p.data.pack_end() as u64;
    for (k, &(_, i)) in by_offset.iter().enumerate() {
        ends[i as usize] = by_offset
            .get(k + 1)
            .map_or(trailer, |&(o, _)| o.min(trailer));
    }
    let mut kinds = vec![UNKNOWN; n as usize];
    let mut bases = vec![LOST_BASE; n as usize];
    let mut pending: Vec<(u32, u32)> = Vec::new(); // (entry, its base), both index positions
    // A mapped pack's headers are parsed in parallel (in the pool the caller runs in): the
    // first touch of each page of the pack is most of the cost. A pack read from its file
    // is read in order, a chunk at a time.
    let mapped: Vec<Option<packread::EntryHeader>> = if p.file.is_none() {
        by_offset
            .par_iter()
            .map(|&(offset, i)| {
                let end = ends[i as usize].min(offset + packread::MAX_HEADER as u64);
                p.data
                    .entry_slice(offset..end)
                    .and_then(packread::parse_header)
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut chunks = p.file.as_ref().map(packread::HeaderReader::new);
    for (k, &(offset, i)) in by_offset.iter().enumerate() {
        let end = ends[i as usize];
        let header = match &mut chunks {
            Some(reader) => reader.at(offset, end).and_then(packread::parse_header),
            None => mapped.get(k).copied().flatten(),
        };
        let Some(header) = header else {
            continue;
        };
        let base = match header.base {
            EntryBase::None => {
                kinds[i as usize] = header.kind;
                bases[i as usize] = NO_BASE;
                continue;
            }
            EntryBase::Offset(distance) => offset
                .checked_sub(distance)
                .and_then(|o| by_offset.binary_search_by_key(&o, |&(off, _)| off).ok())
                .map(|k| by_offset[k].1),
            EntryBase::Id(id) => index.lookup(gix::oid::from_bytes_unchecked(&id)),
        };
        let Some(b) = base.filter(|&b| b != i) else {
            continue;
        };
        bases[i as usize] = b;
        if kinds[b as usize] != UNKNOWN {
            kinds[i as usize] = kinds[b as usize];
        } else {
            pending.push((i, b));
        }
    }
    // Forward references: repeat until nothing changes (chains are short in practice).
    let mut changed = true;
    while changed && !pending.is_empty() {
        changed = false;
        pending.retain(|&(i, b)| {
            if kinds[b as usize] == UNKNOWN {
                return true;
            }
            kinds[i as usize] = kinds[b as usize];
            changed = true;
            false
        });
    }
    (kinds, bases, ends)
}

fn walk_pack<V: Visit>(
    p: &PackInfo,
    stage: Stage,
    shared: &Shared<'_, V>,
    odb: &gix::ThreadSafeRepository,
) {
    let n = p.pack.index.num_objects() as usize;
    let done: Vec<AtomicBool> = (0..n).map(|_| AtomicBool::new(false)).collect();
    let walked = traverse(p, stage, &done, shared);
    // What the walk did not reach: after a failure, and entries no root leads to (a delta
    // whose base is missing or unreadable, a loop of ref deltas). An entry whose type is
    // unknown may be of either stage's kind: the object database tells.
    let left: Vec<u32> = (0..n as u32)
        .filter(|&i| {
            let kind = p.kinds[i as usize];
            (stage.wants(kind) || kind == UNKNOWN) && !done[i as usize].load(Ordering::Relaxed)
        })
        .collect();
    if left.is_empty() {
        return;
    }
    let why = match walked {
        Err(message) => format!("delta-tree walk failed ({message})"),
        Ok(()) => "not reachable through its delta trees (a missing or unreadable base)".into(),
    };
    if let Ok(mut stats) = shared.stats.lock() {
        stats.notes.push(format!(
            "pack {}: {why}; reading its {} remaining objects one by one",
            p.pack.data.path().display(),
            left.len()
        ));
    }
    let ids: Vec<gix::ObjectId> = left
        .into_iter()
        .filter(|&i| !p.duplicate.get(i as usize).copied().unwrap_or(false))
        .map(|i| p.pack.index.oid_at_index(i).to_owned())
        .collect();
    read_one_by_one(&ids, stage, shared, || Odb(odb.to_thread_local()));
}

/// The entries of one pack that a stage wants, as a forest: each delta under its base.
struct DeltaForest {
    /// Entries stored whole.
    roots: Vec<u32>,
    /// The deltas of entry `i` are `children[first[i]..first[i + 1]]`.
    first: Vec<u32>,
    children: Vec<u32>,
}

impl DeltaForest {
    /// A delta whose base this pack cannot give (or a chain that loops) is left out: it is
    /// never reached, and so read one by one afterwards.
    fn new(p: &PackInfo, stage: Stage) -> DeltaForest {
        let n = p.kinds.len();
        let wanted = |i: usize| stage.wants(p.kinds[i]);
        let mut roots = Vec::new();
        let mut first = vec![0u32; n + 1];
        for i in (0..n).filter(|&i| wanted(i)) {
            match p.bases[i] {
                NO_BASE => roots.push(i as u32),
                LOST_BASE => {}
                b => first[b as usize + 1] += 1,
            }
        }
        // In pack order: versions of a file written one after the other meet in one
        // worker's part of the walk (see `crate::similar`).
        roots.sort_unstable_by_key(|&i| p.ends[i as usize]);
        for i in 0..n {
            first[i + 1] += first[i];
        }
        let mut next = first.clone();
        let mut children = vec![0u32; first[n] as usize];
        for i in (0..n).filter(|&i| wanted(i)) {
            let b = p.bases[i];
            if b != NO_BASE && b != LOST_BASE {
                children[next[b as usize] as usize] = i as u32;
                next[b as usize] += 1;
            }
        }
        DeltaForest {
            roots,
            first,
            children,
        }
    }

    fn children(&self, i: u32) -> &[u32] {
        let i = i as usize;
        &self.children[self.first[i] as usize..self.first[i + 1] as usize]
    }
}

/// One pack's delta-forest walk in progress.
struct PackWalk<'w, 's, 'a, V: Visit> {
    p: &'w PackInfo,
    stage: Stage,
    forest: DeltaForest,
    done: &'w [AtomicBool],
    shared: &'s Shared<'a, V>,
    /// The pack-aware pass: blobs stored as deltas are matched around their delta's events.
    deltas: bool,
    /// Per entry position, set once the blob was matched completely: what its deltas need
    /// (`None`: nothing). Only in the pack-aware pass.
    records: Vec<OnceLock<Option<Box<Record>>>>,
    /// One worker per thread of the pool, used by whichever task runs on that thread.
    workers: Vec<Mutex<Worker<'s, 'a, V>>>,
    /// The first entry that could not be rebuilt.
    failure: Mutex<Option<String>>,
}

/// The delta-forest walk of the entries of one pack that `stage` wants: base first, in
/// parallel, each entry inflated once and each delta applied once to its base's bytes, so an
/// object costs one inflate and one copy however long its chain. Marks each entry it reaches
/// in `done`. An entry that cannot be rebuilt ends its branch; the first such failure is
/// returned, and the caller reads what was not reached one by one.
fn traverse<V: Visit>(
    p: &PackInfo,
    stage: Stage,
    done: &[AtomicBool],
    shared: &Shared<'_, V>,
) -> Result<(), String> {
    let mut forest = DeltaForest::new(p, stage);
    if forest.roots.is_empty() {
        return Ok(());
    }
    forest.roots = interleave(&forest.roots, shared.pool.current_num_threads());
    let deltas = shared.opts.deltas && stage == Stage::Content;
    let walk = PackWalk {
        p,
        stage,
        forest,
        done,
        shared,
        deltas,
        records: if deltas {
            (0..p.kinds.len()).map(|_| OnceLock::new()).collect()
        } else {
            Vec::new()
        },
        workers: (0..shared.pool.current_num_threads().max(1))
            .map(|_| Mutex::new(Worker::new(shared)))
            .collect(),
        failure: Mutex::new(None),
    };
    shared.pool.install(|| {
        rayon::scope(|s| {
            walk.forest
                .roots
                .par_iter()
                .for_each(|&root| walk.run(root, None, s));
        })
    });
    let failure = walk.failure.lock().map(|mut f| f.take()).unwrap_or(None);
    drop(walk);
    failure.map_or(Ok(()), Err)
}

/// `roots` (in pack order) reordered so that the parallel walk, which splits its input in
/// halves, gives each of `threads` workers (rounded down to a power of two) every
/// `threads`-th root, in pack order: the workers then go through the pack side by side,
/// and a version stored whole finds the one before it already matched (`crate::similar`).
fn interleave(roots: &[u32], threads: usize) -> Vec<u32> {
    let bits = (threads.max(1).ilog2()).min(8);
    let lanes = 1usize << bits;
    let reverse = |g: usize| g.reverse_bits() >> (usize::BITS - bits.max(1)) & (lanes - 1);
    let mut out = Vec::with_capacity(roots.len());
    for lane in 0..lanes {
        // The lane that lands at place `lane` of the halving order.
        let g = if bits == 0 { 0 } else { reverse(lane) };
        out.extend(roots.iter().skip(g).step_by(lanes));
    }
    out
}

impl<'w, 's, 'a, V: Visit> PackWalk<'w, 's, 'a, V> {
    /// Rebuilds `node` (from `base`'s bytes when it is a delta), visits it, and goes on down
    /// its deltas: the last one in this task, the others spawned with the bytes shared.
    fn run<'scope>(
        &'scope self,
        mut node: u32,
        mut base: Option<Arc<Vec<u8>>>,
        scope: &rayon::Scope<'scope>,
    ) {
        loop {
            let kids = self.forest.children(node);
            let Some(data) = self.rebuild_and_visit(node, base.as_deref(), kids.is_empty()) else {
                return;
            };
            let Some((&last, rest)) = kids.split_last() else {
                return;
            };
            let data = Arc::new(data);
            for &kid in rest {
                let data = Arc::clone(&data);
                scope.spawn(move |scope| self.run(kid, Some(data), scope));
            }
            node = last;
            base = Some(data);
        }
    }

    /// Rebuilds and visits one entry; returns its bytes when its deltas need them (`leaf` is
    /// false) and it could be rebuilt.
    fn rebuild_and_visit(&self, node: u32, base: Option<&Vec<u8>>, leaf: bool) -> Option<Vec<u8>> {
        let i = node as usize;
        let thread = rayon::current_thread_index().unwrap_or(0) % self.workers.len();
        let mut worker = self.workers[thread]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let worker = &mut *worker;
        let pack = &self.p.pack;
        let offset = pack.index.pack_offset_at_index(node);
        let end = self.p.ends[i];
        let Worker {
            raw,
            inflater,
            delta: delta_buf,
            stats,
            leaf: leaf_buf,
            ..
        } = &mut *worker;
        let header = pack
            .entry_bytes(offset, end, true, raw)
            .and_then(|b| packread::parse_header(b).ok_or_else(|| "malformed entry header".into()));
        let header = match header {
            Ok(h) => h,
            Err(e) => return self.fail(node, &e),
        };
        let duplicate = self.p.duplicate.get(i).copied().unwrap_or(false);
        let blob = self.p.kinds[i] == BLOB;
        if base.is_none()
            && leaf
            && blob
            && self.stage == Stage::Content
            && header.size > self.shared.opts.max_blob_size
        {
            // Nothing is built on it: skipped by its header's size, never inflated.
            self.done[i].store(true, Ordering::Relaxed);
            self.shared.progress.step(1);
            if !duplicate {
                stats.blobs += 1;
                stats.skip(Skip::TooLarge.reason());
            }
            return None;
        }
        let input = match pack.entry_bytes(offset, end, false, raw) {
            Ok(bytes) => bytes.get(header.len..).unwrap_or_default(),
            Err(e) => return self.fail(node, &e),
        };
        let Ok(size) = usize::try_from(header.size) else {
            return self.fail(node, "entry size does not fit in memory");
        };
        // A leaf's bytes are only visited: it reuses the worker's buffer.
        let mut data = if leaf {
            std::mem::take(leaf_buf)
        } else {
            Vec::new()
        };
        let rebuilt = match base {
            None => inflate(inflater, input, size, &mut data),
            Some(base) => inflate(inflater, input, size, delta_buf).and_then(|()| {
                delta::apply(delta_buf, base, &mut data)
                    .ok_or_else(|| "delta does not apply to its base".to_string())
            }),
        };
        if let Err(message) = rebuilt {
            return self.fail(node, &message);
        }
        self.done[i].store(true, Ordering::Relaxed);
        self.shared.progress.step(1);
        if !duplicate {
            let id = pack.index.oid_at_index(node);
            match self.p.kinds[i] {
                BLOB if self.deltas => {
                    let base_pos = base.map(|_| self.p.bases[i] as usize);
                    let at = (i, leaf);
                    worker.packed_blob(BlobId::from_gix(id), &data, at, base_pos, &self.records);
                }
                BLOB => {
                    worker.blob(BlobId::from_gix(id), &data, Base::Unknown);
                }
                COMMIT => worker.commit(CommitId::from_gix(id), &data),
                TREE => worker.tree(TreeId::from_gix(id), &data),
                _ => {}
            }
        }
        if leaf {
            worker.leaf = data;
            return None;
        }
        Some(data)
    }

    fn fail(&self, node: u32, message: &str) -> Option<Vec<u8>> {
        if let Ok(mut failure) = self.failure.lock()
            && failure.is_none()
        {
            let id = self.p.pack.index.oid_at_index(node);
            *failure = Some(format!("object {id}: {message}"));
        }
        None
    }
}

/// Inflates one entry's zlib stream into `out`, which must come out at exactly `size` bytes.
pub(crate) fn inflate(
    inflater: &mut libdeflater::Decompressor,
    input: &[u8],
    size: usize,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    // Deflate expands at most about 1032:1: a larger size is a corrupt header, refused
    // before any memory is committed for it.
    if size > input.len().saturating_mul(1032).saturating_add(64) {
        return Err(format!(
            "entry header says {size} bytes, more than its {} compressed bytes can hold",
            input.len()
        ));
    }
    out.clear();
    out.try_reserve_exact(size)
        .map_err(|_| format!("cannot allocate {size} bytes for the entry"))?;
    out.resize(size, 0);
    match inflater.zlib_decompress(input, out) {
        Ok(n) if n == size => Ok(()),
        Ok(n) => Err(format!(
            "entry inflates to {n} bytes, its header says {size}"
        )),
        Err(e) => Err(format!("entry does not inflate: {e}")),
    }
}

/// Where single objects are read from: the whole object database, or one loose store.
trait Source {
    /// Kind and size, from the object's header only.
    fn header(&self, id: &gix::oid) -> Result<Option<(gix::objs::Kind, u64)>, String>;
    /// The whole object into `buf`.
    fn read(&self, id: &gix::oid, buf: &mut Vec<u8>) -> Result<Option<gix::objs::Kind>, String>;
}

struct Odb(gix::Repository);

impl Source for Odb {
    fn header(&self, id: &gix::oid) -> Result<Option<(gix::objs::Kind, u64)>, String> {
        use gix::objs::FindHeader;
        self.0
            .objects
            .try_header(id)
            .map(|h| h.map(|h| (h.kind, h.size)))
            .map_err(|e| e.to_string())
    }

    fn read(&self, id: &gix::oid, buf: &mut Vec<u8>) -> Result<Option<gix::objs::Kind>, String> {
        use gix::objs::Find;
        self.0
            .objects
            .try_find(id, buf)
            .map(|d| d.map(|d| d.kind))
            .map_err(|e| e.to_string())
    }
}

impl Source for gix::odb::loose::Store {
    fn header(&self, id: &gix::oid) -> Result<Option<(gix::objs::Kind, u64)>, String> {
        self.try_header(id)
            .map(|h| h.map(|(size, kind)| (kind, size)))
            .map_err(|e| e.to_string())
    }

    fn read(&self, id: &gix::oid, buf: &mut Vec<u8>) -> Result<Option<gix::objs::Kind>, String> {
        self.try_find(id, buf)
            .map(|d| d.map(|d| d.kind))
            .map_err(|e| e.to_string())
    }
}

/// Reads `ids` one by one, in parallel: the header first, so that a blob over the size limit
/// is skipped without being inflated, and trees and tags are not read at all.
fn read_one_by_one<V: Visit, S: Source>(
    ids: &[gix::ObjectId],
    stage: Stage,
    shared: &Shared<'_, V>,
    source: impl Fn() -> S + Sync + Send,
) {
    shared.pool.install(|| {
        ids.par_iter().for_each_init(
            || (Worker::new(shared), source(), Vec::new()),
            |(worker, source, buf), id| {
                read_one(worker, source, stage, id, buf);
            },
        );
    });
}

fn read_one<V: Visit, S: Source>(
    worker: &mut Worker<'_, '_, V>,
    source: &S,
    stage: Stage,
    id: &gix::oid,
    buf: &mut Vec<u8>,
) {
    let progress = worker.shared.progress;
    let unreadable = |worker: &mut Worker<'_, '_, V>, reason: String| {
        // Each object is read in one stage only; a header that cannot be read is reported
        // by the first.
        if stage == Stage::Content {
            progress.step(1);
            worker.stats.unreadable.push(Unreadable {
                id: id.to_string(),
                reason,
            });
        }
    };
    let (kind, size) = match source.header(id) {
        Ok(Some(h)) => h,
        Ok(None) => return unreadable(worker, "object not found".into()),
        Err(e) => return unreadable(worker, e),
    };
    let code = match kind {
        gix::objs::Kind::Blob => BLOB,
        gix::objs::Kind::Commit => COMMIT,
        gix::objs::Kind::Tree => TREE,
        gix::objs::Kind::Tag => TAG,
    };
    if !stage.wants(code) {
        if stage == Stage::Content && code == TAG {
            progress.step(1);
        }
        return;
    }
    progress.step(1);
    if code == BLOB && size > worker.shared.opts.max_blob_size {
        worker.stats.blobs += 1;
        worker.stats.skip(Skip::TooLarge.reason());
        return;
    }
    match source.read(id, buf) {
        Ok(Some(gix::objs::Kind::Blob)) => {
            worker.blob(BlobId::from_gix(id), buf, Base::Unknown);
        }
        Ok(Some(gix::objs::Kind::Commit)) => worker.commit(CommitId::from_gix(id), buf),
        Ok(Some(gix::objs::Kind::Tree)) => worker.tree(TreeId::from_gix(id), buf),
        Ok(Some(_)) => {}
        Ok(None) => worker.stats.unreadable.push(Unreadable {
            id: id.to_string(),
            reason: "object not found".into(),
        }),
        Err(e) => worker.stats.unreadable.push(Unreadable {
            id: id.to_string(),
            reason: e,
        }),
    }
}

/// Loose objects that no pack holds.
fn walk_loose<V: Visit>(
    loose: &[(PathBuf, gix::ObjectId)],
    packs: &[&Pack],
    stage: Stage,
    shared: &Shared<'_, V>,
) {
    let mut by_dir: Vec<(&PathBuf, Vec<gix::ObjectId>)> = Vec::new();
    for (dir, id) in loose {
        if packs.iter().any(|p| p.index.lookup(id).is_some()) {
            if stage == Stage::Content {
                shared.progress.step(1);
            }
            continue;
        }
        match by_dir.last_mut() {
            Some((d, ids)) if *d == dir => ids.push(*id),
            _ => by_dir.push((dir, vec![*id])),
        }
    }
    for (dir, ids) in by_dir {
        read_one_by_one(&ids, stage, shared, || {
            gix::odb::loose::Store::at(dir.clone(), gix::hash::Kind::Sha1)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_roots_give_each_half_every_other_root_in_order() {
        let roots: Vec<u32> = (0..11).collect();
        assert_eq!(interleave(&roots, 1), roots);
        assert_eq!(interleave(&roots, 2), [0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9]);
        assert_eq!(interleave(&roots, 3), interleave(&roots, 2));
        // Halves, then quarters: lanes 0 and 2 first, then 1 and 3.
        assert_eq!(interleave(&roots, 4), [0, 4, 8, 2, 6, 10, 1, 5, 9, 3, 7]);
        let mut all = interleave(&roots, 64);
        all.sort_unstable();
        assert_eq!(all, roots);
    }

    /// Records every object the pass hands over.
    #[derive(Default)]
    struct Recorder {
        seen: Mutex<Vec<(u8, String, Vec<u8>)>>,
    }

    impl Visit for Recorder {
        type State = Vec<(u8, String, Vec<u8>)>;
        fn state(&self) -> Self::State {
            Vec::new()
        }
        fn blob(&self, st: &mut Self::State, id: BlobId, data: &[u8], _: Base<'_>) -> Outcome {
            st.push((BLOB, id.to_hex(), data.to_vec()));
            Outcome::default()
        }
        fn commit(&self, st: &mut Self::State, id: CommitId, data: &[u8]) {
            st.push((COMMIT, id.to_hex(), data.to_vec()));
        }
        fn tree(&self, st: &mut Self::State, id: TreeId, data: &[u8]) {
            st.push((TREE, id.to_hex(), data.to_vec()));
        }
        fn finish(&self, st: Self::State) {
            if let Ok(mut seen) = self.seen.lock() {
                seen.extend(st);
            }
        }
    }

    /// Every object of both stages, with the pack mapped or read (`map_limit`).
    fn pass(git_dir: &Path, map_limit: u64) -> (Vec<(u8, String, Vec<u8>)>, ScanStats) {
        let repo = gix::open(git_dir).expect("open").into_sync();
        let db = ObjectDb::open(&git_dir.join("objects"), map_limit);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("pool");
        let recorder = Recorder::default();
        let opts = PassOptions {
            max_blob_size: u64::MAX,
            deltas: false,
        };
        let progress = Progress::new();
        let mut stats = db.run(Stage::Content, &repo, opts, &pool, &recorder, &progress);
        stats.merge(&db.run(Stage::Trees, &repo, opts, &pool, &recorder, &progress));
        let mut seen = recorder.seen.into_inner().expect("lock");
        seen.sort();
        (seen, stats)
    }

    /// A repository with six versions of one file, repacked so that they are deltas.
    fn repacked() -> tempfile::TempDir {
        let dir = tempfile::TempDir::new().expect("tempdir");
        let git = |args: &[&str]| crate::testgit::git(dir.path(), args);
        git(&["init", "-q"]);
        let mut text: String = (0..300)
            .map(|i| format!("line {i} of the file\n"))
            .collect();
        for round in 0..6 {
            text.push_str(&format!("token = \"round {round}\"\n"));
            std::fs::write(dir.path().join("a.txt"), &text).expect("write");
            std::fs::write(dir.path().join(format!("n{round}.txt")), "new\n").expect("write");
            git(&["add", "-A"]);
            git(&["commit", "-q", "-m", &format!("round {round}")]);
        }
        git(&["repack", "-adfq"]);
        dir
    }

    #[test]
    fn entries_below_an_unreadable_base_are_read_one_by_one_and_named() {
        let dir = repacked();
        let git_dir = dir.path().join(".git");
        let db = ObjectDb::open(&git_dir.join("objects"), u64::MAX);
        let p = &db.packs[0];
        let base = (0..p.bases.len())
            .find(|&i| p.kinds[i] == BLOB && p.bases.contains(&(i as u32)))
            .expect("a blob that is a delta base");
        let offset = p.pack.index.pack_offset_at_index(base as u32) as usize;
        let path = p.pack.data.path().to_path_buf();
        drop(db);
        // Type 5 is reserved: the base's header no longer parses.
        let mut bytes = std::fs::read(&path).expect("read pack");
        bytes[offset] = (bytes[offset] & 0x8f) | (5 << 4);
        let mut perms = std::fs::metadata(&path).expect("meta").permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(&path, perms).expect("chmod");
        std::fs::write(&path, &bytes).expect("write pack");
        for limit in [u64::MAX, 0] {
            let (seen, stats) = pass(&git_dir, limit);
            // Every object is either handed over or named as unreadable: the base, and the
            // deltas built on it.
            assert!(stats.unreadable.iter().any(|u| u.id == {
                let db = ObjectDb::open(&git_dir.join("objects"), limit);
                db.packs[0].pack.index.oid_at_index(base as u32).to_string()
            }));
            assert_eq!(seen.len() + stats.unreadable.len(), 6 + 6 + 7, "{limit}");
            assert!(!stats.notes.is_empty(), "the fallback is noted");
        }
    }

    #[test]
    fn a_read_pack_gives_the_same_objects_as_a_mapped_one() {
        let dir = repacked();
        let git_dir = dir.path().join(".git");
        let (mapped, mapped_stats) = pass(&git_dir, u64::MAX);
        let (read, read_stats) = pass(&git_dir, 0);
        let db = ObjectDb::open(&git_dir.join("objects"), 0);
        let deltas = db.packs[0].bases.iter().filter(|&&b| b < LOST_BASE).count();
        assert!(deltas >= 5, "the versions are stored as deltas ({deltas})");
        // 6 commits, 6 trees, 6 versions of a.txt and one blob for every n*.txt.
        assert_eq!(mapped.len(), 6 + 6 + 7);
        assert_eq!(mapped, read);
        assert!(mapped_stats.unreadable.is_empty() && read_stats.unreadable.is_empty());
        assert!(mapped_stats.notes.is_empty() && read_stats.notes.is_empty());
    }

    #[test]
    fn blobs_are_skipped_for_size_binary_content_and_lfs_pointers() {
        let table: [(&[u8], u64, Option<Skip>); 6] = [
            (b"token = abc\n", 100, None),
            (b"0123456789", 9, Some(Skip::TooLarge)),
            (b"0123456789", 10, None),
            (b"PNG\0\x01\x02", 100, Some(Skip::Binary)),
            (
                b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 3\n",
                1000,
                Some(Skip::LfsPointer),
            ),
            (
                b"see version https://git-lfs.github.com/spec/v1\n",
                1000,
                None,
            ),
        ];
        for (data, max, want) in table {
            assert_eq!(
                classify(data, max),
                want,
                "{:?}",
                String::from_utf8_lossy(data)
            );
        }
        let mut late_nul = vec![b'a'; BINARY_PROBE];
        late_nul.push(0);
        assert_eq!(
            classify(&late_nul, u64::MAX),
            None,
            "only the first 8 KiB are probed"
        );
    }
}
