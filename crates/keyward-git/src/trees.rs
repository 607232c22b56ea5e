//! Tree diffs and path lookups over the object database, skipping equal subtrees by id.

use crate::forest::MAX_DEPTH;
use crate::id::{BlobId, TreeId};
use crate::parse::{self, Entry, EntryKind};
use crate::stats::{Unreadable, short_path};

/// A change of one path between an old and a new tree, blobs only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// The path holds `new`; the old tree had `old` there (`None`: no file there).
    Blob { new: BlobId, old: Option<BlobId> },
    /// The path's blob `old` is gone from the new tree (only reported when asked).
    Deleted { old: BlobId },
}

/// Reads trees through a thread-local object database handle.
pub(crate) struct Trees<'r> {
    repo: &'r gix::Repository,
    /// The trees the current diff is inside (the new side's, or the old one's where only it
    /// exists), outermost first: a tree met again is a cycle (a damaged object database), and
    /// is not descended into; nor is anything deeper than [`MAX_DEPTH`].
    ancestors: Vec<TreeId>,
    /// Submodule entries met in changed trees.
    pub gitlinks: u64,
    /// Trees that could not be read.
    pub unreadable: Vec<Unreadable>,
}

impl<'r> Trees<'r> {
    pub(crate) fn new(repo: &'r gix::Repository) -> Self {
        Trees {
            repo,
            ancestors: Vec::new(),
            gitlinks: 0,
            unreadable: Vec::new(),
        }
    }

    fn load(&mut self, id: TreeId) -> Option<Vec<u8>> {
        use gix::objs::Find;
        let mut buf = Vec::new();
        let res = self
            .repo
            .objects
            .try_find(&id.to_gix(), &mut buf)
            .map(|d| d.map(|d| d.kind));
        let reason = match res {
            Ok(Some(gix::objs::Kind::Tree)) => return Some(buf),
            Ok(Some(kind)) => format!("expected a tree, found a {kind}"),
            Ok(None) => "tree not found".to_string(),
            Err(e) => e.to_string(),
        };
        self.unreadable.push(Unreadable {
            id: id.to_hex(),
            reason,
        });
        None
    }

    /// Reports every blob path of `new` whose content differs from `old` (or is absent
    /// there), and with `deletions` every blob of `old` that `new` lacks. Subtrees with the
    /// same id on both sides are skipped.
    pub(crate) fn diff(
        &mut self,
        old: Option<TreeId>,
        new: Option<TreeId>,
        deletions: bool,
        path: &mut Vec<u8>,
        f: &mut dyn FnMut(&[u8], Change),
    ) {
        if old == new {
            return;
        }
        // Every level is on the stack, so the depth cap bounds the recursion whichever
        // side a cycle is on; the side that is descended into is the one checked for one.
        if let Some(id) = new.or(old) {
            let why = if self.ancestors.contains(&id) {
                Some("tree contains itself")
            } else if self.ancestors.len() >= MAX_DEPTH {
                Some("trees nested too deep")
            } else {
                None
            };
            if let Some(why) = why {
                self.unreadable.push(Unreadable {
                    id: id.to_hex(),
                    reason: format!("{why} (at {}); not descended into", short_path(path)),
                });
                return;
            }
            self.ancestors.push(id);
        }
        self.diff_entries(old, new, deletions, path, f);
        if new.or(old).is_some() {
            self.ancestors.pop();
        }
    }

    fn diff_entries(
        &mut self,
        old: Option<TreeId>,
        new: Option<TreeId>,
        deletions: bool,
        path: &mut Vec<u8>,
        f: &mut dyn FnMut(&[u8], Change),
    ) {
        let old_data = match old {
            Some(id) => match self.load(id) {
                Some(d) => d,
                None => return,
            },
            None => Vec::new(),
        };
        let new_data = match new {
            Some(id) => match self.load(id) {
                Some(d) => d,
                None => return,
            },
            None => Vec::new(),
        };
        let mut a = parse::tree(&old_data).peekable();
        let mut b = parse::tree(&new_data).peekable();
        loop {
            let order = match (a.peek(), b.peek()) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(x), Some(y)) => parse::entry_order(x, y),
            };
            match order {
                std::cmp::Ordering::Less => {
                    let Some(x) = a.next() else { break };
                    self.entry(Some(&x), None, deletions, path, f);
                }
                std::cmp::Ordering::Greater => {
                    let Some(y) = b.next() else { break };
                    self.entry(None, Some(&y), deletions, path, f);
                }
                std::cmp::Ordering::Equal => {
                    let (Some(x), Some(y)) = (a.next(), b.next()) else {
                        break;
                    };
                    if x.id != y.id || x.kind != y.kind {
                        self.entry(Some(&x), Some(&y), deletions, path, f);
                    }
                }
            }
        }
    }

    /// One name present on one or both sides with different content.
    fn entry(
        &mut self,
        old: Option<&Entry<'_>>,
        new: Option<&Entry<'_>>,
        deletions: bool,
        path: &mut Vec<u8>,
        f: &mut dyn FnMut(&[u8], Change),
    ) {
        let Some(name) = new.or(old).map(|e| e.name) else {
            return;
        };
        let len = path.len();
        if len > 0 {
            path.push(b'/');
        }
        path.extend_from_slice(name);
        let tree = |e: Option<&Entry<'_>>| {
            e.filter(|e| e.kind == EntryKind::Tree)
                .map(|e| TreeId::from_bytes(e.id))
        };
        let blob = |e: Option<&Entry<'_>>| {
            e.filter(|e| e.kind == EntryKind::Blob)
                .map(|e| BlobId::from_bytes(e.id))
        };
        if new.is_some_and(|e| e.kind == EntryKind::Gitlink) {
            self.gitlinks += 1;
        }
        if let Some(new_blob) = blob(new) {
            f(
                path,
                Change::Blob {
                    new: new_blob,
                    old: blob(old),
                },
            );
        } else if deletions && let Some(old_blob) = blob(old) {
            f(path, Change::Deleted { old: old_blob });
        }
        let (old_tree, new_tree) = (tree(old), tree(new));
        if (old_tree.is_some() || new_tree.is_some()) && (new_tree.is_some() || deletions) {
            self.diff(old_tree, new_tree, deletions, path, f);
        }
        path.truncate(len);
    }

    /// The blob at `path` (`a/b/c.txt`) in the tree `root`, if there is one.
    pub(crate) fn blob_at(&mut self, root: TreeId, path: &[u8]) -> Option<BlobId> {
        let mut tree = root;
        let mut parts = path.split(|&b| b == b'/').peekable();
        while let Some(part) = parts.next() {
            let data = self.load(tree)?;
            let last = parts.peek().is_none();
            let entry = parse::tree(&data)
                .find(|e| e.name == part && (e.kind == EntryKind::Tree) != last)?;
            if last {
                return (entry.kind == EntryKind::Blob).then(|| BlobId::from_bytes(entry.id));
            }
            tree = TreeId::from_bytes(entry.id);
        }
        None
    }

    /// Every blob of the tree `root`, recursively.
    pub(crate) fn all_blobs(&mut self, root: TreeId, out: &mut Vec<(Vec<u8>, BlobId)>) {
        let mut path = Vec::new();
        self.diff(None, Some(root), false, &mut path, &mut |p, change| {
            if let Change::Blob { new, .. } = change {
                out.push((p.to_vec(), new));
            }
        });
    }
}
