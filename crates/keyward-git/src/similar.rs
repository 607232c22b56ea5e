//! Deltas of our own for blobs a pack stores whole.
//!
//! Some packs hold every version of a file whole: `git fast-import` deltas a blob only
//! against the blob written just before it (a migrated repository keeps that pack until a
//! full repack), and loose objects are never deltas. Each version is then matched whole,
//! although it differs from the previous one by a few lines. So the pack-aware pass
//! keeps the versions it matched lately, with their records, under two keys: their first and their last [`KEY_BYTES`] bytes (most edits leave one of the two
//! alone). A blob that shares a key with a kept one, and shares most of its bytes with it as
//! a common prefix and suffix, is matched as a delta of it: a copy of the prefix, the middle
//! inserted, a copy of the suffix, through the same [`DeltaMatcher::delta`] that stored
//! deltas take.
//!
//! Which blob serves as a base changes only how much is matched, never what is found: any
//! base with a complete record gives the findings of a whole scan. The walk hands a pack's
//! whole entries over in pack order (the workers take runs of them in turn), so the version
//! before a blob has mostly been matched when the blob comes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use keyward_core::Scratch;

use crate::changed::{common_prefix, common_suffix};
use crate::delta::{DeltaMatcher, Matched, Op, Record};

/// Bytes of a blob's start, and of its end, that make its two keys.
const KEY_BYTES: usize = 64;
/// Blobs smaller than this are matched whole: the regions around an edit would cover most
/// of them anyway.
const MIN_LEN: usize = 2048;
/// Bytes of kept versions (and their records, roughly); past it, all are dropped.
const BUDGET: usize = 64 << 20;

/// One kept version.
struct Kept {
    data: Vec<u8>,
    record: Record,
}

impl Kept {
    fn cost(&self) -> usize {
        self.data.len() + 64 * (self.record.hits.len() + self.record.long.len())
    }
}

/// The versions the workers matched lately, by key: shared, so that a version finds the
/// one before it whichever worker matched that.
#[derive(Default)]
pub(crate) struct Versions {
    store: Mutex<Store>,
}

#[derive(Default)]
struct Store {
    by_key: HashMap<u64, Arc<Kept>>,
    /// Cost of the kept versions some key still names.
    bytes: usize,
}

/// One worker's buffers for [`Versions::matched`].
#[derive(Default)]
pub(crate) struct Pairing {
    ops: Vec<Op>,
    /// The ops of the best base so far.
    best_ops: Vec<Op>,
}

/// The key of `bytes` (a blob's start or end), tagged so that the two kinds differ.
fn key(bytes: &[u8], tag: u64) -> u64 {
    let mut h = tag.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ bytes.len() as u64;
    for c in bytes.chunks(8) {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
    h
}

/// The delta that turns `base` into `data` by its common prefix and suffix: its ops, and
/// how many bytes they copy.
fn prefix_suffix_delta(base: &[u8], data: &[u8], ops: &mut Vec<Op>) -> usize {
    ops.clear();
    let prefix = common_prefix(base, data);
    let room = base.len().min(data.len()) - prefix;
    let suffix = common_suffix(&base[prefix..], &data[prefix..]).min(room);
    if prefix > 0 {
        ops.push(Op {
            at: 0,
            len: prefix,
            from: Some(0),
        });
    }
    let middle = data.len() - prefix - suffix;
    if middle > 0 {
        ops.push(Op {
            at: prefix,
            len: middle,
            from: None,
        });
    }
    if suffix > 0 {
        ops.push(Op {
            at: data.len() - suffix,
            len: suffix,
            from: Some(base.len() - suffix),
        });
    }
    prefix + suffix
}

impl Versions {
    /// The two keys of a blob long enough to be paired.
    fn keys(data: &[u8]) -> Option<[u64; 2]> {
        (data.len() >= MIN_LEN).then(|| {
            [
                key(&data[..KEY_BYTES], 1),
                key(&data[data.len() - KEY_BYTES..], 2),
            ]
        })
    }

    /// Matches a blob stored whole: as a delta of the kept version it shares the most bytes
    /// with, when that is at least half of it, else whole. When `keep`, the blob is kept
    /// for the versions after it; the returned [`Matched`] then has no record.
    pub(crate) fn matched(
        &self,
        work: &mut Pairing,
        deltas: &DeltaMatcher<'_>,
        data: &[u8],
        scratch: &mut Scratch,
        keep: bool,
    ) -> Matched {
        let keys = Self::keys(data);
        let found: Vec<Arc<Kept>> = match (keys, self.store.lock()) {
            (Some(keys), Ok(store)) => keys
                .iter()
                .filter_map(|k| store.by_key.get(k).cloned())
                .collect(),
            _ => Vec::new(),
        };
        let mut best: Option<(usize, &Arc<Kept>)> = None;
        for kept in &found {
            if best.is_some_and(|(_, b)| Arc::ptr_eq(b, kept)) {
                continue;
            }
            let copied = prefix_suffix_delta(&kept.data, data, &mut work.ops);
            if best.is_none_or(|(c, _)| copied > c) {
                best = Some((copied, kept));
                std::mem::swap(&mut work.ops, &mut work.best_ops);
            }
        }
        let mut matched = match best {
            Some((copied, base)) if 2 * copied >= data.len() => {
                deltas.delta(data, &work.best_ops, base.data.len(), &base.record, scratch)
            }
            _ => deltas.whole(data, scratch, true),
        };
        // Released before the store counts what replacing them frees.
        drop(found);
        if keep
            && let Some(keys) = keys
            && let Some(record) = matched.bounded_record()
            && let Ok(mut store) = self.store.lock()
        {
            store.keep(keys, data, record);
        }
        matched
    }
}

impl Store {
    /// Keeps a version under its keys, in place of what they named.
    fn keep(&mut self, keys: [u64; 2], data: &[u8], record: Record) {
        let kept = Arc::new(Kept {
            data: data.to_vec(),
            record,
        });
        let cost = kept.cost();
        if self.bytes + cost > BUDGET {
            self.by_key.clear();
            self.bytes = 0;
        }
        self.bytes += cost;
        for k in keys {
            // (A version another worker still reads is counted until it is replaced again.)
            if let Some(old) = self.by_key.insert(k, Arc::clone(&kept))
                && Arc::strong_count(&old) == 1
            {
                self.bytes -= old.cost();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rebuild(base: &[u8], data: &[u8], ops: &[Op]) -> Vec<u8> {
        let mut out = Vec::new();
        for op in ops {
            assert_eq!(op.at, out.len());
            match op.from {
                Some(f) => out.extend_from_slice(&base[f..f + op.len]),
                None => out.extend_from_slice(&data[op.at..op.at + op.len]),
            }
        }
        out
    }

    #[test]
    fn prefix_suffix_ops_rebuild_the_target() {
        let cases: [(&[u8], &[u8]); 7] = [
            (b"abcdefgh", b"abcXYZdefgh"),
            (b"abcdefgh", b"abcgh"),
            (b"abcabcabc", b"abcabc"),
            (b"abc", b"abcabc"),
            (b"", b"xyz"),
            (b"same", b"same"),
            (
                b"0123456789abcdef0123456789abcdef-",
                b"0123456789abcdef0123456789abcdef+",
            ),
        ];
        for (base, data) in cases {
            let mut ops = Vec::new();
            let copied = prefix_suffix_delta(base, data, &mut ops);
            assert_eq!(rebuild(base, data, &ops), data, "{base:?} -> {data:?}");
            let copies: usize = ops.iter().filter(|o| o.from.is_some()).map(|o| o.len).sum();
            assert_eq!(copies, copied);
            assert!(copied <= base.len().min(data.len()));
        }
    }
}
