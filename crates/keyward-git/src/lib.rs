//! keyward-git: secrets in git history. Every blob of a repository is matched once, then a
//! walk of the commit graph says which commit brought each secret in, who wrote it, when,
//! and whether it is still at HEAD.
//!
//! This is the only keyward crate that uses gix; none of its types show in this API.
//!
//! ```no_run
//! use keyward_core::{Matcher, RuleSet};
//! use keyward_git::{HistoryOptions, Progress, Repository};
//!
//! let repo = Repository::open(std::path::Path::new("."))?;
//! let matcher = Matcher::new(RuleSet::builtin())?;
//! let report = keyward_git::scan(&repo, &matcher, &HistoryOptions::default(), &Progress::new())?;
//! for s in &report.secrets {
//!     let rule = &matcher.rules()[s.rule].spec.id;
//!     match s.occurrences.first() {
//!         Some(o) => println!("{rule} {} {} {}:{} by {}", s.secret, o.commit.id, o.path, o.line, o.commit.email),
//!         None => println!("{rule} {} in an unreachable blob", s.secret),
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How
//!
//! 1. The object pass ([`scan`] with [`Selection::Everything`] or [`Selection::Reachable`])
//!    walks each pack's delta trees base first, so every object is rebuilt exactly once, in
//!    parallel, and matches each blob with the shared [`keyward_core::Matcher`] (one scratch
//!    space per thread). Only blobs with findings are kept: memory grows with the number of
//!    objects, never with their bytes. Blobs over the size limit (loose ones by their header,
//!    never inflated), binary blobs (a NUL in the first 8 KiB) and Git LFS pointers are
//!    skipped and counted. Commits are parsed on the way.
//! 2. A second stage rebuilds the trees and keeps of each only its subtrees and its blobs with
//!    findings (about 12 bytes an entry): a forest in memory.
//! 3. The commit walk starts at every ref, every HEAD and every reflog entry, and diffs each
//!    commit's tree against its first parent's in that forest (equal subtrees skipped by id).
//!    A blob with findings that the diff shows at a path is looked up at that path in the
//!    other parents; the commit introduced (path, blob) when no parent has that blob there.
//!    That attributes a secret that only a merge's conflict resolution produced to the merge,
//!    and makes renames and copies occurrences of their own. An introduction is an occurrence
//!    of a secret when no parent's version of the file held it already.
//! 4. A commit range ([`Selection::Range`], [`Selection::Commits`], for CI and hooks) skips
//!    the object pass: it diffs only the range's commits through the object database, and
//!    matches of each blob they introduce only the lines that no parent's version of the file
//!    has, widened by as much as a rule's regex can see around them. A secret is reported
//!    only where no parent's version of the file (nor a file the commit removed, for renames)
//!    already held it. A very large range (a first push) goes to the whole-history engine.
//! 5. [`scan_staged`] does the same for the index against HEAD (pre-commit hooks), and
//!    [`Repository::open_with_objects`] reads objects from git's quarantine (pre-receive).
//!
//! # Performance
//!
//! A whole-history scan costs one base-first rebuild of the packs (the floor: measure it with
//! `examples/floor.rs`; 1.8 s for curl/curl's 3.35 GB of blob versions on 2 cores) plus
//! matching every blob, which dominates; provenance adds about 0.6 s on curl/curl (39,573
//! commits). A range costs only its own commits and blobs, plus finding where it starts.
#![deny(missing_docs)]

mod changed;
mod commits;
mod date;
mod delta;
mod error;
mod forest;
mod history;
mod id;
mod objects;
mod packblob;
mod packread;
mod parse;
mod progress;
mod provenance;
mod range;
mod repo;
mod similar;
mod staged;
mod stats;
#[cfg(test)]
mod testgit;
mod trees;
mod view;
mod walk;

pub use commits::CommitMeta;
pub use error::Error;
pub use history::{
    CommitRange, HistoryOptions, HistoryReport, Occurrence, SecretReport, Selection,
    UnreachableBlob, rebuild_objects, scan, scan_deferred,
};
pub use id::{BlobId, CommitId};
pub use objects::BINARY_PROBE;
pub use progress::{Phase, Progress};
pub use repo::Repository;
pub use staged::{StagedReport, StagedSecret, scan_staged};
pub use stats::{ForestSize, ScanStats, Unreadable};
pub use view::TreeView;
