//! Every tree of the repository, kept in memory in a compact form, so that diffing tens of
//! thousands of commits reads no object.
//!
//! After the blobs are matched, the object pass rebuilds every tree (base first, like
//! everything else: a fraction of a second) and keeps of each only what provenance needs:
//! its subtrees and its blobs *of interest* (those with findings), each as 12 bytes: an
//! interned name, and the first 63 bits of the subtree's id or the number of the blob. A
//! subtree is looked up by that prefix only when a diff descends into it, so building the
//! forest does no random lookups per entry. Blobs without findings are
//! dropped: a commit can only introduce, and a parent can only already hold, a secret through
//! a blob that has one. Memory is about 12 bytes per kept entry.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

use crate::delta::Outcome;
use crate::id::{BlobId, CommitId, TreeId};
use crate::objects::{Base, Visit};
use crate::parse::{self, EntryKind};
use crate::stats::{Unreadable, short_path};

/// Hashes object ids by their first 8 bytes (they are already uniformly random), and short
/// byte strings with FNV-1a.
#[derive(Debug, Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        if bytes.len() == 20
            && let Some(head) = bytes.first_chunk::<8>()
        {
            self.0 ^= u64::from_le_bytes(*head);
            return;
        }
        let mut h = self.0 ^ 0xcbf2_9ce4_8422_2325;
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        self.0 = h;
    }

    /// Length prefixes carry nothing for fixed-size ids, and little for names.
    fn write_usize(&mut self, _: usize) {}

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap`/`HashSet` hasher for object ids and names.
pub(crate) type IdBuild = BuildHasherDefault<IdHasher>;

/// What [`Forest::diff`] calls for each blob of interest: (path, blob, old blob at the path).
pub(crate) type OnBlob<'a> = dyn FnMut(&[u32], u32, Option<u32>) + 'a;

/// In an entry's target: the target is a blob of interest (else a subtree's id prefix).
const BLOB: u64 = 1 << 63;
/// No tree: a tree that was never rebuilt (it could not be read).
const NOWHERE: u32 = u32::MAX;
/// Trees nested deeper than this are not descended into (git's own `core.maxTreeDepth`
/// defaults to 2048; real trees nest a few dozen levels). Bounds the recursion.
pub(crate) const MAX_DEPTH: usize = 1024;
/// At most this many damaged trees are recorded.
const MAX_DAMAGE: usize = 1000;

/// A tree a diff could not descend into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Damage {
    /// The tree is its own ancestor.
    Cycle(TreeId),
    /// The tree sits deeper than [`MAX_DEPTH`].
    TooDeep(TreeId),
    /// No tree with this id prefix is in the database.
    Missing(u64),
}

/// One kept tree entry: name number, then target, split so that it packs into 12 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    name: u32,
    hi: u32,
    lo: u32,
}

impl Entry {
    fn new(name: u32, target: u64) -> Entry {
        Entry {
            name,
            hi: (target >> 32) as u32,
            lo: target as u32,
        }
    }

    fn target(self) -> u64 {
        (u64::from(self.hi) << 32) | u64::from(self.lo)
    }

    /// The number of the blob of interest, if the entry is one.
    fn blob(self) -> Option<u32> {
        let t = self.target();
        (t & BLOB != 0).then_some((t & !BLOB) as u32)
    }

    /// The subtree's id prefix, if the entry is a subtree.
    fn subtree(self) -> Option<u64> {
        let t = self.target();
        (t & BLOB == 0).then_some(t)
    }
}

/// The first 63 bits of a tree id: what entries store and lookups use.
fn prefix(id: &[u8; 20]) -> u64 {
    let mut head = [0u8; 8];
    head.copy_from_slice(&id[..8]);
    u64::from_le_bytes(head) & !BLOB
}

/// What one worker kept of the trees it rebuilt, with its own name numbering.
#[derive(Default)]
pub(crate) struct Chunk {
    names: HashMap<Vec<u8>, u32, IdBuild>,
    entries: Vec<Entry>,
    /// (tree, start, len) into `entries`.
    trees: Vec<(u32, u32, u32)>,
    gitlinks: Vec<[u8; 20]>,
}

/// The object-pass visitor of the tree stage.
pub(crate) struct ForestBuilder<'a> {
    trees: HashMap<TreeId, u32, IdBuild>,
    interest: &'a HashMap<BlobId, u32, IdBuild>,
    chunks: Mutex<Vec<Chunk>>,
}

impl<'a> ForestBuilder<'a> {
    /// `trees`: every tree id of the database; `interest`: the blobs with findings, numbered.
    pub(crate) fn new(trees: Vec<TreeId>, interest: &'a HashMap<BlobId, u32, IdBuild>) -> Self {
        let mut index: HashMap<TreeId, u32, IdBuild> =
            HashMap::with_capacity_and_hasher(trees.len(), IdBuild::default());
        for t in trees {
            let next = index.len() as u32;
            index.entry(t).or_insert(next);
        }
        ForestBuilder {
            trees: index,
            interest,
            chunks: Mutex::default(),
        }
    }

    /// Joins what the workers kept; `blobs` are the blobs of interest by number.
    pub(crate) fn into_forest(self, blobs: Vec<BlobId>) -> Forest {
        let chunks = self.chunks.into_inner().unwrap_or_else(|e| e.into_inner());
        Forest::build(self.trees, chunks, blobs)
    }
}

impl Visit for ForestBuilder<'_> {
    type State = Chunk;

    fn state(&self) -> Chunk {
        Chunk::default()
    }

    fn blob(&self, _: &mut Chunk, _: BlobId, _: &[u8], _: Base<'_>) -> Outcome {
        Outcome::default()
    }

    fn commit(&self, _: &mut Chunk, _: CommitId, _: &[u8]) {}

    fn tree(&self, chunk: &mut Chunk, id: TreeId, data: &[u8]) {
        let Some(&me) = self.trees.get(&id) else {
            return;
        };
        let start = chunk.entries.len() as u32;
        for e in parse::tree(data) {
            let target = match e.kind {
                EntryKind::Tree => prefix(&e.id),
                EntryKind::Blob => match self.interest.get(&BlobId::from_bytes(e.id)) {
                    Some(&b) => BLOB | u64::from(b),
                    None => continue,
                },
                EntryKind::Gitlink => {
                    chunk.gitlinks.push(e.id);
                    continue;
                }
            };
            let name = match chunk.names.get(e.name) {
                Some(&n) => n,
                None => {
                    let n = chunk.names.len() as u32;
                    chunk.names.insert(e.name.to_vec(), n);
                    n
                }
            };
            chunk.entries.push(Entry::new(name, target));
        }
        let len = chunk.entries.len() as u32 - start;
        chunk.trees.push((me, start, len));
    }

    fn finish(&self, chunk: Chunk) {
        if chunk.trees.is_empty() {
            return;
        }
        if let Ok(mut chunks) = self.chunks.lock() {
            chunks.push(chunk);
        }
    }
}

/// Every tree's subtrees and blobs of interest; names numbered in byte order.
pub(crate) struct Forest {
    index: HashMap<TreeId, u32, IdBuild>,
    /// Tree id prefix to tree number.
    by_prefix: HashMap<u64, u32, IdBuild>,
    /// Per tree: (chunk, start, len), or `NOWHERE` in the chunk slot when never rebuilt.
    place: Vec<(u32, u32, u32)>,
    entries: Vec<Vec<Entry>>,
    names: Vec<Vec<u8>>,
    blobs: Vec<BlobId>,
    /// Distinct submodule commits named by any tree.
    pub gitlinks: u64,
    /// Trees the diffs could not descend into, and a path where each was met.
    damage: Mutex<Vec<(Damage, Vec<u8>)>>,
}

impl Forest {
    fn build(
        index: HashMap<TreeId, u32, IdBuild>,
        chunks: Vec<Chunk>,
        blobs: Vec<BlobId>,
    ) -> Forest {
        // One numbering of names for all workers, in byte order, so that entries sorted by
        // name number are sorted by name.
        let mut names: Vec<Vec<u8>> = chunks
            .iter()
            .flat_map(|c| c.names.keys().cloned())
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut place = vec![(NOWHERE, 0, 0); index.len()];
        let mut entries = Vec::with_capacity(chunks.len());
        let mut gitlinks: HashSet<[u8; 20], IdBuild> = HashSet::default();
        for (k, c) in chunks.into_iter().enumerate() {
            let mut remap = vec![0u32; c.names.len()];
            for (name, &local) in &c.names {
                remap[local as usize] = names.binary_search(name).unwrap_or(0) as u32;
            }
            let mut list = c.entries;
            for e in list.iter_mut() {
                e.name = remap[e.name as usize];
            }
            for &(tree, start, len) in &c.trees {
                let slice = &mut list[start as usize..(start + len) as usize];
                if !slice.is_sorted() {
                    slice.sort_unstable();
                }
                if place[tree as usize].0 == NOWHERE {
                    place[tree as usize] = (k as u32, start, len);
                }
            }
            gitlinks.extend(c.gitlinks.iter().copied());
            entries.push(list);
        }
        let by_prefix = index
            .iter()
            .map(|(id, &i)| (prefix(id.as_bytes()), i))
            .collect();
        Forest {
            index,
            by_prefix,
            place,
            entries,
            names,
            blobs,
            gitlinks: gitlinks.len() as u64,
            damage: Mutex::default(),
        }
    }

    /// The tree's number, if the database has it.
    pub(crate) fn tree(&self, id: TreeId) -> Option<u32> {
        self.index.get(&id).copied()
    }

    fn entries(&self, tree: u32) -> &[Entry] {
        match self.place.get(tree as usize) {
            Some(&(chunk, start, len)) if chunk != NOWHERE => {
                &self.entries[chunk as usize][start as usize..(start + len) as usize]
            }
            _ => &[],
        }
    }

    /// The blob of interest numbered `b`.
    pub(crate) fn blob(&self, b: u32) -> BlobId {
        self.blobs[b as usize]
    }

    /// Calls `f(path, blob, old)` for every blob of interest of `new` that `old` does not
    /// have at the same path (`old`: `old`'s blob of interest there, if any). Equal subtrees
    /// are skipped. A subtree that is one of its own ancestors (a damaged object database
    /// can hold a tree that lists itself), nesting deeper than [`MAX_DEPTH`], and a subtree
    /// that the database lacks are not descended into; each is recorded in [`Forest::damage`].
    pub(crate) fn diff(&self, old: Option<u32>, new: u32, path: &mut Vec<u32>, f: &mut OnBlob<'_>) {
        let mut ancestors = Vec::new();
        self.diff_in(old, new, path, &mut ancestors, f);
    }

    fn diff_in(
        &self,
        old: Option<u32>,
        new: u32,
        path: &mut Vec<u32>,
        ancestors: &mut Vec<u32>,
        f: &mut OnBlob<'_>,
    ) {
        if old == Some(new) {
            return;
        }
        if ancestors.contains(&new) {
            return self.damaged(Damage::Cycle(self.id_of(new)), path);
        }
        if ancestors.len() >= MAX_DEPTH {
            return self.damaged(Damage::TooDeep(self.id_of(new)), path);
        }
        ancestors.push(new);
        let a = old.map_or(&[][..], |t| self.entries(t));
        let b = self.entries(new);
        let mut i = 0;
        for &e in b {
            while i < a.len() && a[i].name < e.name {
                i += 1;
            }
            let before = a.get(i).copied().filter(|o| o.name == e.name);
            if before == Some(e) {
                continue;
            }
            path.push(e.name);
            match (e.blob(), e.subtree()) {
                (Some(blob), _) => f(path, blob, before.and_then(Entry::blob)),
                (None, Some(sub)) => match self.by_prefix.get(&sub) {
                    Some(&tree) => {
                        let old_tree = before
                            .and_then(Entry::subtree)
                            .and_then(|p| self.by_prefix.get(&p).copied());
                        self.diff_in(old_tree, tree, path, ancestors, f);
                    }
                    None => self.damaged(Damage::Missing(sub), path),
                },
                (None, None) => {}
            }
            path.pop();
        }
        ancestors.pop();
    }

    fn damaged(&self, what: Damage, path: &[u32]) {
        if let Ok(mut damage) = self.damage.lock()
            && damage.len() < MAX_DAMAGE
            && !damage.iter().any(|(d, _)| *d == what)
        {
            damage.push((what, self.path_bytes(path)));
        }
    }

    /// The id of tree number `tree`.
    fn id_of(&self, tree: u32) -> TreeId {
        self.index
            .iter()
            .find(|&(_, &n)| n == tree)
            .map_or(TreeId::from_bytes([0; 20]), |(id, _)| *id)
    }

    /// What the diffs so far could not descend into, each once, with a path where it was met.
    pub(crate) fn damage(&self) -> Vec<Unreadable> {
        let damage = self.damage.lock().map(|d| d.clone()).unwrap_or_default();
        damage
            .into_iter()
            .map(|(what, path)| {
                let path = short_path(&path);
                match what {
                    Damage::Cycle(id) => Unreadable {
                        id: id.to_hex(),
                        reason: format!("tree contains itself (at {path}); not descended into"),
                    },
                    Damage::TooDeep(id) => Unreadable {
                        id: id.to_hex(),
                        reason: format!(
                            "trees nested more than {MAX_DEPTH} deep (at {path}); not descended into"
                        ),
                    },
                    Damage::Missing(prefix) => Unreadable {
                        // The forest keeps 63 bits of a subtree's id: its first 7 bytes exactly.
                        id: prefix.to_le_bytes()[..7]
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect(),
                        reason: format!("tree not found (the subtree at {path})"),
                    },
                }
            })
            .collect()
    }

    /// The blob of interest at `path` in `root`, if any.
    pub(crate) fn blob_at(&self, root: u32, path: &[u32]) -> Option<u32> {
        let mut tree = root;
        for (k, &name) in path.iter().enumerate() {
            let list = self.entries(tree);
            let at = list.partition_point(|e| e.name < name);
            let e = *list.get(at).filter(|e| e.name == name)?;
            if k + 1 == path.len() {
                return e.blob();
            }
            tree = *self.by_prefix.get(&e.subtree()?)?;
        }
        None
    }

    /// Every blob of interest in `root`.
    pub(crate) fn all_blobs(&self, root: u32, out: &mut HashSet<BlobId>) {
        let mut path = Vec::new();
        self.diff(None, root, &mut path, &mut |_, b, _| {
            out.insert(self.blob(b));
        });
    }

    /// The bytes of a path of name numbers.
    pub(crate) fn path_bytes(&self, path: &[u32]) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, &n) in path.iter().enumerate() {
            if k > 0 {
                out.push(b'/');
            }
            out.extend_from_slice(&self.names[n as usize]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(entries: &[(&str, &str, [u8; 20])]) -> Vec<u8> {
        let mut data = Vec::new();
        for (mode, name, id) in entries {
            data.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            data.extend_from_slice(id);
        }
        data
    }

    #[test]
    fn diffs_and_lookups_see_only_blobs_of_interest() {
        let secret = BlobId::from_bytes([7; 20]);
        let interest: HashMap<BlobId, u32, IdBuild> = [(secret, 0)].into_iter().collect();
        let (sub, old_root, new_root) = ([1; 20], [2; 20], [3; 20]);
        let ids = [sub, old_root, new_root].map(TreeId::from_bytes).to_vec();
        let builder = ForestBuilder::new(ids, &interest);
        let mut chunk = builder.state();
        // old: { a: sub, readme }      new: { a: sub, b: sub, top.txt: secret, mod: gitlink }
        // sub: { key.txt: secret, other }
        builder.tree(
            &mut chunk,
            TreeId::from_bytes(sub),
            &tree(&[("100644", "key.txt", [7; 20]), ("100644", "other", [8; 20])]),
        );
        builder.tree(
            &mut chunk,
            TreeId::from_bytes(old_root),
            &tree(&[("40000", "a", sub), ("100644", "readme", [8; 20])]),
        );
        builder.tree(
            &mut chunk,
            TreeId::from_bytes(new_root),
            &tree(&[
                ("40000", "a", sub),
                ("40000", "b", sub),
                ("160000", "mod", [9; 20]),
                ("100644", "top.txt", [7; 20]),
            ]),
        );
        builder.finish(chunk);
        let forest = builder.into_forest(vec![secret]);
        let (old, new) = (
            forest.tree(TreeId::from_bytes(old_root)),
            forest.tree(TreeId::from_bytes(new_root)),
        );
        let new = new.expect("known tree");
        let mut seen = Vec::new();
        forest.diff(old, new, &mut Vec::new(), &mut |p, b, o| {
            seen.push((
                String::from_utf8_lossy(&forest.path_bytes(p)).into_owned(),
                b,
                o,
            ));
        });
        assert_eq!(
            seen,
            [
                ("b/key.txt".to_string(), 0, None),
                ("top.txt".to_string(), 0, None)
            ]
        );
        let path: Vec<u32> = ["a", "key.txt"]
            .iter()
            .map(|n| {
                forest
                    .names
                    .iter()
                    .position(|x| x == n.as_bytes())
                    .expect("interned") as u32
            })
            .collect();
        assert_eq!(forest.blob_at(new, &path), Some(0));
        assert_eq!(forest.blob_at(new, &path[..1]), None);
        let mut all = HashSet::new();
        forest.all_blobs(new, &mut all);
        assert_eq!(all.len(), 1);
        assert_eq!(forest.gitlinks, 1);
        assert_eq!(forest.tree(TreeId::from_bytes([4; 20])), None);
    }
}
