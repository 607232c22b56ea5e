//! `keyward scan`: a parallel directory walk feeding the matcher, results over a channel.

use std::io::Read;
use std::path::{Path, PathBuf};

use crossbeam_channel::{Sender, unbounded};
use ignore::{DirEntry, ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};
use keyward_core::{Matcher, Scratch};

use crate::context::DiskView;
use crate::pipeline::{is_binary, scan_blob};
use crate::policy::Note;
use crate::report::{Record, Stats};

/// What to scan and how.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Roots: files, directories, or `-` for stdin.
    pub paths: Vec<PathBuf>,
    /// Larger files are skipped.
    pub max_file_size: u64,
    /// Honour ignore files.
    pub gitignore: bool,
    /// Follow symlinks.
    pub follow: bool,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Look for inline directives that silence nothing (`--report-ignored`).
    pub unused_directives: bool,
}

/// What a scan produced.
#[derive(Debug, Default)]
pub struct ScanResult {
    /// Findings, sorted by path, line, column.
    pub records: Vec<Record>,
    /// Counts.
    pub stats: Stats,
    /// Skipped files and why (for `-v`).
    pub skipped: Vec<(String, &'static str)>,
    /// Problems with the arguments themselves (a root that does not exist).
    pub errors: Vec<String>,
    /// Inline directives that silence nothing (with [`ScanOptions::unused_directives`]).
    pub unused: Vec<Note>,
}

enum Msg {
    Records(Vec<Record>),
    Unused(Vec<Note>),
    Skipped(String, &'static str),
    Stats(Box<Stats>),
    Error(String),
}

/// Scans every root of `opts`.
pub fn run(opts: &ScanOptions, matcher: &Matcher) -> ScanResult {
    let (tx, rx) = unbounded::<Msg>();
    let mut result = ScanResult::default();
    std::thread::scope(|s| {
        s.spawn(move || {
            for root in &opts.paths {
                if root.as_os_str() == "-" {
                    scan_stdin(matcher, opts.unused_directives, &tx);
                } else {
                    walk(root, opts, matcher, &tx);
                }
            }
        });
        for msg in rx {
            match msg {
                Msg::Records(r) => result.records.extend(r),
                Msg::Unused(n) => result.unused.extend(n),
                Msg::Skipped(p, why) => {
                    result.stats.skip(why);
                    result.skipped.push((p, why));
                }
                Msg::Stats(st) => result.stats.merge(&st),
                Msg::Error(e) => result.errors.push(e),
            }
        }
    });
    result.records.sort_by(|a, b| {
        (&a.path, a.line, a.column, &a.rule).cmp(&(&b.path, b.line, b.column, &b.rule))
    });
    result.skipped.sort();
    result
}

fn scan_stdin(matcher: &Matcher, unused_directives: bool, tx: &Sender<Msg>) {
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut bytes) {
        let _ = tx.send(Msg::Error(format!("cannot read standard input: {e}")));
        return;
    }
    let stats = Stats {
        files_scanned: 1,
        bytes_scanned: bytes.len() as u64,
        files_non_utf8: u64::from(std::str::from_utf8(&bytes).is_err()),
        ..Stats::default()
    };
    let mut records = scan_blob(matcher, &mut Scratch::new(), "-", &bytes);
    crate::context::apply_all(matcher, &mut records, &keyward_core::NoProject);
    if unused_directives {
        let _ = tx.send(Msg::Unused(crate::policy::unused("-", &bytes, &records)));
    }
    let _ = tx.send(Msg::Records(records));
    let _ = tx.send(Msg::Stats(Box::new(stats)));
}

fn walk(root: &Path, opts: &ScanOptions, matcher: &Matcher, tx: &Sender<Msg>) {
    match std::fs::metadata(root) {
        Err(e) => {
            let _ = tx.send(Msg::Error(format!("{}: {e}", root.display())));
            return;
        }
        // A file named on the command line: no walker, no worker threads to start.
        Ok(m) if m.is_file() => {
            let view = DiskView::new(Path::new("."));
            let mut worker = Worker::new(root, opts, matcher, &view, tx.clone());
            worker.read_and_scan(root, display_path(root, root), m.len());
            return;
        }
        Ok(_) => {}
    }
    let mut builder = WalkBuilder::new(root);
    builder
        .standard_filters(false)
        .hidden(false)
        .follow_links(opts.follow)
        .threads(opts.threads)
        .filter_entry(|e| e.file_name() != ".git");
    if opts.gitignore {
        builder
            .git_ignore(true)
            .git_exclude(true)
            .git_global(true)
            .ignore(true)
            .parents(true)
            .require_git(false);
    }
    let view = DiskView::new(root);
    let mut visitors = Visitors {
        view: &view,
        root,
        opts,
        matcher,
        tx: tx.clone(),
    };
    builder.build_parallel().visit(&mut visitors);
}

struct Visitors<'a> {
    root: &'a Path,
    opts: &'a ScanOptions,
    matcher: &'a Matcher,
    view: &'a DiskView,
    tx: Sender<Msg>,
}

impl<'s> ParallelVisitorBuilder<'s> for Visitors<'s> {
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(Worker::new(
            self.root,
            self.opts,
            self.matcher,
            self.view,
            self.tx.clone(),
        ))
    }
}

struct Worker<'a> {
    root: &'a Path,
    opts: &'a ScanOptions,
    matcher: &'a Matcher,
    view: &'a DiskView,
    tx: Sender<Msg>,
    scratch: Scratch,
    stats: Stats,
}

impl Drop for Worker<'_> {
    fn drop(&mut self) {
        let _ = self
            .tx
            .send(Msg::Stats(Box::new(std::mem::take(&mut self.stats))));
    }
}

impl ParallelVisitor for Worker<'_> {
    fn visit(&mut self, entry: Result<DirEntry, ignore::Error>) -> WalkState {
        match entry {
            Ok(entry) => self.file(&entry),
            Err(err) => {
                let (path, reason) = describe_walk_error(&err);
                let rel = path
                    .as_deref()
                    .map_or_else(|| err.to_string(), |p| display_path(self.root, p));
                let _ = self.tx.send(Msg::Skipped(rel, reason));
            }
        }
        WalkState::Continue
    }
}

impl<'a> Worker<'a> {
    fn new(
        root: &'a Path,
        opts: &'a ScanOptions,
        matcher: &'a Matcher,
        view: &'a DiskView,
        tx: Sender<Msg>,
    ) -> Worker<'a> {
        Worker {
            root,
            opts,
            matcher,
            view,
            tx,
            scratch: Scratch::new(),
            stats: Stats::default(),
        }
    }

    fn file(&mut self, entry: &DirEntry) {
        let Some(ft) = entry.file_type() else { return };
        if ft.is_dir() {
            return;
        }
        let rel = display_path(self.root, entry.path());
        if ft.is_symlink() {
            // Not followed unless asked (it may point out of the tree); when following, only
            // a dangling link is still a link here.
            let why = if self.opts.follow {
                "broken_symlink"
            } else {
                "symlink"
            };
            let _ = self.tx.send(Msg::Skipped(rel, why));
            return;
        }
        if !ft.is_file() {
            let _ = self.tx.send(Msg::Skipped(rel, "special_file"));
            return;
        }
        match entry.metadata() {
            Ok(m) => self.read_and_scan(entry.path(), rel, m.len()),
            Err(_) => {
                let _ = self.tx.send(Msg::Skipped(rel, "unreadable"));
            }
        }
    }

    /// Size check, read, binary check, match: one regular file of `len` bytes.
    fn read_and_scan(&mut self, path: &Path, rel: String, len: u64) {
        if len > self.opts.max_file_size {
            let _ = self.tx.send(Msg::Skipped(rel, "too_large"));
            return;
        }
        let bytes = match read_limited(path, self.opts.max_file_size) {
            Ok(Some(b)) => b,
            Ok(None) => {
                let _ = self.tx.send(Msg::Skipped(rel, "too_large"));
                return;
            }
            Err(_) => {
                let _ = self.tx.send(Msg::Skipped(rel, "unreadable"));
                return;
            }
        };
        if is_binary(&bytes) {
            let _ = self.tx.send(Msg::Skipped(rel, "binary"));
            return;
        }
        self.stats.files_scanned += 1;
        self.stats.bytes_scanned += bytes.len() as u64;
        if std::str::from_utf8(&bytes).is_err() {
            self.stats.files_non_utf8 += 1;
        }
        let mut records = scan_blob(self.matcher, &mut self.scratch, &rel, &bytes);
        crate::context::apply_all(self.matcher, &mut records, self.view);
        if self.opts.unused_directives {
            let unused = crate::policy::unused(&rel, &bytes, &records);
            if !unused.is_empty() {
                let _ = self.tx.send(Msg::Unused(unused));
            }
        }
        if !records.is_empty() {
            let _ = self.tx.send(Msg::Records(records));
        }
    }
}

/// Reads a file, giving up (None) if it turns out larger than `limit` (it may grow between
/// the size check and the read).
fn read_limited(path: &Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    Ok(if bytes.len() as u64 > limit {
        None
    } else {
        Some(bytes)
    })
}

/// The path as reported: relative to a directory root, or as given for a file root.
fn display_path(root: &Path, path: &Path) -> String {
    let rel = match path.strip_prefix(root) {
        Ok(r) if !r.as_os_str().is_empty() => r,
        _ => path,
    };
    let s = rel.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        s.into_owned()
    } else {
        s.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

/// The path a walk error is about, and the stats reason for it.
fn describe_walk_error(err: &ignore::Error) -> (Option<PathBuf>, &'static str) {
    fn inner(err: &ignore::Error, path: Option<&Path>) -> (Option<PathBuf>, &'static str) {
        match err {
            ignore::Error::WithPath { path, err } => inner(err, Some(path)),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                inner(err, path)
            }
            ignore::Error::Loop { child, .. } => (Some(child.clone()), "symlink_loop"),
            _ => {
                // A symlink whose target is gone fails when followed.
                let dangling = path.is_some_and(|p| {
                    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
                        && std::fs::metadata(p).is_err()
                });
                (
                    path.map(Path::to_path_buf),
                    if dangling {
                        "broken_symlink"
                    } else {
                        "unreadable"
                    },
                )
            }
        }
    }
    inner(err, None)
}

/// Where a scan of `paths` looks for its config file: the first path that is not standard
/// input, else the working directory.
pub fn config_start(paths: &[PathBuf]) -> PathBuf {
    paths
        .iter()
        .find(|p| p.as_os_str() != "-")
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."))
}
