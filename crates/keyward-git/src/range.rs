//! Commit ranges (CI, hooks): only the range's commits, only the blobs they introduce, and
//! only secrets that no parent's version of the file (nor a file the commit removed, for
//! renames) already held.

use std::collections::{HashMap, HashSet};

use keyward_core::{Matcher, Scratch, Secret};
use rayon::prelude::*;

use crate::commits::{self, CommitSource};
use crate::error::Error;
use crate::history::{CommitRange, HistoryOptions, HistoryReport, blob_findings};
use crate::id::{BlobId, CommitId};
use crate::objects;
use crate::progress::{Phase, Progress};
use crate::provenance::{BlobFinding, Intro, finish, head_blobs, introductions, occurrences};
use crate::repo::Repository;
use crate::stats::{ScanStats, Unreadable};

/// A commit range: walk only its commits, match only the blobs they introduce, and keep a
/// secret only where no parent (nor a file the commit removed, for renames) already had it.
pub(crate) fn scan(
    repo: &Repository,
    matcher: &Matcher,
    opts: &HistoryOptions,
    range: &CommitRange,
    pool: &rayon::ThreadPool,
    progress: &Progress,
) -> Result<HistoryReport, Error> {
    let local = repo.inner.to_thread_local();
    let tips = range
        .tips
        .iter()
        .map(|r| repo.resolve(r))
        .collect::<Result<Vec<_>, _>>()?;
    let hidden = range
        .hidden
        .iter()
        .map(|r| repo.resolve(r))
        .collect::<Result<Vec<_>, _>>()?;
    let members = range_members(repo, &local, &tips, &hidden)?;
    let shallow: HashSet<CommitId> = repo
        .shallow_commits()
        .iter()
        .map(|id| CommitId::from_gix(id))
        .collect();
    let mut source = CommitSource::new(HashMap::new(), Some(&local));
    let graph = commits::walk(&tips, Some(&members), &shallow, &mut source);
    let mut stats = ScanStats {
        commits: graph.nodes.len() as u64,
        ..ScanStats::default()
    };

    // Every blob a range commit puts at a path is of interest until matched.
    let (intros, deleted) = introductions(repo, &graph, pool, progress, &mut stats);
    let unique: Vec<BlobId> = {
        let mut seen = HashSet::new();
        intros
            .iter()
            .map(|i| i.blob)
            .filter(|b| seen.insert(*b))
            .collect()
    };
    progress.start(Phase::Objects, unique.len() as u64);
    let found = match_blobs(
        repo,
        matcher,
        opts.max_blob_size,
        &unique,
        pool,
        progress,
        &mut stats,
    );
    let intros: Vec<Intro> = intros
        .into_iter()
        .filter(|i| found.contains_key(&i.blob))
        .collect();

    // Which earlier versions hold which secrets: read each once, search for the secrets.
    let secrets_of: HashSet<Secret> = found.values().flatten().map(|f| f.secret.clone()).collect();
    let mut contents = BlobContents::new(&local);
    let mut with_renames: Vec<Intro> = Vec::with_capacity(intros.len());
    for mut intro in intros {
        if let Some(gone) = deleted.get(&intro.node) {
            intro.parent_blobs.extend(gone.iter().copied());
        }
        with_renames.push(intro);
    }
    for intro in &with_renames {
        for b in &intro.parent_blobs {
            contents.load(*b, &secrets_of);
        }
    }
    let mut secrets = occurrences(matcher, &graph, &with_renames, &found, |b, s| {
        contents.has(b, s)
    });
    if !secrets.is_empty() {
        let head = head_secrets(repo, &mut source, &secrets_of, &mut stats);
        for s in &mut secrets {
            s.in_head = head.contains(&s.secret);
        }
    }
    stats.unreadable.extend(contents.unreadable);
    Ok(HistoryReport {
        secrets: finish(secrets),
        stats,
    })
}

/// The commits of `tips --not hidden`, newest first.
fn range_members(
    repo: &Repository,
    local: &gix::Repository,
    tips: &[CommitId],
    hidden: &[CommitId],
) -> Result<Vec<CommitId>, Error> {
    let err = |message: String| Error::Repository {
        path: repo.git_dir().to_path_buf(),
        message,
    };
    let walk = local
        .rev_walk(tips.iter().map(|t| t.to_gix()))
        .with_hidden(hidden.iter().map(|h| h.to_gix()))
        .all()
        .map_err(|e| err(e.to_string()))?;
    let mut out = Vec::new();
    for info in walk {
        let info = info.map_err(|e| err(e.to_string()))?;
        out.push(CommitId::from_gix(&info.id));
    }
    Ok(out)
}

/// A blob and its findings.
type Matched = (BlobId, Vec<BlobFinding>);

/// Matches blobs read one by one (a range introduces few).
fn match_blobs(
    repo: &Repository,
    matcher: &Matcher,
    max_blob_size: u64,
    blobs: &[BlobId],
    pool: &rayon::ThreadPool,
    progress: &Progress,
    stats: &mut ScanStats,
) -> HashMap<BlobId, Vec<BlobFinding>> {
    let results: Vec<(Option<Matched>, ScanStats)> = pool.install(|| {
        blobs
            .par_iter()
            .map_init(
                || (repo.inner.to_thread_local(), Scratch::new(), Vec::new()),
                |(local, scratch, buf), blob| {
                    progress.step(1);
                    let mut st = ScanStats {
                        blobs: 1,
                        ..ScanStats::default()
                    };
                    let found = match read_blob(local, *blob, max_blob_size, buf) {
                        Ok(Some(())) => match objects::classify(buf, max_blob_size) {
                            Some(skip) => {
                                st.skip(skip.reason());
                                None
                            }
                            None => {
                                st.blobs_scanned = 1;
                                st.bytes_scanned = buf.len() as u64;
                                progress.add_bytes(buf.len() as u64);
                                let fs = blob_findings(matcher, scratch, buf);
                                (!fs.is_empty()).then_some((*blob, fs))
                            }
                        },
                        Ok(None) => {
                            st.skip(objects::Skip::TooLarge.reason());
                            None
                        }
                        Err(reason) => {
                            st.unreadable.push(Unreadable {
                                id: blob.to_hex(),
                                reason,
                            });
                            None
                        }
                    };
                    (found, st)
                },
            )
            .collect()
    });
    let mut out = HashMap::new();
    for (found, st) in results {
        stats.merge(&st);
        out.extend(found);
    }
    out
}

/// Reads a blob into `buf`; `Ok(None)` when its header says it is over `max` (not inflated).
fn read_blob(
    repo: &gix::Repository,
    id: BlobId,
    max: u64,
    buf: &mut Vec<u8>,
) -> Result<Option<()>, String> {
    use gix::objs::{Find, FindHeader};
    let gid = id.to_gix();
    match repo.objects.try_header(&gid) {
        Ok(Some(h)) if h.size > max => return Ok(None),
        Ok(Some(_)) => {}
        Ok(None) => return Err("blob not found".into()),
        Err(e) => return Err(e.to_string()),
    }
    match repo.objects.try_find(&gid, buf) {
        Ok(Some(d)) if d.kind == gix::objs::Kind::Blob => Ok(Some(())),
        Ok(Some(d)) => Err(format!("expected a blob, found a {}", d.kind)),
        Ok(None) => Err("blob not found".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Earlier versions of files, searched for the secrets a range found.
struct BlobContents<'r> {
    repo: &'r gix::Repository,
    holds: HashMap<BlobId, HashSet<Secret>>,
    unreadable: Vec<Unreadable>,
}

impl<'r> BlobContents<'r> {
    fn new(repo: &'r gix::Repository) -> Self {
        BlobContents {
            repo,
            holds: HashMap::new(),
            unreadable: Vec::new(),
        }
    }

    fn load(&mut self, blob: BlobId, secrets: &HashSet<Secret>) {
        if self.holds.contains_key(&blob) {
            return;
        }
        let mut buf = Vec::new();
        let mut holds = HashSet::new();
        match read_blob(self.repo, blob, u64::MAX, &mut buf) {
            Ok(_) => {
                for s in secrets {
                    if memchr::memmem::find(&buf, s.expose().as_bytes()).is_some() {
                        holds.insert(s.clone());
                    }
                }
            }
            Err(reason) => self.unreadable.push(Unreadable {
                id: blob.to_hex(),
                reason,
            }),
        }
        self.holds.insert(blob, holds);
    }

    fn has(&self, blob: &BlobId, secret: &Secret) -> bool {
        self.holds.get(blob).is_some_and(|h| h.contains(secret))
    }
}

/// Which of `secrets` are in a file at HEAD (searched as bytes in HEAD's blobs).
fn head_secrets(
    repo: &Repository,
    source: &mut CommitSource<'_>,
    secrets: &HashSet<Secret>,
    stats: &mut ScanStats,
) -> HashSet<Secret> {
    let blobs = head_blobs(repo, source, stats);
    let local = repo.inner.to_thread_local();
    let mut contents = BlobContents::new(&local);
    let mut out = HashSet::new();
    for b in blobs {
        contents.load(b, secrets);
        if let Some(h) = contents.holds.remove(&b) {
            out.extend(h);
        }
    }
    out
}
