//! Commit ranges (CI, hooks): only the range's commits, only the blobs they introduce, only
//! what those blobs add to the parents' versions (see `changed`), and only secrets that no
//! parent's version of the file (nor a file the commit removed, for renames) already held.

use std::collections::{HashMap, HashSet};

use keyward_core::{Matcher, Secret};

use crate::changed::{self, read_blob};
use crate::commits::{self, CommitSource};
use crate::error::Error;
use crate::history::{CommitRange, HistoryOptions, HistoryReport};
use crate::id::{BlobId, CommitId};
use crate::packblob::Packs;
use crate::progress::{Phase, Progress};
use crate::provenance::{Intro, finish, head_blobs, introductions, occurrences};
use crate::repo::Repository;
use crate::stats::{ScanStats, Unreadable};
use crate::walk;

/// A range of more than this many commits may go to the whole-history engine (see
/// [`too_large`]).
pub(crate) const LARGE_RANGE: usize = 2_000;

/// Is a range of `commits` commits cheaper to scan with the whole-history engine? That
/// engine reads every object once along the packs' delta trees; the range engine reads each
/// introduced blob and its parents' versions one by one, about 1 ms of CPU a commit. Measured
/// crossovers: about 4,000 commits on the 10,000-commit synthetic repository (94,000
/// objects, whole history 1.7 s of CPU), about 25,000 on curl/curl (1,500 commits: 1.5 s;
/// whole history about 25 s). So: over [`LARGE_RANGE`] commits and over one commit per 20
/// objects in the packs.
fn too_large(local: &gix::Repository, commits: usize) -> bool {
    if commits <= LARGE_RANGE {
        return false;
    }
    let objects = local.objects.packed_object_count().unwrap_or(0);
    commits as u64 * 20 > objects
}

/// A commit range given by revisions: resolved, then [`scan_ids`].
pub(crate) fn scan<'m>(
    repo: &Repository,
    matcher: &mut dyn FnMut() -> Option<&'m Matcher>,
    opts: &HistoryOptions,
    range: &CommitRange,
    pool: &rayon::ThreadPool,
    progress: &Progress,
) -> Result<Option<HistoryReport>, Error> {
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
    scan_ids(repo, matcher, opts, &tips, &hidden, pool, progress)
}

/// The commits of `tips --not hidden`: walk only them, match only what their blobs add to
/// the parents' versions, and keep a secret only where no parent (nor a file the commit
/// removed, for renames) already had it. Hidden commits that the repository lacks hide
/// nothing; a very large range goes to the whole-history engine ([`too_large`]). `matcher`
/// is asked for after the walk and the diffs; `None` from it stops the scan.
pub(crate) fn scan_ids<'m>(
    repo: &Repository,
    matcher: &mut dyn FnMut() -> Option<&'m Matcher>,
    opts: &HistoryOptions,
    tips: &[CommitId],
    hidden: &[CommitId],
    pool: &rayon::ThreadPool,
    progress: &Progress,
) -> Result<Option<HistoryReport>, Error> {
    let clock = std::time::Instant::now();
    let local = repo.inner.to_thread_local();
    let shallow: HashSet<CommitId> = repo
        .shallow_commits()
        .iter()
        .map(|id| CommitId::from_gix(id))
        .collect();
    let members = range_members(&local, tips, hidden, &shallow)?;
    if too_large(&local, members.len()) {
        let Some(matcher) = matcher() else {
            return Ok(None);
        };
        return whole_history(repo, matcher, opts, tips, &members, pool, progress).map(Some);
    }
    let mut source = CommitSource::new(HashMap::new(), Some(&local));
    let graph = commits::walk(tips, Some(&members), &shallow, &mut source);
    let mut stats = ScanStats {
        commits: graph.nodes.len() as u64,
        ..ScanStats::default()
    };
    stats.time("commits", clock);

    // Every blob a range commit puts at a path is of interest until matched, against the
    // versions its parents have at that path.
    let clock = std::time::Instant::now();
    // The packs for reading blobs open meanwhile (mapping a large index takes a while).
    let (packs, (intros, deleted)) = pool.install(|| {
        rayon::join(
            || Packs::open(&repo.inner),
            || introductions(repo, &graph, pool, progress, &mut stats),
        )
    });
    stats.time("diffs", clock);
    let clock = std::time::Instant::now();
    let jobs = jobs(&intros);
    let Some(matcher) = matcher() else {
        return Ok(None);
    };
    progress.start(Phase::Objects, jobs.len() as u64);
    let found = changed::match_jobs(
        &packs,
        matcher,
        opts.max_blob_size,
        &jobs,
        pool,
        progress,
        &mut stats,
    );
    stats.time("blobs", clock);
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
    Ok(Some(HistoryReport {
        secrets: finish(secrets),
        stats,
    }))
}

/// One matching job per introduced blob, with the parents' versions at each path that
/// introduces it.
fn jobs(intros: &[Intro]) -> Vec<changed::Job> {
    let mut index: HashMap<BlobId, usize> = HashMap::new();
    let mut out: Vec<changed::Job> = Vec::new();
    // By path, so that the versions of one file are matched one after another.
    let mut order: Vec<&Intro> = intros.iter().collect();
    order.sort_by(|a, b| a.path.cmp(&b.path));
    for intro in order {
        let i = *index.entry(intro.blob).or_insert_with(|| {
            out.push(changed::Job {
                blob: intro.blob,
                bases: Vec::new(),
            });
            out.len() - 1
        });
        if !out[i].bases.contains(&intro.parent_blobs) {
            out[i].bases.push(intro.parent_blobs.clone());
        }
    }
    out
}

/// A range too large for reading blob by blob: the whole-history engine over what `tips`
/// reach, keeping the occurrences in the range's commits. A secret that a commit outside
/// the range (one the other side already has) introduced too is not new, and is dropped.
fn whole_history(
    repo: &Repository,
    matcher: &Matcher,
    opts: &HistoryOptions,
    tips: &[CommitId],
    members: &[CommitId],
    pool: &rayon::ThreadPool,
    progress: &Progress,
) -> Result<HistoryReport, Error> {
    let mut report =
        crate::history::scan_all(repo, matcher, opts, Some(tips.to_vec()), pool, progress)?;
    let members: HashSet<CommitId> = members.iter().copied().collect();
    report.secrets.retain_mut(|s| {
        let before = s
            .occurrences
            .iter()
            .any(|o| !members.contains(&o.commit.id));
        s.occurrences.retain(|o| members.contains(&o.commit.id));
        !before && !s.occurrences.is_empty()
    });
    report.stats.notes.push(format!(
        "a range of {} commits: scanned with the whole-history engine",
        members.len()
    ));
    Ok(report)
}

/// The commits of `tips --not hidden`, newest first (see `walk`).
fn range_members(
    local: &gix::Repository,
    tips: &[CommitId],
    hidden: &[CommitId],
    shallow: &HashSet<CommitId>,
) -> Result<Vec<CommitId>, Error> {
    let mut source = walk::OdbCommits {
        repo: local,
        buf: Vec::new(),
    };
    walk::range(&mut source, tips, hidden, shallow).map_err(|(id, message)| Error::Object {
        id: id.to_hex(),
        message,
    })
}

/// Earlier versions of files, searched for the secrets a range found.
pub(crate) struct BlobContents<'r> {
    repo: &'r gix::Repository,
    holds: HashMap<BlobId, HashSet<Secret>>,
    pub(crate) unreadable: Vec<Unreadable>,
}

impl<'r> BlobContents<'r> {
    pub(crate) fn new(repo: &'r gix::Repository) -> Self {
        BlobContents {
            repo,
            holds: HashMap::new(),
            unreadable: Vec::new(),
        }
    }

    pub(crate) fn load(&mut self, blob: BlobId, secrets: &HashSet<Secret>) {
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

    pub(crate) fn has(&self, blob: &BlobId, secret: &Secret) -> bool {
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
