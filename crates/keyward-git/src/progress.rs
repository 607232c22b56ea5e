//! Progress counters that a front end can poll from another thread; the scan only bumps
//! atomics, so showing progress costs it nothing and keyward-git needs no terminal crate.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// The phases of a history scan, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Opening the repository and reading refs.
    Starting,
    /// Rebuilding and matching every object (whole-history scans).
    Objects,
    /// Walking and diffing commits to find where each secret came from.
    Commits,
    /// Done.
    Finished,
}

/// Counters of a running scan. Share one between the scan and a progress display.
#[derive(Debug, Default)]
pub struct Progress {
    phase: AtomicU8,
    total: AtomicU64,
    done: AtomicU64,
    bytes: AtomicU64,
}

impl Progress {
    /// Fresh counters.
    pub fn new() -> Progress {
        Progress::default()
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Relaxed) {
            0 => Phase::Starting,
            1 => Phase::Objects,
            2 => Phase::Commits,
            _ => Phase::Finished,
        }
    }

    /// Items of the current phase (objects, then commits); 0 while unknown.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Items of the current phase done so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Bytes of blob content matched so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    pub(crate) fn start(&self, phase: Phase, total: u64) {
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    pub(crate) fn step(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }
}
