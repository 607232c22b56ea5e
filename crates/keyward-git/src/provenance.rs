//! Provenance: which commit brought each blob with findings to which path, and which of
//! those are occurrences of a secret (no parent's version of the file had it).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use keyward_core::{Matcher, Secret};
use rayon::prelude::*;

use crate::commits::{self, CommitSource, Graph};
use crate::forest::Forest;
use crate::history::{Occurrence, SecretReport, UnreachableBlob};
use crate::id::{BlobId, CommitId};
use crate::progress::{Phase, Progress};
use crate::repo::Repository;
use crate::stats::ScanStats;
use crate::trees::{Change, Trees};

/// A finding in one blob: rule, secret and its first position.
#[derive(Debug, Clone)]
pub(crate) struct BlobFinding {
    pub rule: usize,
    pub secret: Secret,
    pub line: usize,
    pub column: usize,
}

/// A (path, blob) that a commit introduced, with the blobs its parents had at that path.
#[derive(Debug)]
pub(crate) struct Intro {
    pub node: u32,
    pub path: Vec<u8>,
    pub blob: BlobId,
    pub parent_blobs: Vec<BlobId>,
}

/// Blobs that hold `secret` found by `rule`.
pub(crate) fn holders(
    found: &HashMap<BlobId, Vec<BlobFinding>>,
    rule: usize,
    secret: &Secret,
) -> Vec<BlobId> {
    found
        .iter()
        .filter(|(_, fs)| fs.iter().any(|f| f.rule == rule && &f.secret == secret))
        .map(|(b, _)| *b)
        .collect()
}

/// The blobs of HEAD's tree (none in a fresh repository).
pub(crate) fn head_blobs(
    repo: &Repository,
    source: &mut CommitSource<'_>,
    stats: &mut ScanStats,
) -> HashSet<BlobId> {
    let Some(head) = repo.head() else {
        return HashSet::new();
    };
    let Some(commit) = source.get(CommitId::from_gix(&head)) else {
        return HashSet::new();
    };
    let local = repo.inner.to_thread_local();
    let mut trees = Trees::new(&local);
    let mut out = Vec::new();
    trees.all_blobs(commit.tree, &mut out);
    stats.unreadable.extend(trees.unreadable);
    out.into_iter().map(|(_, b)| b).collect()
}

/// The (path, blob) pairs of interest each commit of `graph` introduced: diffs against the
/// first parent over the in-memory forest, then, for each pair, a lookup of the path in the
/// other parents. No object is read.
pub(crate) fn introductions_from(
    graph: &Graph,
    forest: &Forest,
    pool: &rayon::ThreadPool,
) -> Vec<Intro> {
    // Runs of commits in parallel, their introductions in the graph's order.
    let chunk = (graph.nodes.len() / (pool.current_num_threads() * 8)).clamp(64, 4096);
    let runs: Vec<Vec<Intro>> = pool.install(|| {
        graph
            .nodes
            .par_chunks(chunk)
            .enumerate()
            .map(|(c, nodes)| {
                let mut out = Vec::new();
                let mut path = Vec::new();
                for (k, node) in nodes.iter().enumerate() {
                    introduced_by(forest, node, c * chunk + k, &mut path, &mut out);
                }
                out
            })
            .collect()
    });
    runs.into_iter().flatten().collect()
}

/// The (path, blob) pairs of interest that commit `node` (number `index`) introduced.
fn introduced_by(
    forest: &Forest,
    node: &commits::Node,
    index: usize,
    path: &mut Vec<u32>,
    out: &mut Vec<Intro>,
) {
    let Some(root) = forest.tree(node.tree) else {
        return;
    };
    let parents: Vec<Option<u32>> = node.parent_trees.iter().map(|&t| forest.tree(t)).collect();
    let first = parents.first().copied().flatten();
    let mut found: Vec<(Vec<u32>, u32, Option<u32>)> = Vec::new();
    forest.diff(first, root, path, &mut |p, blob, old| {
        found.push((p.to_vec(), blob, old))
    });
    for (p, blob, old) in found {
        let mut parent_blobs: Vec<u32> = old.into_iter().collect();
        for other in parents.iter().skip(1).flatten() {
            parent_blobs.extend(forest.blob_at(*other, &p));
        }
        if parent_blobs.contains(&blob) {
            continue; // a merge bringing in a parent's version
        }
        out.push(Intro {
            node: index as u32,
            path: forest.path_bytes(&p),
            blob: forest.blob(blob),
            parent_blobs: parent_blobs.into_iter().map(|b| forest.blob(b)).collect(),
        });
    }
}

/// What one worker's run of commits produced: introductions, removed blobs by commit, counts.
type ChunkResult = (Vec<Intro>, Vec<(u32, Vec<BlobId>)>, ScanStats);

/// Diffs every commit of `graph` (a range) against its first parent through the object
/// database, in parallel, and returns the (path, blob) pairs each commit introduced, and the
/// blobs each commit removed or replaced (by commit), for rename checks.
pub(crate) fn introductions(
    repo: &Repository,
    graph: &Graph,
    pool: &rayon::ThreadPool,
    progress: &Progress,
    stats: &mut ScanStats,
) -> (Vec<Intro>, HashMap<u32, Vec<BlobId>>) {
    progress.start(Phase::Commits, graph.nodes.len() as u64);
    // Neighbours in topological order share trees: give each worker runs of them, so that
    // a commit's parent tree is still in that worker's object cache.
    // A push of a few commits is split too: its tree diffs are most of its fixed cost.
    let chunk = (graph.nodes.len() / (pool.current_num_threads() * 16)).clamp(2, 2048);
    let results: Vec<ChunkResult> = pool.install(|| {
        graph
            .nodes
            .par_chunks(chunk)
            .enumerate()
            .map(|(c, nodes)| {
                let mut local = repo.inner.to_thread_local();
                local.object_cache_size(Some(8 * 1024 * 1024));
                let mut trees = Trees::new(&local);
                let mut intros = Vec::new();
                let mut deleted = Vec::new();
                for (k, node) in nodes.iter().enumerate() {
                    let index = (c * chunk + k) as u32;
                    let gone = diff_commit(&mut trees, index, node, &mut intros);
                    if !gone.is_empty() {
                        deleted.push((index, gone));
                    }
                    progress.step(1);
                }
                let mut st = ScanStats {
                    gitlinks: trees.gitlinks,
                    ..ScanStats::default()
                };
                st.unreadable = trees.unreadable;
                (intros, deleted, st)
            })
            .collect()
    });
    let mut intros = Vec::new();
    let mut deleted = HashMap::new();
    for (i, d, st) in results {
        intros.extend(i);
        deleted.extend(d);
        stats.merge(&st);
    }
    (intros, deleted)
}

/// The introductions of one commit, and the blobs it removed or replaced.
fn diff_commit(
    trees: &mut Trees<'_>,
    index: u32,
    node: &commits::Node,
    out: &mut Vec<Intro>,
) -> Vec<BlobId> {
    let mut changed: Vec<(Vec<u8>, BlobId, Option<BlobId>)> = Vec::new();
    let mut gone = Vec::new();
    let mut path = Vec::new();
    let first = node.parent_trees.first().copied();
    trees.diff(
        first,
        Some(node.tree),
        true,
        &mut path,
        &mut |p, change| match change {
            Change::Blob { new, old } => changed.push((p.to_vec(), new, old)),
            Change::Deleted { old } => gone.push(old),
        },
    );
    for (path, blob, old) in changed {
        let mut parent_blobs: Vec<BlobId> = old.into_iter().collect();
        for &other in node.parent_trees.iter().skip(1) {
            if let Some(b) = trees.blob_at(other, &path) {
                parent_blobs.push(b);
            }
        }
        if parent_blobs.contains(&blob) {
            continue; // a merge bringing in a parent's version
        }
        gone.extend(old);
        out.push(Intro {
            node: index,
            path,
            blob,
            parent_blobs,
        });
    }
    gone
}

/// Groups introductions into secrets: an introduction is an occurrence of a secret when no
/// parent's version of the file (`parent_has`), and none of the commit's removed files
/// (`renamed_from`, for ranges), already had it.
pub(crate) fn occurrences(
    matcher: &Matcher,
    graph: &Graph,
    intros: &[Intro],
    found: &HashMap<BlobId, Vec<BlobFinding>>,
    parent_has: impl Fn(&BlobId, &Secret) -> bool,
) -> Vec<SecretReport> {
    let filters = matcher.rule_set().filters();
    let rules = matcher.rules();
    let mut by_secret: HashMap<(usize, Secret), SecretReport> = HashMap::new();
    for intro in intros {
        let Some(fs) = found.get(&intro.blob) else {
            continue;
        };
        let path = String::from_utf8_lossy(&intro.path).into_owned();
        let lock_file = filters.is_lock_file(&path);
        for f in fs {
            if lock_file && rules[f.rule].spec.generic {
                continue;
            }
            if intro.parent_blobs.iter().any(|p| parent_has(p, &f.secret)) {
                continue;
            }
            let entry = by_secret
                .entry((f.rule, f.secret.clone()))
                .or_insert_with(|| SecretReport {
                    rule: f.rule,
                    secret: f.secret.clone(),
                    occurrences: Vec::new(),
                    unreachable: Vec::new(),
                    in_head: false,
                });
            entry.occurrences.push(Occurrence {
                commit: Arc::clone(&graph.nodes[intro.node as usize].meta),
                path: path.clone(),
                blob: intro.blob,
                line: f.line,
                column: f.column,
            });
        }
    }
    by_secret.into_values().collect()
}

/// Secrets whose blobs no commit introduced.
pub(crate) fn add_unreachable(
    secrets: &mut Vec<SecretReport>,
    found: &HashMap<BlobId, Vec<BlobFinding>>,
    intros: &[Intro],
) {
    let reached: HashSet<BlobId> = intros.iter().map(|i| i.blob).collect();
    let mut have: HashSet<(usize, Secret)> =
        secrets.iter().map(|s| (s.rule, s.secret.clone())).collect();
    let mut extra: HashMap<(usize, Secret), Vec<UnreachableBlob>> = HashMap::new();
    let mut reached_secret: HashSet<(usize, Secret)> = HashSet::new();
    for (blob, fs) in found {
        for f in fs {
            let key = (f.rule, f.secret.clone());
            if reached.contains(blob) {
                reached_secret.insert(key);
            } else if !have.contains(&key) {
                extra.entry(key).or_default().push(UnreachableBlob {
                    blob: *blob,
                    line: f.line,
                    column: f.column,
                });
            }
        }
    }
    for (key, mut blobs) in extra {
        if reached_secret.contains(&key) || !have.insert(key.clone()) {
            continue;
        }
        blobs.sort_by_key(|b| b.blob);
        secrets.push(SecretReport {
            rule: key.0,
            secret: key.1,
            occurrences: Vec::new(),
            unreachable: blobs,
            in_head: false,
        });
    }
}

/// Orders each secret's occurrences (generation, date, path) and the secrets by their first
/// occurrence; unreachable ones last.
pub(crate) fn finish(mut secrets: Vec<SecretReport>) -> Vec<SecretReport> {
    for s in &mut secrets {
        s.occurrences.sort_by(|a, b| {
            (a.commit.generation, a.commit.time, &a.path, a.line).cmp(&(
                b.commit.generation,
                b.commit.time,
                &b.path,
                b.line,
            ))
        });
        s.occurrences
            .dedup_by(|a, b| a.commit.id == b.commit.id && a.path == b.path);
    }
    secrets.sort_by(|a, b| {
        let key = |s: &SecretReport| {
            let first = s.occurrences.first();
            (
                first.is_none(),
                first.map(|o| (o.commit.generation, o.commit.time, o.path.clone(), o.line)),
                s.unreachable.first().map(|u| u.blob),
                s.rule,
                s.secret.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    secrets
}
