//! A commit's tree as a [`ProjectView`], so that the exposure classifier can recognise
//! projects (a `package.json` that depends on react, an `AndroidManifest.xml`…) in history,
//! where there is no work tree to look at.

use std::cell::RefCell;
use std::collections::HashMap;

use keyward_core::ProjectView;

use crate::error::Error;
use crate::repo::Repository;

/// Manifests larger than this are not read.
const MAX_MANIFEST: u64 = 512 << 10;

/// The tree of one commit, read lazily and cached. Not shared between threads.
pub struct TreeView {
    repo: gix::Repository,
    tree: gix::ObjectId,
    listings: RefCell<HashMap<String, Option<Vec<String>>>>,
}

impl std::fmt::Debug for TreeView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeView")
            .field("tree", &self.tree.to_hex().to_string())
            .finish()
    }
}

impl Repository {
    /// The tree of the commit `rev` names (`HEAD` usually), as a project view; `None` when
    /// the repository has no such commit (an empty repository).
    pub fn tree_view(&self, rev: &str) -> Result<Option<TreeView>, Error> {
        let repo = self.inner.to_thread_local();
        let tree = {
            let Ok(id) = repo.rev_parse_single(rev) else {
                return Ok(None);
            };
            let err = |message: String| Error::Revision {
                rev: rev.to_string(),
                message,
            };
            let object = id.object().map_err(|e| err(e.to_string()))?;
            object.peel_to_tree().map_err(|e| err(e.to_string()))?.id
        };
        Ok(Some(TreeView {
            repo,
            tree,
            listings: RefCell::new(HashMap::new()),
        }))
    }
}

impl TreeView {
    /// The object at `path` in the tree (`""` is the tree itself).
    fn object_at(&self, path: &str) -> Option<gix::Object<'_>> {
        let root = self.repo.find_object(self.tree).ok()?;
        if path.is_empty() {
            return Some(root);
        }
        let entry = root
            .try_into_tree()
            .ok()?
            .lookup_entry_by_path(path)
            .ok()??;
        entry.object().ok()
    }
}

impl ProjectView for TreeView {
    fn list(&self, dir: &str) -> Option<Vec<String>> {
        if let Some(hit) = self.listings.borrow().get(dir) {
            return hit.clone();
        }
        let listing = self
            .object_at(dir)
            .and_then(|o| o.try_into_tree().ok())
            .map(|tree| {
                let mut names: Vec<String> = tree
                    .iter()
                    .filter_map(Result::ok)
                    .map(|e| e.filename().to_string())
                    .collect();
                names.sort();
                names
            });
        self.listings
            .borrow_mut()
            .insert(dir.to_string(), listing.clone());
        listing
    }

    fn read(&self, path: &str) -> Option<Vec<u8>> {
        let object = self.object_at(path)?;
        if object.kind != gix::object::Kind::Blob || object.data.len() as u64 > MAX_MANIFEST {
            return None;
        }
        Some(object.data.clone())
    }
}

#[cfg(test)]
mod tests {
    use keyward_core::ProjectView;

    use crate::repo::Repository;

    #[test]
    fn lists_and_reads_the_head_tree() {
        let dir = tempfile::TempDir::new().expect("tempdir");
        let git = |args: &[&str]| crate::testgit::git(dir.path(), args);
        git(&["init", "-q"]);
        std::fs::create_dir_all(dir.path().join("web/src")).expect("mkdir");
        std::fs::write(
            dir.path().join("web/package.json"),
            "{\"dependencies\":{\"react\":\"18\"}}",
        )
        .expect("write");
        std::fs::write(dir.path().join("web/src/a.js"), "x").expect("write");
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", "one"]);
        let repo = Repository::open(dir.path()).expect("open");
        let view = repo.tree_view("HEAD").expect("view").expect("a commit");
        assert_eq!(view.list(""), Some(vec!["web".to_string()]));
        assert_eq!(
            view.list("web"),
            Some(vec!["package.json".to_string(), "src".to_string()])
        );
        assert_eq!(view.list("web/package.json"), None);
        assert_eq!(
            view.read("web/package.json").as_deref(),
            Some(b"{\"dependencies\":{\"react\":\"18\"}}".as_slice())
        );
        assert_eq!(view.read("web/src"), None);
        assert_eq!(view.read("nope"), None);
    }
}
