//! The staged changes: what the index holds that HEAD does not, as the next `git commit`
//! would record it (pre-commit hooks).
//!
//! Each staged file whose blob differs from HEAD's at that path is matched where it differs
//! (see `changed`), and a secret is reported only when HEAD's version of the file, and every
//! file the commit would remove or change (a rename), lacks it. On a repository's first
//! commit everything staged is new. `git commit -a` and `git commit PATHS` stage into a
//! temporary index that git names in `GIT_INDEX_FILE`: pass it as `index_file`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use keyward_core::{Matcher, Secret};

use crate::changed;
use crate::commits::CommitSource;
use crate::error::Error;
use crate::id::{BlobId, CommitId};
use crate::packblob::Packs;
use crate::progress::Progress;
use crate::range::BlobContents;
use crate::repo::Repository;
use crate::stats::ScanStats;
use crate::trees::Trees;

/// A secret that the staged changes would commit.
#[derive(Debug, Clone)]
pub struct StagedSecret {
    /// Index of the rule in the matcher's rules.
    pub rule: usize,
    /// The secret.
    pub secret: Secret,
    /// The staged file's path (invalid UTF-8 replaced).
    pub path: String,
    /// The staged blob.
    pub blob: BlobId,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// What a scan of the staged changes found.
#[derive(Debug, Default)]
pub struct StagedReport {
    /// One entry per (rule, secret, path), ordered by path and line.
    pub secrets: Vec<StagedSecret>,
    /// Counts, skips, and every object that could not be read.
    pub stats: ScanStats,
}

/// One staged file that differs from HEAD.
struct Staged {
    path: Vec<u8>,
    blob: BlobId,
    head: Option<BlobId>,
}

/// Scans what the index (`index_file`, else the repository's own) stages against HEAD.
/// `threads` 0 means one per core; blobs over `max_blob_size` are skipped and counted.
pub fn scan_staged(
    repo: &Repository,
    matcher: &Matcher,
    threads: usize,
    max_blob_size: u64,
    index_file: Option<&Path>,
) -> Result<StagedReport, Error> {
    let local = repo.inner.to_thread_local();
    let index_path = index_file.map_or_else(|| local.index_path(), Path::to_path_buf);
    let index = gix::index::File::at_or_default(
        &index_path,
        gix::hash::Kind::Sha1,
        true,
        gix::index::decode::Options::default(),
    )
    .map_err(|e| Error::Repository {
        path: index_path.clone(),
        message: e.to_string(),
    })?;
    if index.link().is_some() {
        return Err(Error::Repository {
            path: index_path,
            message: "split indexes (core.splitIndex) are not supported".into(),
        });
    }
    let mut stats = ScanStats::default();
    let head = head_files(repo, &local, &mut stats)?;

    let mut staged: Vec<Staged> = Vec::new();
    let mut in_index: HashSet<&[u8]> = HashSet::new();
    for entry in index.entries() {
        use gix::index::entry::{Flags, Mode};
        if entry.stage_raw() != 0
            || entry.flags.contains(Flags::INTENT_TO_ADD)
            || !matches!(
                entry.mode,
                Mode::FILE | Mode::FILE_EXECUTABLE | Mode::SYMLINK
            )
        {
            continue;
        }
        let path: &[u8] = entry.path(&index);
        in_index.insert(path);
        let blob = BlobId::from_gix(&entry.id);
        let before = head.get(path).copied();
        if before != Some(blob) {
            staged.push(Staged {
                path: path.to_vec(),
                blob,
                head: before,
            });
        }
    }
    // What the commit removes or replaces: a secret moved from there is not new.
    let mut gone: Vec<BlobId> = staged.iter().filter_map(|s| s.head).collect();
    gone.extend(
        head.iter()
            .filter(|(path, _)| !in_index.contains(path.as_slice()))
            .map(|(_, blob)| *blob),
    );
    stats.commits = 0;

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Repository {
            path: repo.git_dir().to_path_buf(),
            message: e.to_string(),
        })?;
    let mut jobs: Vec<changed::Job> = Vec::new();
    let mut seen: HashMap<BlobId, usize> = HashMap::new();
    for s in &staged {
        let base: Vec<BlobId> = s.head.into_iter().collect();
        let i = *seen.entry(s.blob).or_insert_with(|| {
            jobs.push(changed::Job {
                blob: s.blob,
                bases: Vec::new(),
            });
            jobs.len() - 1
        });
        if !jobs[i].bases.contains(&base) {
            jobs[i].bases.push(base);
        }
    }
    let packs = Packs::open(&repo.inner);
    let found = changed::match_jobs(
        &packs,
        matcher,
        max_blob_size,
        &jobs,
        &pool,
        &Progress::new(),
        &mut stats,
    );

    let secrets_of: HashSet<Secret> = found.values().flatten().map(|f| f.secret.clone()).collect();
    let mut contents = BlobContents::new(&local);
    if !found.is_empty() {
        for b in &gone {
            contents.load(*b, &secrets_of);
        }
    }
    let filters = matcher.rule_set().filters();
    let rules = matcher.rules();
    let mut secrets = Vec::new();
    for s in &staged {
        let Some(fs) = found.get(&s.blob) else {
            continue;
        };
        let path = String::from_utf8_lossy(&s.path).into_owned();
        let lock_file = filters.is_lock_file(&path);
        for f in fs {
            if lock_file && rules[f.rule].spec.generic {
                continue;
            }
            if gone.iter().any(|g| contents.has(g, &f.secret)) {
                continue;
            }
            secrets.push(StagedSecret {
                rule: f.rule,
                secret: f.secret.clone(),
                path: path.clone(),
                blob: s.blob,
                line: f.line,
                column: f.column,
            });
        }
    }
    secrets.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    stats.unreadable.extend(contents.unreadable);
    Ok(StagedReport { secrets, stats })
}

/// Every file of HEAD's tree by path; none before the first commit. A HEAD commit or tree
/// that cannot be read is an error: without it every staged file would look new, or none.
fn head_files(
    repo: &Repository,
    local: &gix::Repository,
    stats: &mut ScanStats,
) -> Result<HashMap<Vec<u8>, BlobId>, Error> {
    let Some(head) = repo.head_commit() else {
        return Ok(HashMap::new());
    };
    let mut source = CommitSource::new(HashMap::new(), Some(local));
    let commit = source
        .get(CommitId::from_gix(&head))
        .ok_or_else(|| Error::Object {
            id: head.to_string(),
            message: "HEAD's commit cannot be read".into(),
        })?;
    let mut trees = Trees::new(local);
    let mut files = Vec::new();
    trees.all_blobs(commit.tree, &mut files);
    if let Some(u) = trees.unreadable.first() {
        return Err(Error::Object {
            id: u.id.clone(),
            message: format!("a tree of HEAD cannot be read: {}", u.reason),
        });
    }
    stats.gitlinks = trees.gitlinks;
    Ok(files.into_iter().collect())
}
