//! Opening a repository and finding where its history starts: refs, HEADs and reflogs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::Error;
use crate::id::{CommitId, parse_hex};

/// An open git repository (work tree, bare repository or linked worktree).
#[derive(Debug, Clone)]
pub struct Repository {
    pub(crate) inner: gix::ThreadSafeRepository,
    path: PathBuf,
    /// With [`Repository::open_with_objects`]: the directory whose `info/alternates` lists
    /// the object directories in use. The object store rereads it when an object is not
    /// found, so it lives as long as the repository.
    _objects: Option<Arc<tempfile::TempDir>>,
}

impl Repository {
    /// Opens the repository at `path` or one of its parent directories.
    pub fn open(path: &Path) -> Result<Repository, Error> {
        let repo = gix::discover(path).map_err(|e| Error::NotARepository {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(Repository {
            path: repo.git_dir().to_path_buf(),
            inner: repo.into_sync(),
            _objects: None,
        })
    }

    /// Opens the repository at `path` like [`Repository::open`], but reads objects from
    /// `objects` and then from each of `alternates` (and their own alternates), in that
    /// order, instead of from the repository's object directory.
    ///
    /// That is how git hands objects to a `pre-receive` hook: the pushed objects wait in a
    /// quarantine directory (`GIT_OBJECT_DIRECTORY`, also `GIT_QUARANTINE_PATH`) until the
    /// hook accepts them, and the repository's own objects are an alternate
    /// (`GIT_ALTERNATE_OBJECT_DIRECTORIES`). Nothing is written to either: the list of
    /// directories goes into a temporary directory of its own.
    pub fn open_with_objects(
        path: &Path,
        objects: &Path,
        alternates: &[PathBuf],
    ) -> Result<Repository, Error> {
        let mut repo = Repository::open(path)?;
        let err = |message: String| Error::Repository {
            path: objects.to_path_buf(),
            message,
        };
        let mut list = String::new();
        for dir in std::iter::once(objects).chain(alternates.iter().map(PathBuf::as_path)) {
            let dir = std::path::absolute(dir).map_err(|e| err(e.to_string()))?;
            if !dir.is_dir() {
                return Err(err(format!(
                    "object directory {} does not exist",
                    dir.display()
                )));
            }
            let text = dir
                .to_str()
                .filter(|t| !t.contains(['\n', '"']))
                .ok_or_else(|| err(format!("unusable object directory {}", dir.display())))?;
            list.push_str(text);
            list.push('\n');
        }
        let tmp = tempfile::Builder::new()
            .prefix("keyward-objects-")
            .tempdir()
            .map_err(|e| err(format!("cannot create a temporary directory: {e}")))?;
        let write = || -> std::io::Result<()> {
            std::fs::create_dir(tmp.path().join("pack"))?;
            std::fs::create_dir(tmp.path().join("info"))?;
            std::fs::write(tmp.path().join("info").join("alternates"), &list)
        };
        write().map_err(|e| err(format!("cannot list object directories: {e}")))?;
        let store = gix::odb::Store::at_opts(
            tmp.path().to_path_buf(),
            gix::hash::Kind::Sha1,
            &mut std::iter::empty(),
            gix::odb::store::init::Options::default(),
        )
        .map_err(|e| err(e.to_string()))?;
        repo.inner.objects = Arc::new(store);
        repo._objects = Some(Arc::new(tmp));
        Ok(repo)
    }

    /// The repository's git directory.
    pub fn git_dir(&self) -> &Path {
        &self.path
    }

    /// Is this a shallow clone (history cut at some commits)?
    pub fn is_shallow(&self) -> bool {
        self.inner.to_thread_local().is_shallow().unwrap_or(false)
    }

    /// Resolves a revision (`main`, `v1.0`, `HEAD~3`, a hex id) to the commit it names,
    /// peeling annotated tags.
    pub fn resolve(&self, rev: &str) -> Result<CommitId, Error> {
        let repo = self.inner.to_thread_local();
        let err = |message: String| Error::Revision {
            rev: rev.to_string(),
            message,
        };
        let id = repo.rev_parse_single(rev).map_err(|e| err(e.to_string()))?;
        let object = id.object().map_err(|e| err(e.to_string()))?;
        let commit = object.peel_to_commit().map_err(|e| err(e.to_string()))?;
        Ok(CommitId::from_gix(&commit.id))
    }

    /// The names of the configured remotes (`origin`…).
    pub fn remote_names(&self) -> Vec<String> {
        let repo = self.inner.to_thread_local();
        repo.remote_names().iter().map(|n| n.to_string()).collect()
    }

    /// The commits that the refs under `prefix` (`refs/remotes/origin/`, `refs/`) point to,
    /// annotated tags peeled. Refs that do not lead to a commit (a tag of a blob) are left
    /// out; a ref that cannot be read is an error.
    pub fn ref_commits(&self, prefix: &str) -> Result<Vec<CommitId>, Error> {
        let repo = self.inner.to_thread_local();
        let err = |message: String| Error::Repository {
            path: self.path.clone(),
            message: format!("reading refs under {prefix}: {message}"),
        };
        let refs = repo.references().map_err(|e| err(e.to_string()))?;
        let iter = refs.prefixed(prefix).map_err(|e| err(e.to_string()))?;
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for reference in iter {
            let mut reference = reference.map_err(|e| err(e.to_string()))?;
            let Ok(id) = reference.peel_to_id() else {
                continue; // a symbolic ref to nothing (an unborn branch)
            };
            let Ok(object) = id.object() else { continue };
            if let Ok(commit) = object.peel_to_commit()
                && seen.insert(commit.id)
            {
                out.push(CommitId::from_gix(&commit.id));
            }
        }
        Ok(out)
    }

    /// Reads the blobs named by `ids` (hex object ids) and hands each one the repository
    /// has to `each`, in order. Ids that are not blobs, or that it lacks, are passed over;
    /// an object it has but cannot read is an error.
    pub fn read_blobs(&self, ids: &[&str], mut each: impl FnMut(&str, &[u8])) -> Result<(), Error> {
        let repo = self.inner.to_thread_local();
        for &hex in ids {
            let Some(id) = crate::id::BlobId::from_hex(hex) else {
                continue;
            };
            let gid = id.to_gix();
            if !repo.has_object(gid) {
                continue;
            }
            let object = repo.find_object(gid).map_err(|e| Error::Object {
                id: hex.to_string(),
                message: e.to_string(),
            })?;
            if object.kind == gix::object::Kind::Blob {
                each(hex, &object.data);
            }
        }
        Ok(())
    }

    /// The commit that the object `hex` is or leads to (annotated tags peeled): `Ok(None)`
    /// when the repository does not have the object, an error when it has it but it does
    /// not lead to a commit or cannot be read.
    pub fn find_commit(&self, hex: &str) -> Result<Option<CommitId>, Error> {
        let Some(id) = CommitId::from_hex(hex) else {
            return Err(Error::Revision {
                rev: hex.to_string(),
                message: "not an object id".into(),
            });
        };
        let repo = self.inner.to_thread_local();
        let err = |message: String| Error::Object {
            id: hex.to_string(),
            message,
        };
        let gid = id.to_gix();
        if !repo.has_object(gid) {
            return Ok(None);
        }
        let object = repo.find_object(gid).map_err(|e| err(e.to_string()))?;
        let commit = object.peel_to_commit().map_err(|e| err(e.to_string()))?;
        Ok(Some(CommitId::from_gix(&commit.id)))
    }

    /// The commit of HEAD, or `None` when HEAD names a branch without commits yet. Unlike
    /// [`Repository::head`], no default branch stands in: what the next commit's parent is.
    pub(crate) fn head_commit(&self) -> Option<gix::ObjectId> {
        let repo = self.inner.to_thread_local();
        repo.head_id().ok().map(|id| id.detach())
    }

    /// The commit of HEAD. When HEAD names a branch that does not exist (a mirror cloned
    /// from a bundle, a fresh repository), the usual default branches are tried in turn, so
    /// that "still at HEAD" means "on the default branch".
    pub(crate) fn head(&self) -> Option<gix::ObjectId> {
        let repo = self.inner.to_thread_local();
        if let Ok(id) = repo.head_id() {
            return Some(id.detach());
        }
        [
            "refs/heads/main",
            "refs/heads/master",
            "refs/remotes/origin/HEAD",
            "refs/remotes/origin/main",
        ]
        .iter()
        .find_map(|name| {
            let mut r = repo.find_reference(*name).ok()?;
            Some(r.peel_to_id().ok()?.detach())
        })
    }

    /// The shallow boundary: commits whose parents this clone does not have.
    pub(crate) fn shallow_commits(&self) -> HashSet<gix::ObjectId> {
        let repo = self.inner.to_thread_local();
        match repo.shallow_commits() {
            Ok(Some(list)) => list.iter().copied().collect(),
            _ => HashSet::new(),
        }
    }

    /// Every object that history starts from: what each ref points to (annotated tags
    /// peeled), every HEAD (linked worktrees too), and every reflog entry, old and new side,
    /// so that commits dropped by a reset or a rebase are still walked. Objects that are not
    /// commits are left to the caller to sort out.
    pub(crate) fn all_tips(&self) -> Result<Vec<gix::ObjectId>, Error> {
        let repo = self.inner.to_thread_local();
        let repo_err = |message: String| Error::Repository {
            path: self.path.clone(),
            message,
        };
        let mut ids: Vec<gix::ObjectId> = Vec::new();
        let refs = repo.references().map_err(|e| repo_err(e.to_string()))?;
        let iter = refs.all().map_err(|e| repo_err(e.to_string()))?;
        for reference in iter.flatten() {
            let mut reference = reference;
            if let Ok(id) = reference.peel_to_id() {
                ids.push(id.detach());
            }
        }
        if let Some(head) = self.head() {
            ids.push(head);
        }
        let common = repo.common_dir().to_path_buf();
        let mut heads = vec![repo.git_dir().join("HEAD")];
        let mut logs = vec![common.join("logs")];
        if repo.git_dir() != common {
            logs.push(repo.git_dir().join("logs"));
        }
        if let Ok(worktrees) = std::fs::read_dir(common.join("worktrees")) {
            for wt in worktrees.flatten() {
                heads.push(wt.path().join("HEAD"));
                logs.push(wt.path().join("logs"));
            }
        }
        for head in heads {
            if let Ok(text) = std::fs::read(&head)
                && let Some(id) = text.get(..40).and_then(parse_hex)
            {
                ids.push(gix::ObjectId::from_bytes_or_panic(&id));
            }
        }
        for dir in logs {
            reflog_ids(&dir, &mut ids);
        }
        let mut seen = HashSet::new();
        ids.retain(|id| !id.is_null() && seen.insert(*id));
        Ok(ids)
    }
}

/// Adds the old and new id of every line of every reflog under `dir`.
fn reflog_ids(dir: &Path, out: &mut Vec<gix::ObjectId>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => reflog_ids(&path, out),
            Ok(t) if t.is_file() => {
                let Ok(text) = std::fs::read(&path) else {
                    continue;
                };
                for line in text.split(|&b| b == b'\n') {
                    for part in [line.get(..40), line.get(41..81)].into_iter().flatten() {
                        if let Some(id) = parse_hex(part) {
                            out.push(gix::ObjectId::from_bytes_or_panic(&id));
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
