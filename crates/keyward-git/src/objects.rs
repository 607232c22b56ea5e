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
use std::sync::{Mutex, OnceLock};

use gix::odb::pack;
use rayon::prelude::*;

use crate::delta::{self, Op, Outcome, Record};
use crate::id::{BlobId, CommitId, TreeId};
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
    pub threads: usize,
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
    inflate: gix::zlib::Inflate,
    delta: Vec<u8>,
    ops: Vec<Op>,
}

impl<'s, 'a, V: Visit> Worker<'s, 'a, V> {
    fn new(shared: &'s Shared<'a, V>) -> Self {
        Worker {
            shared,
            state: Some(shared.visit.state()),
            stats: ScanStats::default(),
            inflate: gix::zlib::Inflate::default(),
            delta: Vec::new(),
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

    /// A blob met in a delta-tree walk at `level`, entry position `i`: matched around its
    /// delta's events when its base was matched completely, else whole. Its record is kept
    /// in `records` for its own deltas.
    fn packed_blob(
        &mut self,
        pack: &PackInfo,
        walk: &DeltaWalk,
        i: usize,
        ctx: &pack::cache::delta::traverse::Context<'_>,
    ) {
        let id = BlobId::from_gix(pack.pack.index.oid_at_index(i as u32));
        let data = ctx.decompressed;
        let base = if ctx.level == 0 {
            None
        } else {
            walk.base_of(pack, ctx.entry.pack_offset())
                .and_then(|b| walk.records.get(b))
                .and_then(OnceLock::get)
        };
        let record = match base {
            None => self.blob(id, data, Base::Root),
            Some(base_record) => {
                let size = ctx.entry.decompressed_size as usize;
                self.delta.resize(size, 0);
                let parsed = pack
                    .pack
                    .data
                    .decompress_entry(ctx.entry, &mut self.inflate, &mut self.delta)
                    .ok()
                    .and_then(|_| delta::parse(&self.delta, data.len(), &mut self.ops));
                match parsed {
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
                }
            }
        };
        if let Some(r) = record {
            let _ = walk.records[i].set((!r.is_empty()).then(|| Box::new(r)));
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
}

/// Every pack and loose object of a repository, opened once for the stages of the pass.
pub(crate) struct ObjectDb {
    packs: Vec<PackInfo>,
    loose: Vec<(PathBuf, gix::ObjectId)>,
    problems: Vec<Unreadable>,
}

impl ObjectDb {
    /// Opens the packs of `objects_dir` and its alternates and lists their loose objects.
    pub(crate) fn open(objects_dir: &Path) -> ObjectDb {
        let dirs = object_dirs(objects_dir);
        let mut packs: Vec<PackInfo> = Vec::new();
        let mut problems = Vec::new();
        for dir in &dirs {
            for idx in pack_indexes(dir) {
                match open_pack(&idx) {
                    Ok(pack) => {
                        let earlier: Vec<&Pack> = packs.iter().map(|p| &p.pack).collect();
                        let duplicate = duplicates(&pack.index, &earlier);
                        let kinds = entry_kinds(&pack);
                        packs.push(PackInfo {
                            pack,
                            duplicate,
                            kinds,
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

fn open_pack(idx: &Path) -> Result<Pack, String> {
    let index = pack::index::File::at(idx, gix::hash::Kind::Sha1).map_err(|e| e.to_string())?;
    let data = pack::data::File::at(idx.with_extension("pack"), gix::hash::Kind::Sha1)
        .map_err(|e| e.to_string())?;
    Ok(Pack { index, data })
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

/// The type of every entry, from the entry headers alone (nothing inflated): a base's type
/// is in its header, and a delta has its base's type. Offset deltas point backwards, so one
/// pass in offset order settles them; ref deltas may point anywhere and are settled after.
fn entry_kinds(p: &Pack) -> Vec<u8> {
    use pack::data::entry::Header;
    let index = &p.index;
    let n = index.num_objects();
    let mut by_offset: Vec<(u64, u32)> =
        (0..n).map(|i| (index.pack_offset_at_index(i), i)).collect();
    by_offset.sort_unstable();
    let mut kinds = vec![UNKNOWN; n as usize];
    let mut pending: Vec<(u32, u32)> = Vec::new(); // (entry, its base), both index positions
    for &(offset, i) in &by_offset {
        let Ok(entry) = p.data.entry(offset) else {
            continue;
        };
        let base = match entry.header {
            Header::Commit => {
                kinds[i as usize] = COMMIT;
                continue;
            }
            Header::Tree => {
                kinds[i as usize] = TREE;
                continue;
            }
            Header::Blob => {
                kinds[i as usize] = BLOB;
                continue;
            }
            Header::Tag => {
                kinds[i as usize] = TAG;
                continue;
            }
            Header::OfsDelta { base_distance } => entry
                .checked_base_pack_offset(base_distance)
                .and_then(|o| by_offset.binary_search_by_key(&o, |&(off, _)| off).ok())
                .map(|k| by_offset[k].1),
            Header::RefDelta { base_id } => index.lookup(base_id.as_ref()),
        };
        match base {
            Some(b) if kinds[b as usize] != UNKNOWN => kinds[i as usize] = kinds[b as usize],
            Some(b) => pending.push((i, b)),
            None => {}
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
    kinds
}

/// What the pack-aware pass keeps during one pack's delta-tree walk.
struct DeltaWalk {
    /// (pack offset, entry position) of the walked entries, sorted.
    by_offset: Vec<(u64, u32)>,
    /// Per entry position, set once the blob was matched completely: what its deltas need
    /// (`None`: nothing).
    records: Vec<OnceLock<Option<Box<Record>>>>,
}

impl DeltaWalk {
    /// The entry position of the base of the delta at `offset`.
    fn base_of(&self, pack: &PackInfo, offset: u64) -> Option<usize> {
        use pack::data::entry::Header;
        let entry = pack.pack.data.entry(offset).ok()?;
        match entry.header {
            Header::OfsDelta { base_distance } => {
                let base = entry.checked_base_pack_offset(base_distance)?;
                let k = self
                    .by_offset
                    .binary_search_by_key(&base, |&(o, _)| o)
                    .ok()?;
                Some(self.by_offset[k].1 as usize)
            }
            Header::RefDelta { base_id } => {
                pack.pack.index.lookup(base_id.as_ref()).map(|i| i as usize)
            }
            _ => None,
        }
    }
}

fn walk_pack<V: Visit>(
    p: &PackInfo,
    stage: Stage,
    shared: &Shared<'_, V>,
    odb: &gix::ThreadSafeRepository,
) {
    let n = p.pack.index.num_objects() as usize;
    let done: Vec<AtomicBool> = (0..n).map(|_| AtomicBool::new(false)).collect();
    if let Err(message) = traverse(p, stage, &done, shared) {
        let left: Vec<u32> = (0..n as u32)
            .filter(|&i| {
                stage.wants(p.kinds[i as usize]) && !done[i as usize].load(Ordering::Relaxed)
            })
            .collect();
        if let Ok(mut stats) = shared.stats.lock() {
            stats.notes.push(format!(
                "pack {}: delta-tree walk failed ({message}); reading its {} remaining objects one by one",
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
}

/// The delta-tree walk of the entries of one pack that `stage` wants. Marks each entry it
/// reaches in `done`.
fn traverse<V: Visit>(
    p: &PackInfo,
    stage: Stage,
    done: &[AtomicBool],
    shared: &Shared<'_, V>,
) -> Result<(), String> {
    let index = &p.pack.index;
    let mut by_offset: Vec<(u64, u32)> = (0..index.num_objects())
        .filter(|&i| stage.wants(p.kinds[i as usize]))
        .map(|i| (index.pack_offset_at_index(i), i))
        .collect();
    if by_offset.is_empty() {
        return Ok(());
    }
    by_offset.sort_unstable();
    // gix reads the first header where the pack's entries begin, whatever offset it is given:
    // keep the pack's first entry (never a delta) in every stage; it is not visited here
    // unless the stage wants it.
    if let Some(first) = (0..index.num_objects()).min_by_key(|&i| index.pack_offset_at_index(i))
        && by_offset[0].1 != first
    {
        by_offset.insert(0, (index.pack_offset_at_index(first), first));
    }
    let interrupt = AtomicBool::new(false);
    let tree = pack::cache::delta::Tree::from_offsets_in_pack(
        p.pack.data.path(),
        by_offset.iter().map(|&(_, i)| i),
        &|&i| index.pack_offset_at_index(i),
        &|id| Ok(index.lookup(id).map(|i| index.pack_offset_at_index(i))),
        &mut gix::progress::Discard,
        &interrupt,
        gix::hash::Kind::Sha1,
    )
    .map_err(|e| e.to_string())?;
    let deltas = shared.opts.deltas && stage == Stage::Content;
    let walk = DeltaWalk {
        records: if deltas {
            (0..index.num_objects()).map(|_| OnceLock::new()).collect()
        } else {
            Vec::new()
        },
        by_offset: if deltas { by_offset } else { Vec::new() },
    };
    let walk = &walk;
    let mut worker = Worker::new(shared);
    let progress = shared.progress;
    let duplicate = &p.duplicate;
    let kinds = &p.kinds;
    let inspect = move |pos: &mut u32,
                        _: &dyn gix::progress::Progress,
                        ctx: pack::cache::delta::traverse::Context<'_>| {
        let i = *pos as usize;
        if !stage.wants(kinds[i]) {
            return Ok(());
        }
        done[i].store(true, Ordering::Relaxed);
        progress.step(1);
        if duplicate.get(i).copied().unwrap_or(false) {
            return Ok(());
        }
        let id = index.oid_at_index(*pos);
        match ctx.entry.header.as_kind() {
            Some(gix::objs::Kind::Blob) if deltas => worker.packed_blob(p, walk, i, &ctx),
            Some(gix::objs::Kind::Blob) => {
                worker.blob(BlobId::from_gix(id), ctx.decompressed, Base::Unknown);
            }
            Some(gix::objs::Kind::Commit) => {
                worker.commit(CommitId::from_gix(id), ctx.decompressed)
            }
            Some(gix::objs::Kind::Tree) => worker.tree(TreeId::from_gix(id), ctx.decompressed),
            _ => {}
        }
        Ok(())
    };
    let mut size_progress = gix::progress::Discard;
    tree.traverse(
        |slice, data: &pack::data::File| data.entry_slice(slice),
        &p.pack.data,
        p.pack.data.pack_end() as u64,
        inspect,
        pack::cache::delta::traverse::Options {
            object_progress: Box::new(gix::progress::Discard),
            size_progress: &mut size_progress,
            thread_limit: Some(shared.opts.threads),
            should_interrupt: &interrupt,
            object_hash: gix::hash::Kind::Sha1,
            alloc_limit_bytes: None,
        },
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
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
