//! How a history scan went: what was scanned, skipped, and could not be read.

use std::collections::BTreeMap;

/// An object (or a pack) that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The object id in hex, or the pack's path.
    pub id: String,
    /// What went wrong.
    pub reason: String,
}

/// Counts of a history scan.
#[derive(Debug, Clone, Default)]
pub struct ScanStats {
    /// Objects in the object database (packed entries plus loose objects).
    pub objects: u64,
    /// Pack files read.
    pub packs: u64,
    /// Loose objects found.
    pub loose_objects: u64,
    /// Distinct blobs seen.
    pub blobs: u64,
    /// Blobs matched.
    pub blobs_scanned: u64,
    /// Bytes of blob content matched.
    pub bytes_scanned: u64,
    /// Blobs stored as deltas that were matched only around what their delta changed.
    pub blobs_windowed: u64,
    /// Bytes of those blobs' windows (part of `bytes_scanned`'s blobs, matched instead of
    /// the whole).
    pub bytes_windowed: u64,
    /// Blobs not matched, by reason: `too_large`, `binary`, `lfs_pointer`.
    pub skipped: BTreeMap<&'static str, u64>,
    /// Commits walked for provenance.
    pub commits: u64,
    /// Submodule entries (gitlinks) seen in changed trees: noted, never followed.
    pub gitlinks: u64,
    /// The repository is a shallow clone: history before its boundary commits is missing.
    pub shallow: bool,
    /// Objects that could not be read, each named.
    pub unreadable: Vec<Unreadable>,
    /// Other things worth saying (a pack read object by object after its walk failed).
    pub notes: Vec<String>,
    /// Wall time of each phase, in order.
    pub timings: Vec<(&'static str, std::time::Duration)>,
    /// What provenance kept of the trees (whole-history scans with findings).
    pub forest: ForestSize,
}

/// How much of the repository's trees a whole-history scan kept in memory for provenance:
/// only the trees, and entries, that lead to a blob with findings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForestSize {
    /// Trees in the object database.
    pub trees: u64,
    /// Trees kept.
    pub kept: u64,
    /// Entries kept, over all kept trees.
    pub entries: u64,
    /// Passes over the trees it took to find them.
    pub passes: u64,
}

impl ScanStats {
    /// Counts one skipped blob.
    pub fn skip(&mut self, reason: &'static str) {
        *self.skipped.entry(reason).or_default() += 1;
    }

    /// Records the time since `start` as the duration of `phase`.
    pub fn time(&mut self, phase: &'static str, start: std::time::Instant) {
        self.timings.push((phase, start.elapsed()));
    }

    /// Adds another worker's counts.
    pub fn merge(&mut self, other: &ScanStats) {
        self.blobs += other.blobs;
        self.blobs_scanned += other.blobs_scanned;
        self.bytes_scanned += other.bytes_scanned;
        self.blobs_windowed += other.blobs_windowed;
        self.bytes_windowed += other.bytes_windowed;
        for (k, v) in &other.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
        self.gitlinks += other.gitlinks;
        self.unreadable.extend(other.unreadable.iter().cloned());
        self.notes.extend(other.notes.iter().cloned());
    }
}

/// A path for a message: lossy UTF-8, and only its last 120 characters when longer (a path
/// through a thousand nested trees is no use to print whole).
pub(crate) fn short_path(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let count = text.chars().count();
    if count <= 120 {
        return text.into_owned();
    }
    let tail: String = text.chars().skip(count - 120).collect();
    format!("…{tail}")
}
