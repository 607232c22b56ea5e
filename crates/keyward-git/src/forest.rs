//! The trees that lead to a blob of interest (a blob with findings), kept in memory in a
//! compact form, so that diffing tens of thousands of commits reads no object.
//!
//! [`build`] finds them in passes over the trees (see there) and keeps of each only the
//! entries that lead to a blob of interest, each as 12 bytes: an interned name, and the first
//! 63 bits of the subtree's id or the number of the blob. A subtree is looked up by that prefix
//! only when a diff descends into it. Everything else is dropped: a commit can only
//! introduce, and a parent can only already hold, a secret through a blob that has one, and a
//! subtree that leads to none cannot. Memory is about 12 bytes per kept entry, plus a few
//! tens of bytes per tree of the database for the id lookups.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

use crate::id::{BlobId, TreeId};
use crate::stats::{ForestSize, Unreadable, short_path};

mod build;

pub(crate) use build::{DbTrees, build};

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

    /// Tree id prefixes are random already: one multiply spreads them over every bit.
    fn write_u64(&mut self, v: u64) {
        self.0 ^= v.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

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

/// Every tree that leads to a blob of interest, with only the entries that do; names
/// numbered in byte order.
pub(crate) struct Forest {
    index: HashMap<TreeId, u32, IdBuild>,
    /// Tree id prefix to tree number, for every tree of the database (a subtree whose
    /// prefix is not here is missing).
    by_prefix: HashMap<u64, u32, IdBuild>,
    /// Per tree number: (start, len) into `entries`; empty for trees that lead to no blob of
    /// interest (or could not be read).
    place: Vec<(u32, u32)>,
    /// The kept entries of each kept tree, sorted by name number.
    entries: Vec<Entry>,
    names: Vec<Vec<u8>>,
    blobs: Vec<BlobId>,
    /// Distinct submodule commits named by any tree.
    pub gitlinks: u64,
    /// Trees the diffs could not descend into, and a path where each was met.
    damage: Mutex<Vec<(Damage, Vec<u8>)>>,
}

impl Forest {
    /// A forest with no trees: what a scan without findings needs.
    pub(crate) fn empty() -> Forest {
        Forest {
            index: HashMap::default(),
            by_prefix: HashMap::default(),
            place: Vec::new(),
            entries: Vec::new(),
            names: Vec::new(),
            blobs: Vec::new(),
            gitlinks: 0,
            damage: Mutex::default(),
        }
    }

    /// How much it holds, after `passes` passes over the trees.
    pub(crate) fn sizes(&self, passes: usize) -> ForestSize {
        ForestSize {
            trees: self.place.len() as u64,
            kept: self.place.iter().filter(|p| p.1 > 0).count() as u64,
            entries: self.entries.len() as u64,
            passes: passes as u64,
        }
    }

    /// The tree's number, if the database has it.
    pub(crate) fn tree(&self, id: TreeId) -> Option<u32> {
        self.index.get(&id).copied()
    }

    fn entries(&self, tree: u32) -> &[Entry] {
        match self.place.get(tree as usize) {
            Some(&(start, len)) => &self.entries[start as usize..(start + len) as usize],
            None => &[],
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
    use super::build::{MAX_CLIMBS, NARROW, TreeSource, build_with};
    use super::*;
    use crate::objects::Visit;
    use crate::stats::ScanStats;

    /// Trees handed over in a fixed order, one worker.
    struct Listed(Vec<(TreeId, Vec<u8>)>);

    impl TreeSource for Listed {
        fn each_tree<V: Visit>(&self, visit: &V, _first: bool) -> ScanStats {
            let mut state = visit.state();
            for (id, data) in &self.0 {
                visit.tree(&mut state, *id, data);
            }
            visit.finish(state);
            ScanStats::default()
        }
    }

    fn tree(entries: &[(&str, &str, [u8; 20])]) -> Vec<u8> {
        let mut data = Vec::new();
        for (mode, name, id) in entries {
            data.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            data.extend_from_slice(id);
        }
        data
    }

    /// A distinct object id for `n`.
    fn id(n: u32) -> [u8; 20] {
        let mut out = [0xa5; 20];
        out[..4].copy_from_slice(&n.to_le_bytes());
        out
    }

    /// Every (path, blob) of interest under `root`.
    fn paths(forest: &Forest, root: [u8; 20]) -> Vec<(String, u32)> {
        let root = forest.tree(TreeId::from_bytes(root)).expect("known tree");
        let mut seen = Vec::new();
        forest.diff(None, root, &mut Vec::new(), &mut |p, b, _| {
            seen.push((
                String::from_utf8_lossy(&forest.path_bytes(p)).into_owned(),
                b,
            ));
        });
        seen
    }

    #[test]
    fn diffs_and_lookups_see_only_blobs_of_interest() {
        let secret = BlobId::from_bytes([7; 20]);
        let (sub, old_root, new_root, plain) = ([1; 20], [2; 20], [3; 20], [5; 20]);
        // old: { a: sub, readme, p: plain }  new: { a: sub, b: sub, top.txt: secret, mod: gitlink }
        // sub: { key.txt: secret, other }    plain: { other }
        let listed = Listed(vec![
            (
                TreeId::from_bytes(sub),
                tree(&[("100644", "key.txt", [7; 20]), ("100644", "other", [8; 20])]),
            ),
            (
                TreeId::from_bytes(old_root),
                tree(&[
                    ("40000", "a", sub),
                    ("40000", "p", plain),
                    ("100644", "readme", [8; 20]),
                ]),
            ),
            (
                TreeId::from_bytes(new_root),
                tree(&[
                    ("40000", "a", sub),
                    ("40000", "b", sub),
                    ("160000", "mod", [9; 20]),
                    ("100644", "top.txt", [7; 20]),
                ]),
            ),
            (
                TreeId::from_bytes(plain),
                tree(&[("100644", "other", [8; 20])]),
            ),
        ]);
        let ids = listed.0.iter().map(|(t, _)| *t).collect();
        let (forest, _, passes) = build(&listed, ids, vec![secret]);
        assert_eq!(passes, 1, "no wide trees: one pass");
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
        // `plain` leads to no blob of interest: neither it nor the entry naming it is kept,
        // nor are names only it uses.
        let size = forest.sizes(passes);
        assert_eq!((size.trees, size.kept, size.entries), (4, 3, 5));
        assert!(!forest.names.iter().any(|n| n == b"p" || n == b"other"));
    }

    /// A tree of `fillers` subtrees named f0, f1, … (all `filler`) plus `extra`.
    fn wide(fillers: usize, filler: [u8; 20], extra: &[(&str, &str, [u8; 20])]) -> Vec<u8> {
        let names: Vec<String> = (0..fillers).map(|i| format!("f{i}")).collect();
        let mut entries: Vec<(&str, &str, [u8; 20])> = names
            .iter()
            .map(|n| ("40000", n.as_str(), filler))
            .collect();
        entries.extend_from_slice(extra);
        tree(&entries)
    }

    #[test]
    fn wide_trees_among_many_narrow_ones_are_kept_whole_in_one_pass() {
        let secret = BlobId::from_bytes([7; 20]);
        let (root, w, s, filler) = (id(1), id(2), id(4), id(6));
        // root: { w } — w: 64 fillers and s — s: { key: secret }, plus enough unrelated
        // trees that w's 65 subtree entries fit the first pass's budget for wide trees.
        let mut trees = vec![
            (TreeId::from_bytes(root), tree(&[("40000", "w", w)])),
            (
                TreeId::from_bytes(w),
                wide(NARROW, filler, &[("40000", "s", s)]),
            ),
            (TreeId::from_bytes(s), tree(&[("100644", "key", [7; 20])])),
            (
                TreeId::from_bytes(filler),
                tree(&[("100644", "other", [8; 20])]),
            ),
        ];
        let unrelated = (NARROW + 1).div_ceil(super::build::WIDE_PER_TREE);
        for i in 0..unrelated {
            let mut other = [0u8; 20];
            other[..8].copy_from_slice(&(1000 + i as u64).to_be_bytes());
            trees.push((TreeId::from_bytes(other), tree(&[("100644", "x", [9; 20])])));
        }
        let listed = Listed(trees);
        let ids = listed.0.iter().map(|(t, _)| *t).collect();
        let (forest, _, passes) = build(&listed, ids, vec![secret]);
        assert_eq!(passes, 1, "the wide tree was kept whole by the survey");
        assert_eq!(paths(&forest, root), [("w/s/key".to_string(), 0)]);
    }

    #[test]
    fn wide_trees_are_climbed_level_by_level_and_missing_subtrees_kept() {
        let secret = BlobId::from_bytes([7; 20]);
        let (root, w, w2, s, s2, filler, missing) =
            (id(1), id(2), id(3), id(4), id(5), id(6), id(99));
        // root: { w } — w: 64 fillers, s, w2, m (missing) — w2: 64 fillers, s2
        // s, s2: { key: secret } — filler: { other }
        // Parents come before children, as in a pack: the worst order for a bottom-up walk.
        let listed = Listed(vec![
            (TreeId::from_bytes(root), tree(&[("40000", "w", w)])),
            (
                TreeId::from_bytes(w),
                wide(
                    NARROW,
                    filler,
                    &[
                        ("40000", "m", missing),
                        ("40000", "s", s),
                        ("40000", "w2", w2),
                    ],
                ),
            ),
            (
                TreeId::from_bytes(w2),
                wide(NARROW, filler, &[("40000", "s2", s2)]),
            ),
            (TreeId::from_bytes(s), tree(&[("100644", "key", [7; 20])])),
            (TreeId::from_bytes(s2), tree(&[("100644", "key", [7; 20])])),
            (
                TreeId::from_bytes(filler),
                tree(&[("100644", "other", [8; 20])]),
            ),
        ]);
        // Climbing through the first pass's records of the wide trees, and with no room for
        // records, by reading the trees again.
        for (budget, want_passes) in [(usize::MAX, 1), (0, 3)] {
            let ids = listed.0.iter().map(|(t, _)| *t).collect();
            let (forest, _, passes) = build_with(&listed, ids, vec![secret], budget);
            assert_eq!(
                passes, want_passes,
                "the survey, then one climb per level of wide trees (passes without records)"
            );
            assert_eq!(
                paths(&forest, root),
                [("w/s/key".to_string(), 0), ("w/w2/s2/key".to_string(), 0)]
            );
            let size = forest.sizes(passes);
            // root, w, w2, s, s2; entries w | m, s, w2 | s2 | key | key.
            assert_eq!((size.kept, size.entries), (5, 7));
            let damage = forest.damage();
            assert_eq!(damage.len(), 1, "{damage:?}");
            assert!(
                damage[0].reason.contains("(the subtree at w/m)"),
                "{damage:?}"
            );
        }
    }

    #[test]
    fn a_deep_chain_of_wide_trees_ends_in_one_pass_that_keeps_them_whole() {
        let secret = BlobId::from_bytes([7; 20]);
        let (filler, bottom) = (id(1), id(2));
        let depth = 40u32;
        let mut listed = vec![
            (
                TreeId::from_bytes(filler),
                tree(&[("100644", "other", [8; 20])]),
            ),
            (
                TreeId::from_bytes(bottom),
                tree(&[("100644", "key", [7; 20])]),
            ),
        ];
        // Level k (k = 0 at the top) holds level k + 1 as "d", the last level holds `bottom`.
        for k in (0..depth).rev() {
            let below = if k + 1 == depth {
                bottom
            } else {
                id(10 + k + 1)
            };
            listed.push((
                TreeId::from_bytes(id(10 + k)),
                wide(NARROW, filler, &[("40000", "d", below)]),
            ));
        }
        listed.reverse();
        let listed = Listed(listed);
        for (budget, want_passes) in [(usize::MAX, 2), (0, 2 + MAX_CLIMBS)] {
            let ids = listed.0.iter().map(|(t, _)| *t).collect();
            let (forest, _, passes) = build_with(&listed, ids, vec![secret], budget);
            // With records, the climbs need no pass until the last one, which keeps every
            // wide tree whole.
            assert_eq!(passes, want_passes);
            let want = format!("{}key", "d/".repeat(depth as usize));
            assert_eq!(paths(&forest, id(10)), [(want, 0)]);
        }
    }

    #[test]
    fn versions_of_a_wide_tree_read_against_each_other_keep_every_path() {
        // 60 versions of a wide tree, each one edit from the last (an entry pointed
        // elsewhere, added, removed or renamed); some leaves hold a secret. Some versions fit
        // the first pass's budget and are kept whole, the others are read against the last
        // one, in the first pass and in the climb.
        let secrets: Vec<BlobId> = (0..4).map(|k| BlobId::from_bytes([200 + k; 20])).collect();
        let leaves = 120u32;
        let leaf = |j: u32| id(1000 + j);
        let holds = |j: u32| (j % 31 == 5).then_some(j / 31);
        let mut listed = Vec::new();
        for j in 0..leaves {
            let blob = match holds(j) {
                Some(k) => [200 + k as u8; 20],
                None => [9; 20],
            };
            listed.push((TreeId::from_bytes(leaf(j)), tree(&[("100644", "f", blob)])));
        }
        let mut seed = 3u64;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((seed >> 33) as usize) % n
        };
        let mut entries: Vec<(String, u32)> = (0..80).map(|i| (format!("d{i:03}"), i)).collect();
        let mut versions = Vec::new();
        for v in 0..60u32 {
            if v > 0 {
                let at = next(entries.len());
                match next(4) {
                    0 => entries[at].1 = next(leaves as usize) as u32,
                    1 => entries.push((format!("e{v:03}"), next(leaves as usize) as u32)),
                    2 if entries.len() > NARROW + 2 => {
                        entries.remove(at);
                    }
                    _ => entries[at].0.push('x'),
                }
                entries.sort();
            }
            let named: Vec<(&str, &str, [u8; 20])> = entries
                .iter()
                .map(|(n, j)| ("40000", n.as_str(), leaf(*j)))
                .collect();
            listed.push((TreeId::from_bytes(id(100 + v)), tree(&named)));
            listed.push((
                TreeId::from_bytes(id(500 + v)),
                tree(&[("40000", "top", id(100 + v))]),
            ));
            versions.push(entries.clone());
        }
        let listed = Listed(listed);
        // Climbing by replaying the first pass's records, and by reading the trees again.
        for budget in [usize::MAX, 0] {
            let ids = listed.0.iter().map(|(t, _)| *t).collect();
            let (forest, _, passes) = build_with(&listed, ids, secrets.clone(), budget);
            assert_eq!(passes, if budget == 0 { 2 } else { 1 });
            for (v, entries) in versions.iter().enumerate() {
                let mut want: Vec<(String, u32)> = entries
                    .iter()
                    .filter_map(|(n, j)| holds(*j).map(|k| (format!("top/{n}/f"), k)))
                    .collect();
                want.sort();
                let mut got = paths(&forest, id(500 + v as u32));
                got.sort();
                assert_eq!(got, want, "version {v}, record budget {budget}");
            }
        }
    }
}
