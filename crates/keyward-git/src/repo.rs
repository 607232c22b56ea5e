//! Opening a repository and finding where its history starts: refs, HEADs and reflogs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::id::{CommitId, parse_hex};

/// An open git repository (work tree, bare repository or linked worktree).
#[derive(Debug, Clone)]
pub struct Repository {
    pub(crate) inner: gix::ThreadSafeRepository,
    path: PathBuf,
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
        })
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
