//! The history scan: the object pass, the commit walk, and provenance.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use keyward_core::{Matcher, Scratch, Secret};

use crate::commits::{self, CommitMeta, CommitSource};
use crate::delta::{self, DeltaMatcher, Outcome};
use crate::error::Error;
use crate::forest::{self, DbTrees};
use crate::id::{BlobId, CommitId};
use crate::objects::{Base, ObjectDb, PassOptions, Stage, Visit};
use crate::parse::{self, RawCommit};
use crate::progress::{Phase, Progress};
use crate::provenance::{
    BlobFinding, add_unreachable, finish, holders, introductions_from, occurrences,
};
use crate::repo::Repository;
use crate::similar::{Pairing, Versions};
use crate::stats::{ScanStats, Unreadable};

/// Stack of each worker thread: tree diffs recurse once per level, up to
/// [`crate::forest::MAX_DEPTH`] levels, and need room for that in unoptimised builds too.
const WORKER_STACK: usize = 16 << 20;

/// Which part of history to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every ref (branches, tags, remote-tracking refs, stash), every HEAD and every reflog
    /// entry; blobs that no commit reaches are reported too, as unreachable.
    Everything,
    /// Only what these revisions reach (`--branch`).
    Reachable(Vec<String>),
    /// Only the commits of a range, only the blobs they introduce, and only secrets that no
    /// parent already had in that file.
    Range(CommitRange),
    /// Like [`Selection::Range`], with the commits given by id (what a hook is handed).
    /// Hidden commits that the repository does not have hide nothing.
    Commits {
        /// Commits whose history is scanned.
        tips: Vec<CommitId>,
        /// Commits whose history is left out.
        hidden: Vec<CommitId>,
    },
}

/// The commits reachable from `tips` but from none of `hidden` (git's `tips --not hidden`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitRange {
    /// Revisions whose history is scanned.
    pub tips: Vec<String>,
    /// Revisions whose history is left out.
    pub hidden: Vec<String>,
}

impl CommitRange {
    /// `A..B` (B not A), or a single revision (its whole history).
    pub fn parse(spec: &str) -> CommitRange {
        match spec.split_once("..") {
            Some((a, b)) => {
                let b = if b.is_empty() { "HEAD" } else { b };
                let hidden = if a.is_empty() {
                    Vec::new()
                } else {
                    vec![a.to_string()]
                };
                CommitRange {
                    tips: vec![b.to_string()],
                    hidden,
                }
            }
            None => CommitRange {
                tips: vec![spec.to_string()],
                hidden: Vec::new(),
            },
        }
    }
}

/// How to scan.
#[derive(Debug, Clone)]
pub struct HistoryOptions {
    /// What part of history.
    pub selection: Selection,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Blobs larger than this are skipped (counted in stats).
    pub max_blob_size: u64,
    /// Match a blob that a pack stores as a delta only around what its delta changes, and
    /// carry its base's findings over (what `keyward history` does unless told
    /// `--exhaustive`); otherwise every blob is matched whole, the reference this mode is
    /// checked against. Off in `Default`.
    pub pack_aware: bool,
}

impl Default for HistoryOptions {
    fn default() -> Self {
        HistoryOptions {
            selection: Selection::Everything,
            threads: 0,
            max_blob_size: 25 * 1024 * 1024,
            pack_aware: false,
        }
    }
}

/// Where a secret was brought into history: a commit that put a blob holding it at a path
/// where none of the commit's parents had it.
#[derive(Debug, Clone)]
pub struct Occurrence {
    /// The commit.
    pub commit: Arc<CommitMeta>,
    /// The file's path in that commit (invalid UTF-8 replaced).
    pub path: String,
    /// The blob.
    pub blob: BlobId,
    /// 1-based line of the secret in the blob.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// A blob that holds a secret but that no walked commit reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreachableBlob {
    /// The blob.
    pub blob: BlobId,
    /// 1-based line of the secret.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// One secret found by one rule, with everywhere history brought it in.
#[derive(Debug, Clone)]
pub struct SecretReport {
    /// Index of the rule in the matcher's rules.
    pub rule: usize,
    /// The secret.
    pub secret: Secret,
    /// Every commit and path that introduced it, ordered by generation then date: the first
    /// one introduced it. Empty when no walked commit reaches it.
    pub occurrences: Vec<Occurrence>,
    /// Blobs holding it that no commit reaches (reported only when `occurrences` is empty).
    pub unreachable: Vec<UnreachableBlob>,
    /// Is the secret still in a file at HEAD?
    pub in_head: bool,
}

/// What a history scan found.
#[derive(Debug, Default)]
pub struct HistoryReport {
    /// One entry per (rule, secret), ordered by first occurrence.
    pub secrets: Vec<SecretReport>,
    /// Counts, skips, and every object that could not be read.
    pub stats: ScanStats,
}

/// Scans the history of `repo` for secrets with `matcher`.
pub fn scan(
    repo: &Repository,
    matcher: &Matcher,
    opts: &HistoryOptions,
    progress: &Progress,
) -> Result<HistoryReport, Error> {
    scan_deferred(repo, opts, progress, &mut || Some(matcher)).map(Option::unwrap_or_default)
}

/// Like [`scan`], with the matcher asked for only when the rules are first needed: for a
/// set of commits (a hook's push) after the commit walk and the tree diffs, so that the
/// caller can build the rules on another thread meanwhile. `matcher` is called at most
/// once; when it gives `None` (building the rules failed, and the caller has the error) the
/// scan stops with `Ok(None)`.
pub fn scan_deferred<'m>(
    repo: &Repository,
    opts: &HistoryOptions,
    progress: &Progress,
    matcher: &mut dyn FnMut() -> Option<&'m Matcher>,
) -> Result<Option<HistoryReport>, Error> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .stack_size(WORKER_STACK)
        .build()
        .map_err(|e| Error::Repository {
            path: repo.git_dir().to_path_buf(),
            message: e.to_string(),
        })?;
    let report = match &opts.selection {
        Selection::Range(range) => crate::range::scan(repo, matcher, opts, range, &pool, progress)?,
        Selection::Commits { tips, hidden } => {
            crate::range::scan_ids(repo, matcher, opts, tips, hidden, &pool, progress)?
        }
        Selection::Everything => match matcher() {
            Some(m) => Some(scan_all(repo, m, opts, None, &pool, progress)?),
            None => None,
        },
        Selection::Reachable(revs) => {
            let tips = revs
                .iter()
                .map(|r| repo.resolve(r))
                .collect::<Result<Vec<_>, _>>()?;
            match matcher() {
                Some(m) => Some(scan_all(repo, m, opts, Some(tips), &pool, progress)?),
                None => None,
            }
        }
    };
    let Some(mut report) = report else {
        return Ok(None);
    };
    report.stats.shallow = repo.is_shallow();
    progress.start(Phase::Finished, 0);
    Ok(Some(report))
}

/// The matcher as a visitor of the object pass: keeps only blobs with findings, and every
/// commit's headers.
struct ScanVisitor<'m> {
    deltas: DeltaMatcher<'m>,
    /// The pack-aware pass: blobs stored whole are matched as deltas of similar versions
    /// too (see [`crate::similar`]).
    similar: bool,
    /// The versions kept for that.
    versions: Versions,
    found: Mutex<HashMap<BlobId, Vec<BlobFinding>>>,
    commits: Mutex<HashMap<CommitId, RawCommit>>,
}

#[derive(Default)]
struct ScanState {
    scratch: Scratch,
    pairing: Pairing,
    found: Vec<(BlobId, Vec<BlobFinding>)>,
    commits: Vec<(CommitId, RawCommit)>,
}

impl Visit for ScanVisitor<'_> {
    type State = ScanState;

    fn state(&self) -> ScanState {
        ScanState::default()
    }

    fn blob(&self, state: &mut ScanState, id: BlobId, data: &[u8], base: Base<'_>) -> Outcome {
        let mut matched = match base {
            Base::Unknown | Base::Root if self.similar => {
                let keep = matches!(base, Base::Unknown);
                let (pairing, scratch) = (&mut state.pairing, &mut state.scratch);
                self.versions
                    .matched(pairing, &self.deltas, data, scratch, keep)
            }
            Base::Unknown => self.deltas.whole(data, &mut state.scratch, false),
            Base::Root => self.deltas.whole(data, &mut state.scratch, true),
            Base::Delta {
                ops,
                base_len,
                record,
            } => self
                .deltas
                .delta(data, ops, base_len, record, &mut state.scratch),
        };
        let mut findings: Vec<BlobFinding> = Vec::new();
        for h in &matched.hits {
            if !findings
                .iter()
                .any(|o| o.rule == h.rule && o.secret == h.secret)
            {
                let (line, column) = delta::line_column(data, h.span.start);
                findings.push(BlobFinding {
                    rule: h.rule,
                    secret: h.secret.clone(),
                    line,
                    column,
                });
            }
        }
        if !findings.is_empty() {
            state.found.push((id, findings));
        }
        Outcome {
            record: matched.bounded_record(),
            windowed: matched.windowed,
        }
    }

    fn commit(&self, state: &mut ScanState, id: CommitId, data: &[u8]) {
        if let Some(raw) = parse::commit(data) {
            state.commits.push((id, raw));
        }
    }

    fn finish(&self, state: ScanState) {
        if let Ok(mut found) = self.found.lock() {
            found.extend(state.found);
        }
        if let Ok(mut commits) = self.commits.lock() {
            commits.extend(state.commits);
        }
    }
}

/// The findings of one blob, one per (rule, secret) at its first position.
pub(crate) fn blob_findings(
    matcher: &Matcher,
    scratch: &mut Scratch,
    data: &[u8],
) -> Vec<BlobFinding> {
    let mut out: Vec<BlobFinding> = Vec::new();
    for f in matcher.scan(data, scratch) {
        if !out.iter().any(|o| o.rule == f.rule && o.secret == f.secret) {
            out.push(BlobFinding {
                rule: f.rule,
                secret: f.secret,
                line: f.line,
                column: f.column,
            });
        }
    }
    out
}

/// Whole history, or what `tips` reach: every blob once, then provenance.
pub(crate) fn scan_all(
    repo: &Repository,
    matcher: &Matcher,
    opts: &HistoryOptions,
    tips: Option<Vec<CommitId>>,
    pool: &rayon::ThreadPool,
    progress: &Progress,
) -> Result<HistoryReport, Error> {
    let everything = tips.is_none();
    let visitor = ScanVisitor {
        deltas: DeltaMatcher::new(matcher),
        similar: opts.pack_aware,
        versions: Versions::default(),
        found: Mutex::default(),
        commits: Mutex::default(),
    };
    let pass = PassOptions {
        max_blob_size: opts.max_blob_size,
        deltas: opts.pack_aware,
    };
    let local = repo.inner.to_thread_local();
    let clock = std::time::Instant::now();
    let db = pool.install(|| ObjectDb::open(repo.inner.objects_dir(), crate::packread::MAP_LIMIT));
    progress.start(Phase::Objects, db.total());
    let mut stats = db.run(Stage::Content, &repo.inner, pass, pool, &visitor, progress);
    let found = visitor
        .found
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    let known = visitor
        .commits
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    stats.time("blobs", clock);

    let clock = std::time::Instant::now();
    let blobs: Vec<BlobId> = found.keys().copied().collect();
    let blobs_empty = blobs.is_empty();
    let trees = if blobs_empty {
        Vec::new()
    } else {
        db.tree_ids()
    };
    let source = DbTrees {
        db: &db,
        odb: &repo.inner,
        pass,
        pool,
        progress,
    };
    let (forest, st, passes) = forest::build(&source, trees, blobs);
    stats.merge(&st);
    drop(db);
    stats.gitlinks = forest.gitlinks;
    stats.forest = forest.sizes(passes);
    stats.time("trees", clock);

    let clock = std::time::Instant::now();
    let tips = match tips {
        Some(t) => t,
        None => repo
            .all_tips()?
            .iter()
            .map(|id| CommitId::from_gix(id))
            .collect(),
    };
    let shallow: HashSet<CommitId> = repo
        .shallow_commits()
        .iter()
        .map(|id| CommitId::from_gix(id))
        .collect();
    let mut source = CommitSource::new(known, Some(&local));
    let graph = commits::walk(&tips, None, &shallow, &mut source);
    stats.commits = graph.nodes.len() as u64;
    progress.start(Phase::Commits, graph.nodes.len() as u64);
    let intros = introductions_from(&graph, &forest, pool);
    progress.step(graph.nodes.len() as u64);
    stats.time("commits", clock);

    let mut head_blobs: HashSet<BlobId> = HashSet::new();
    if let Some(head) = repo.head().and_then(|h| source.get(CommitId::from_gix(&h)))
        && let Some(root) = forest.tree(head.tree)
    {
        forest.all_blobs(root, &mut head_blobs);
    }
    let contains = |blob: &BlobId, secret: &Secret| {
        found
            .get(blob)
            .is_some_and(|fs| fs.iter().any(|f| &f.secret == secret))
    };
    let mut secrets = occurrences(matcher, &graph, &intros, &found, |blob, secret| {
        contains(blob, secret)
    });
    if everything {
        add_unreachable(&mut secrets, &found, &intros);
    }
    for s in &mut secrets {
        let blobs = holders(&found, s.rule, &s.secret);
        s.in_head = blobs.iter().any(|b| head_blobs.contains(b));
    }
    if !blobs_empty {
        // Damage only the walk of trees meets: every blob was matched already, so it costs
        // provenance, not content. (Without findings no tree is walked.)
        for node in &graph.nodes {
            if forest.tree(node.tree).is_none() {
                stats.unreadable.push(Unreadable {
                    id: node.tree.to_hex(),
                    reason: format!("tree not found (the tree of commit {})", node.meta.id),
                });
            }
        }
        stats.unreadable.extend(forest.damage());
    }
    let secrets = finish(secrets);
    Ok(HistoryReport { secrets, stats })
}

/// The floor of a whole-history scan: the object pass with nothing matched. Every object is
/// rebuilt base first and each blob checked for size, binary content and LFS pointers, as
/// [`scan`] does, but no rule runs. For benchmarks.
pub fn rebuild_objects(
    repo: &Repository,
    threads: usize,
    progress: &Progress,
) -> Result<ScanStats, Error> {
    struct Nothing;
    impl Visit for Nothing {
        type State = ();
        fn state(&self) {}
        fn blob(&self, _: &mut (), _: BlobId, _: &[u8], _: Base<'_>) -> Outcome {
            Outcome::default()
        }
        fn commit(&self, _: &mut (), _: CommitId, _: &[u8]) {}
        fn finish(&self, _: ()) {}
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Repository {
            path: repo.git_dir().to_path_buf(),
            message: e.to_string(),
        })?;
    let pass = PassOptions {
        max_blob_size: u64::MAX,
        deltas: false,
    };
    let clock = std::time::Instant::now();
    let db = ObjectDb::open(repo.inner.objects_dir(), crate::packread::MAP_LIMIT);
    let mut stats = db.run(Stage::Content, &repo.inner, pass, &pool, &Nothing, progress);
    stats.time("blobs and commits", clock);
    let clock = std::time::Instant::now();
    stats.merge(&db.run(Stage::Trees, &repo.inner, pass, &pool, &Nothing, progress));
    stats.time("trees", clock);
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::CommitRange;

    #[test]
    fn range_specs() {
        let r = |tips: &[&str], hidden: &[&str]| CommitRange {
            tips: tips.iter().map(|s| s.to_string()).collect(),
            hidden: hidden.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(CommitRange::parse("v1.0..main"), r(&["main"], &["v1.0"]));
        assert_eq!(CommitRange::parse("abc123.."), r(&["HEAD"], &["abc123"]));
        assert_eq!(CommitRange::parse("..feature"), r(&["feature"], &[]));
        assert_eq!(CommitRange::parse("main"), r(&["main"], &[]));
    }
}
