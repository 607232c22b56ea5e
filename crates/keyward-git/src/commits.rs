//! The commit graph that provenance walks: which commits, their parents' trees, authors,
//! dates and generation numbers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::date::iso8601;
use crate::id::{CommitId, TreeId};
use crate::parse::{self, RawCommit};

/// Who made a commit and where it sits in history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitMeta {
    /// The commit.
    pub id: CommitId,
    /// Author name (invalid UTF-8 replaced).
    pub author: String,
    /// Author email.
    pub email: String,
    /// Author time, seconds since the Unix epoch.
    pub time: i64,
    /// Author time zone, seconds east of UTC.
    pub offset: i32,
    /// 1 for a root commit, else 1 + the largest generation of its parents (among the
    /// commits walked).
    pub generation: u32,
    /// The commit's parents are missing (a shallow clone's boundary): what it "introduced"
    /// may be older.
    pub boundary: bool,
}

impl CommitMeta {
    /// The author date in ISO 8601, in the author's time zone: `2024-05-01T13:45:00+02:00`.
    pub fn date(&self) -> String {
        iso8601(self.time, self.offset)
    }
}

/// One commit of the walk, with what diffing it needs.
#[derive(Debug)]
pub(crate) struct Node {
    pub meta: Arc<CommitMeta>,
    pub tree: TreeId,
    /// Trees of the parents that exist, first parent first.
    pub parent_trees: Vec<TreeId>,
}

/// The walked commits, parents before children.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    pub nodes: Vec<Node>,
}

/// Where commit objects come from: the ones the object pass already parsed, else the
/// object database.
pub(crate) struct CommitSource<'a> {
    pub known: HashMap<CommitId, RawCommit>,
    pub repo: Option<&'a gix::Repository>,
    buf: Vec<u8>,
}

impl<'a> CommitSource<'a> {
    pub(crate) fn new(
        known: HashMap<CommitId, RawCommit>,
        repo: Option<&'a gix::Repository>,
    ) -> Self {
        CommitSource {
            known,
            repo,
            buf: Vec::new(),
        }
    }

    /// The commit `id`, or `None` when it is missing or not a commit.
    pub(crate) fn get(&mut self, id: CommitId) -> Option<RawCommit> {
        if let Some(c) = self.known.get(&id) {
            return Some(c.clone());
        }
        use gix::objs::Find;
        let data = self
            .repo?
            .objects
            .try_find(&id.to_gix(), &mut self.buf)
            .ok()??;
        if data.kind != gix::objs::Kind::Commit {
            return None;
        }
        let raw = parse::commit(data.data)?;
        self.known.insert(id, raw.clone());
        Some(raw)
    }
}

/// Walks every commit reachable from `tips`, stopping at `shallow` boundary commits.
/// `members`, when given, lists the commits to keep (a range); their parents outside it are
/// still read for their trees.
pub(crate) fn walk(
    tips: &[CommitId],
    members: Option<&[CommitId]>,
    shallow: &HashSet<CommitId>,
    source: &mut CommitSource<'_>,
) -> Graph {
    let mut raws: Vec<(CommitId, RawCommit)> = Vec::new();
    let mut index: HashMap<CommitId, u32> = HashMap::new();
    match members {
        Some(list) => {
            for &id in list {
                if !index.contains_key(&id)
                    && let Some(raw) = source.get(id)
                {
                    index.insert(id, raws.len() as u32);
                    raws.push((id, raw));
                }
            }
        }
        None => {
            let mut stack: Vec<CommitId> = tips.to_vec();
            while let Some(id) = stack.pop() {
                if index.contains_key(&id) {
                    continue;
                }
                let Some(raw) = source.get(id) else { continue };
                if !shallow.contains(&id) {
                    stack.extend(
                        raw.parents
                            .iter()
                            .copied()
                            .filter(|p| !index.contains_key(p)),
                    );
                }
                index.insert(id, raws.len() as u32);
                raws.push((id, raw));
            }
        }
    }
    let order = topological(&raws, &index, shallow);
    let mut position = vec![0u32; raws.len()];
    for (pos, &i) in order.iter().enumerate() {
        position[i as usize] = pos as u32;
    }
    let mut slots: Vec<Option<(CommitId, RawCommit)>> = raws.into_iter().map(Some).collect();
    let mut nodes: Vec<Node> = Vec::with_capacity(order.len());
    for &i in &order {
        let Some((id, raw)) = slots[i as usize].take() else {
            continue;
        };
        let cut = shallow.contains(&id);
        let mut parent_trees = Vec::new();
        let mut parents_in = Vec::new();
        let mut missing = cut && !raw.parents.is_empty();
        if !cut {
            for p in &raw.parents {
                if let Some(&pi) = index.get(p) {
                    parents_in.push(position[pi as usize]);
                    parent_trees.push(nodes[position[pi as usize] as usize].tree);
                } else if let Some(parent) = source.get(*p) {
                    parent_trees.push(parent.tree);
                } else {
                    missing = true;
                }
            }
        }
        let generation = 1 + parents_in
            .iter()
            .map(|&p| nodes[p as usize].meta.generation)
            .max()
            .unwrap_or(0);
        let meta = CommitMeta {
            id,
            author: raw.author,
            email: raw.email,
            time: raw.time,
            offset: raw.offset,
            generation,
            boundary: missing,
        };
        nodes.push(Node {
            meta: Arc::new(meta),
            tree: raw.tree,
            parent_trees,
        });
    }
    Graph { nodes }
}

/// Parents before children (iterative depth-first post-order), so that generation numbers
/// can be computed in one pass and neighbouring commits share trees.
fn topological(
    raws: &[(CommitId, RawCommit)],
    index: &HashMap<CommitId, u32>,
    shallow: &HashSet<CommitId>,
) -> Vec<u32> {
    let mut state = vec![0u8; raws.len()]; // 0 new, 1 open, 2 done
    let mut order = Vec::with_capacity(raws.len());
    let mut stack: Vec<(u32, usize)> = Vec::new();
    for start in 0..raws.len() as u32 {
        if state[start as usize] != 0 {
            continue;
        }
        stack.push((start, 0));
        state[start as usize] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let (id, raw) = &raws[node as usize];
            let parents: &[CommitId] = if shallow.contains(id) {
                &[]
            } else {
                &raw.parents
            };
            if let Some(p) = parents.get(*next) {
                *next += 1;
                if let Some(&pi) = index.get(p)
                    && state[pi as usize] == 0
                {
                    state[pi as usize] = 1;
                    stack.push((pi, 0));
                }
            } else {
                state[node as usize] = 2;
                order.push(node);
                stack.pop();
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> CommitId {
        CommitId::from_bytes([n; 20])
    }

    fn raw(parents: &[u8]) -> RawCommit {
        RawCommit {
            tree: TreeId::from_bytes([0; 20]),
            parents: parents.iter().map(|&p| id(p)).collect(),
            author: "a".into(),
            email: "a@example.com".into(),
            time: 0,
            offset: 0,
        }
    }

    #[test]
    fn generations_and_order_on_a_merge() {
        // 1 ← 2 ← 4 (merge of 2 and 3), 1 ← 3
        let known: HashMap<CommitId, RawCommit> = [
            (id(1), raw(&[])),
            (id(2), raw(&[1])),
            (id(3), raw(&[1])),
            (id(4), raw(&[2, 3])),
        ]
        .into_iter()
        .collect();
        let mut source = CommitSource::new(known, None);
        let graph = walk(&[id(4)], None, &HashSet::new(), &mut source);
        let gens: HashMap<CommitId, u32> = graph
            .nodes
            .iter()
            .map(|n| (n.meta.id, n.meta.generation))
            .collect();
        assert_eq!(gens[&id(1)], 1);
        assert_eq!(gens[&id(2)], 2);
        assert_eq!(gens[&id(4)], 3);
        assert_eq!(graph.nodes.last().map(|n| n.meta.id), Some(id(4)));
        let merge = graph.nodes.len() - 1;
        assert_eq!(graph.nodes[merge].parent_trees.len(), 2);

        // Cut at 2 (a shallow boundary): 1 is never reached, 2 is a boundary.
        let graph = walk(&[id(4)], None, &[id(2)].into_iter().collect(), &mut source);
        let two = graph
            .nodes
            .iter()
            .find(|n| n.meta.id == id(2))
            .expect("walked");
        assert!(two.meta.boundary);
        assert!(
            graph
                .nodes
                .iter()
                .all(|n| n.meta.id != id(1) || !n.meta.boundary)
        );
    }
}
