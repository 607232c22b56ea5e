//! Reading single blobs for the range engine straight from the packs, with libdeflate, and
//! with the objects of recent delta chains kept: a file's new version and its parent's are
//! usually one delta apart (git makes the newer one the base), so the second read applies one
//! small delta to bytes already at hand instead of inflating the chain again.
//!
//! Only the plain case is served here: an object in one of the packs of the repository's
//! object directories (and alternates), whose chain stays in that pack and ends in a blob.
//! Anything else (a loose object, the quarantine of a push, a ref delta whose base is
//! elsewhere, an entry that does not parse or inflate) is read through gix, exactly as before,
//! so that its errors and their messages are gix's.

use std::collections::VecDeque;
use std::sync::Arc;

use gix::odb::pack;

use crate::changed::read_blob;
use crate::delta;
use crate::id::BlobId;
use crate::objects;
use crate::packread::{self, EntryBase};

/// The longest delta chain followed; git's own limit is far lower, so a longer one is a
/// loop in a corrupt pack (then gix reads the object and reports it).
const MAX_CHAIN: usize = 10_000;
/// Rebuilt objects kept per reader (a job reads a new blob and its parents' versions: a few
/// chains, whose bases and tops are kept)…
const CACHE_OBJECTS: usize = 4;
/// …and their bytes at most.
const CACHE_BYTES: usize = 32 << 20;
/// Objects over this size are left to gix.
const MAX_OBJECT: u64 = 1 << 30;

/// A pack's index and mapped data.
struct Pack {
    index: pack::index::File,
    data: pack::data::File,
}

/// The packs of a repository's object directory and its alternates, opened once and shared
/// by readers, and the repository for what they do not serve.
pub(crate) struct Packs<'r> {
    packs: Vec<Pack>,
    repo: &'r gix::ThreadSafeRepository,
}

impl<'r> Packs<'r> {
    /// Opens every pack of `repo`'s object directory and its alternates; one that does not
    /// open is left out (its objects are then read through gix).
    pub(crate) fn open(repo: &'r gix::ThreadSafeRepository) -> Packs<'r> {
        let mut packs = Vec::new();
        for dir in objects::object_dirs(repo.objects_dir()) {
            let Ok(read) = std::fs::read_dir(dir.join("pack")) else {
                continue;
            };
            let mut idx: Vec<_> = read
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "idx"))
                .collect();
            idx.sort();
            for path in idx {
                let index = pack::index::File::at(&path, gix::hash::Kind::Sha1);
                let data = pack::data::File::at(path.with_extension("pack"), gix::hash::Kind::Sha1);
                if let (Ok(index), Ok(data)) = (index, data) {
                    packs.push(Pack { index, data });
                }
            }
        }
        Packs { packs, repo }
    }

    /// A reader for one thread.
    pub(crate) fn reader(&self) -> BlobReader<'_> {
        BlobReader {
            packs: self,
            local: None,
            inflater: libdeflater::Decompressor::new(),
            cache: VecDeque::new(),
            cached_bytes: 0,
            chain: Vec::new(),
            top_delta: None,
        }
    }

    /// The pack and offset of `id`.
    fn locate(&self, id: &gix::oid) -> Option<(usize, u64)> {
        self.packs.iter().enumerate().find_map(|(p, pack)| {
            let i = pack.index.lookup(id)?;
            Some((p, pack.index.pack_offset_at_index(i)))
        })
    }
}

/// One entry of a chain: where it is, its header.
struct Link {
    offset: u64,
    header: packread::EntryHeader,
}

/// Reads blobs for one worker; see the module's documentation.
pub(crate) struct BlobReader<'a> {
    packs: &'a Packs<'a>,
    /// The object database for what the packs do not serve, opened on first need.
    local: Option<gix::Repository>,
    inflater: libdeflater::Decompressor,
    /// Recently rebuilt objects by (pack, offset), newest last.
    cache: VecDeque<(usize, u64, Arc<Vec<u8>>)>,
    cached_bytes: usize,
    /// The chain being rebuilt, from the object asked for down to its base.
    chain: Vec<Link>,
    /// The inflated delta of the object asked for, once its size has been read from it.
    top_delta: Option<Vec<u8>>,
}

impl<'a> BlobReader<'a> {
    /// Reads a blob; `Ok(None)` when it is over `max` bytes (then it is not rebuilt). The
    /// same contract as [`read_blob`]; the bytes are shared with the reader's cache.
    pub(crate) fn read(&mut self, id: BlobId, max: u64) -> Result<Option<Arc<Vec<u8>>>, String> {
        if let Some(found) = self.packed(&id.to_gix(), max) {
            return Ok(found);
        }
        let repo = self.packs.repo;
        let local = self.local.get_or_insert_with(|| repo.to_thread_local());
        let mut buf = Vec::new();
        Ok(read_blob(local, id, max, &mut buf)?.then(|| Arc::new(buf)))
    }

    /// The blob from the packs: `Some(None)` when it is over `max`, `None` when it is not
    /// the plain case (see the module's documentation).
    fn packed(&mut self, id: &gix::oid, max: u64) -> Option<Option<Arc<Vec<u8>>>> {
        let packs = self.packs;
        let (p, offset) = packs.locate(id)?;
        let pack = &packs.packs[p];
        let end = pack.data.pack_end() as u64;
        // Down the chain to a whole object, or to one already rebuilt.
        self.chain.clear();
        let mut at = offset;
        let cached = loop {
            if let Some(i) = self.cached(p, at) {
                break Some(i);
            }
            if self.chain.len() >= MAX_CHAIN {
                return None;
            }
            let bytes = pack
                .data
                .entry_slice(at..end.min(at + packread::MAX_HEADER as u64))?;
            let header = packread::parse_header(bytes)?;
            let next = match header.base {
                EntryBase::None => None,
                EntryBase::Offset(d) => Some(at.checked_sub(d)?),
                EntryBase::Id(base) => {
                    let i = pack.index.lookup(gix::oid::try_from_bytes(&base).ok()?)?;
                    Some(pack.index.pack_offset_at_index(i))
                }
            };
            self.chain.push(Link { offset: at, header });
            match next {
                Some(n) => at = n,
                None => break None,
            }
        };
        // A cached object was a blob; an entry stored whole must be one.
        if cached.is_none() && self.chain.last()?.header.kind != 3 {
            return None;
        }
        // Its size: the header's for a whole object, the delta's target size for a delta.
        let entry = |link: &Link| {
            let from = link.offset + link.header.len as u64;
            pack.data.entry_slice(from..end)
        };
        let top = self.chain.first();
        let size = match top {
            None => self.cache[cached?].2.len() as u64,
            Some(link) if link.header.kind == 3 => link.header.size,
            Some(link) => {
                let d = inflate(&mut self.inflater, entry(link)?, link.header.size)?;
                let size = delta_target_size(&d)?;
                self.top_delta = Some(d);
                size as u64
            }
        };
        if size > max {
            self.top_delta = None;
            return Some(None);
        }
        if size > MAX_OBJECT {
            self.top_delta = None;
            return None;
        }
        let rebuilt = self.rebuild(p, cached, &entry);
        self.top_delta = None;
        let data = rebuilt?;
        self.keep(p, offset, &data);
        Some(Some(data))
    }

    /// Rebuilds the top of `self.chain` from its bottom (or from the cached object), keeping
    /// the base it started from. `self.top_delta` may already hold the top's delta.
    fn rebuild<'p>(
        &mut self,
        p: usize,
        cached: Option<usize>,
        entry: &dyn Fn(&Link) -> Option<&'p [u8]>,
    ) -> Option<Arc<Vec<u8>>> {
        let mut data = match cached {
            Some(i) => Arc::clone(&self.cache[i].2),
            None => {
                let base = self.chain.pop()?;
                let size = usize::try_from(base.header.size).ok()?;
                let data = inflate(&mut self.inflater, entry(&base)?, base.header.size)?;
                (data.len() == size).then_some(())?;
                let data = Arc::new(data);
                if !self.chain.is_empty() {
                    self.keep(p, base.offset, &data);
                }
                data
            }
        };
        // Apply from the bottom of the chain up; the top's delta may be inflated already.
        for (k, link) in self.chain.iter().enumerate().rev() {
            let inflated;
            let d = match &self.top_delta {
                Some(d) if k == 0 => d,
                _ => {
                    inflated = inflate(&mut self.inflater, entry(link)?, link.header.size)?;
                    &inflated
                }
            };
            let mut out = Vec::new();
            delta::apply(d, &data, &mut out)?;
            data = Arc::new(out);
        }
        Some(data)
    }

    /// The cache slot of (pack, offset).
    fn cached(&self, p: usize, offset: u64) -> Option<usize> {
        self.cache
            .iter()
            .rposition(|(cp, co, _)| *cp == p && *co == offset)
    }

    /// Keeps a rebuilt object, dropping the oldest over the limits.
    fn keep(&mut self, p: usize, offset: u64, data: &Arc<Vec<u8>>) {
        if data.len() > CACHE_BYTES / 4 || self.cached(p, offset).is_some() {
            return;
        }
        self.cached_bytes += data.len();
        self.cache.push_back((p, offset, Arc::clone(data)));
        while self.cache.len() > CACHE_OBJECTS || self.cached_bytes > CACHE_BYTES {
            match self.cache.pop_front() {
                Some((_, _, old)) => self.cached_bytes -= old.len(),
                None => break,
            }
        }
    }
}

/// Inflates an entry's data to its `size` bytes; `None` when it does not come out so.
fn inflate(inflater: &mut libdeflater::Decompressor, input: &[u8], size: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    objects::inflate(inflater, input, usize::try_from(size).ok()?, &mut out).ok()?;
    Some(out)
}

/// The target size a delta announces (its second varint).
fn delta_target_size(d: &[u8]) -> Option<usize> {
    let mut pos = 0;
    let mut sizes = [0usize; 2];
    for s in &mut sizes {
        let mut shift = 0;
        loop {
            let b = *d.get(pos)?;
            pos += 1;
            *s |= usize::from(b & 0x7f).checked_shl(shift)?;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
            if shift > 63 {
                return None;
            }
        }
    }
    Some(sizes[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository with versions of a file that git stores as delta chains (repacked), one
    /// more version loose, and a tree; the pack's and the loose objects' ids.
    fn repository() -> (tempfile::TempDir, Vec<BlobId>, BlobId, gix::ObjectId) {
        let dir = tempfile::TempDir::new().expect("tempdir");
        let git = |args: &[&str]| crate::testgit::git(dir.path(), args);
        git(&["init", "-q"]);
        let mut text: String = (0..400).map(|i| format!("line {i} of a file\n")).collect();
        for round in 0..8 {
            text.insert_str(round * 97, &format!("edit {round}\n"));
            std::fs::write(dir.path().join("a.txt"), &text).expect("write");
            git(&["add", "-A"]);
            git(&["commit", "-q", "-m", &format!("round {round}")]);
        }
        git(&["repack", "-adfq", "--depth=4"]);
        text.push_str("loose\n");
        std::fs::write(dir.path().join("a.txt"), &text).expect("write");
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", "loose"]);
        let id = |rev: &str| {
            let out = std::process::Command::new("git")
                .args(["rev-parse", rev])
                .current_dir(dir.path())
                .output()
                .expect("git rev-parse");
            let hex = String::from_utf8(out.stdout).expect("utf-8");
            gix::ObjectId::from_hex(hex.trim().as_bytes()).expect("an id")
        };
        let packed: Vec<BlobId> = (1..=8)
            .map(|k| BlobId::from_gix(&id(&format!("HEAD~{k}:a.txt"))))
            .collect();
        let loose = BlobId::from_gix(&id("HEAD:a.txt"));
        let tree = id("HEAD~1^{tree}");
        (dir, packed, loose, tree)
    }

    #[test]
    fn blobs_read_from_the_packs_are_those_gix_reads() {
        let (dir, packed, loose, tree) = repository();
        let repo = gix::open(dir.path()).expect("open");
        let sync = repo.clone().into_sync();
        let packs = Packs::open(&sync);
        assert_eq!(packs.packs.len(), 1);
        let mut reader = packs.reader();
        let mut served = 0;
        // Newest first, then oldest first: each order finds its bases cached differently.
        let order: Vec<BlobId> = packed.iter().chain(packed.iter().rev()).copied().collect();
        for id in order.iter().chain([&loose]) {
            let ours = reader.read(*id, u64::MAX).expect("read").expect("not over");
            let mut theirs = Vec::new();
            assert_eq!(read_blob(&repo, *id, u64::MAX, &mut theirs), Ok(true));
            assert_eq!(*ours, theirs, "{id:?}");
            served += usize::from(reader.packed(&id.to_gix(), u64::MAX).is_some());
        }
        assert_eq!(
            served,
            order.len(),
            "every packed blob came from the pack, the loose one not"
        );
        // Over the limit: not rebuilt, from the pack as through gix.
        assert_eq!(reader.read(packed[0], 100), Ok(None));
        assert_eq!(reader.read(loose, 100), Ok(None));
        // Not a blob: gix's message.
        let tree = BlobId::from_gix(&tree);
        let ours = reader.read(tree, u64::MAX).map(|_| ());
        assert_eq!(
            ours,
            read_blob(&repo, tree, u64::MAX, &mut Vec::new()).map(|_| ())
        );
        assert!(ours.is_err());
    }
}
