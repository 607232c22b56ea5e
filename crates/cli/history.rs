//! `keyward history [REPO]`: every secret in a repository's history, each traced to the
//! commit that brought it in. The scanning itself is keyward-git's; this turns the command
//! line into its options, shows progress, and turns its report into records.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use keyward_core::Matcher;
use keyward_git::{
    CommitMeta, CommitRange, HistoryOptions, Phase, Progress, Repository, SecretReport, Selection,
};

use crate::Outcome;
use crate::cli::{OutputArgs, RuleArgs, parse_size};
use crate::report::{
    GitCommit, GitContext, GitOccurrence, HistoryStats, Record, Stats, Unreadable,
};
use crate::sanitize::for_terminal;

/// `keyward history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The repository: a work tree, a bare repository or a linked worktree.
    #[arg(value_name = "REPO", default_value = ".")]
    pub repo: PathBuf,
    /// Only commits after REV on the scanned branch (`--branch`, default HEAD), and only the
    /// secrets they introduce.
    #[arg(long, value_name = "REV", conflicts_with = "range")]
    pub since_commit: Option<String>,
    /// Only the commits of A..B, and only the secrets they introduce.
    #[arg(long, value_name = "A..B", conflicts_with = "branch")]
    pub range: Option<String>,
    /// Only what this ref reaches (with --since-commit: the range REV..REF).
    #[arg(long, value_name = "REF")]
    pub branch: Option<String>,
    /// Skip blobs larger than this (e.g. 25MiB, 500KB, 1048576).
    #[arg(long, value_name = "SIZE", default_value = "25MiB", value_parser = parse_size)]
    pub max_blob_size: u64,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// Match a blob that a pack stores as a delta only around what the delta changes, and
    /// carry its base's findings over (the default; the same findings as --exhaustive).
    #[arg(long, conflicts_with = "exhaustive")]
    pub pack_aware: bool,
    /// Match every blob whole: slower, and the reference the default pass is checked
    /// against.
    #[arg(long)]
    pub exhaustive: bool,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// At most this many unreadable objects are listed on standard error (all are in the JSON).
const LIST_UNREADABLE: usize = 20;

/// The selection that the options ask for.
fn selection(args: &HistoryArgs) -> Selection {
    if let Some(range) = &args.range {
        return Selection::Range(CommitRange::parse(range));
    }
    match (&args.since_commit, &args.branch) {
        (Some(since), branch) => Selection::Range(CommitRange {
            tips: vec![branch.clone().unwrap_or_else(|| "HEAD".into())],
            hidden: vec![since.clone()],
        }),
        (None, Some(branch)) => Selection::Reachable(vec![branch.clone()]),
        (None, None) => Selection::Everything,
    }
}

/// Runs `keyward history`.
pub fn run(args: HistoryArgs, settings: &crate::settings::Settings) -> Result<Outcome> {
    let started = Instant::now();
    let matcher = Matcher::new(settings.load_rules(&args.rules)?)?;
    let repo = Repository::open(&args.repo)?;
    let opts = HistoryOptions {
        selection: selection(&args),
        threads: args.threads.unwrap_or(0),
        max_blob_size: args.max_blob_size,
        pack_aware: !args.exhaustive,
    };
    let o = &args.output;
    let progress = Progress::new();
    let show = !o.quiet && std::io::stderr().is_terminal();
    let report = with_progress(&progress, show, || {
        keyward_git::scan(&repo, &matcher, &opts, &progress)
    })?;

    let mut records: Vec<Record> = report
        .secrets
        .iter()
        .filter_map(|s| record(&matcher, s))
        .collect();
    // The lines of the secrets, for inline directives and the text report.
    if let Some(problem) = crate::annotate::history(&repo, &matcher, &mut records) {
        eprintln!("keyward: warning: {}", for_terminal(&problem));
    }
    // Exposure: projects are recognised from HEAD's tree (the layout a path had in an older
    // commit is usually the same).
    match repo.tree_view("HEAD").ok().flatten() {
        Some(view) => crate::context::apply_all(&matcher, &mut records, &view),
        None => crate::context::apply_all(&matcher, &mut records, &keyward_core::NoProject),
    }
    let st = &report.stats;
    let stats = Stats {
        files_scanned: st.blobs_scanned,
        bytes_scanned: st.bytes_scanned,
        skipped: st.skipped.clone(),
        rules: matcher.rules().len(),
        findings: records.len(),
        duration_ms: started.elapsed().as_millis() as u64,
        history: Some(HistoryStats {
            objects: st.objects,
            packs: st.packs,
            loose_objects: st.loose_objects,
            blobs: st.blobs,
            commits: st.commits,
            gitlinks: st.gitlinks,
            shallow: st.shallow,
            unreadable_objects: st.unreadable.len(),
            unreadable: st
                .unreadable
                .iter()
                .map(|u| Unreadable {
                    id: u.id.clone(),
                    reason: u.reason.clone(),
                })
                .collect(),
        }),
        ..Stats::default()
    };
    for u in st.unreadable.iter().take(LIST_UNREADABLE) {
        eprintln!(
            "keyward: error: cannot read object {}: {}",
            for_terminal(&u.id),
            for_terminal(&u.reason)
        );
    }
    if st.unreadable.len() > LIST_UNREADABLE {
        eprintln!(
            "keyward: error: … and {} more unreadable objects",
            st.unreadable.len() - LIST_UNREADABLE
        );
    }
    if !o.quiet {
        if st.shallow {
            eprintln!(
                "keyward: note: shallow clone: history before its boundary commits is missing; \
                 a secret attributed to a boundary commit may be older"
            );
        }
        if o.verbose {
            eprintln!(
                "keyward: {} of {} blobs matched only around their delta's changes ({:.1} MB of windows)",
                st.blobs_windowed,
                st.blobs_scanned,
                st.bytes_windowed as f64 / 1e6
            );
            let phases: Vec<String> = st
                .timings
                .iter()
                .map(|(name, d)| format!("{name} {:.2} s", d.as_secs_f64()))
                .collect();
            eprintln!("keyward: timings: {}", phases.join(", "));
            let f = st.forest;
            if f.passes > 0 {
                eprintln!(
                    "keyward: provenance kept {} of {} trees ({} entries) after {} {} over them",
                    f.kept,
                    f.trees,
                    f.entries,
                    f.passes,
                    if f.passes == 1 { "pass" } else { "passes" }
                );
            }
            for n in &st.notes {
                eprintln!("keyward: note: {}", for_terminal(n));
            }
        }
    }
    let reported = crate::finish(o, settings, records, Vec::new(), stats)?;
    Ok(if reported > 0 {
        Outcome::Findings
    } else if !st.unreadable.is_empty() {
        eprintln!(
            "keyward: error: {} object{} could not be read: the scan is incomplete",
            st.unreadable.len(),
            if st.unreadable.len() == 1 { "" } else { "s" }
        );
        Outcome::Error
    } else {
        Outcome::Clean
    })
}

/// The report record of one secret: its first occurrence, with every occurrence attached.
/// `None` for a rule index the matcher does not know (never happens).
pub(crate) fn record(matcher: &Matcher, s: &SecretReport) -> Option<Record> {
    let rule = matcher.rules().get(s.rule)?;
    let occurrences: Vec<GitOccurrence> = s
        .occurrences
        .iter()
        .map(|o| GitOccurrence {
            commit: commit(&o.commit),
            path: o.path.clone(),
            line: o.line,
            column: o.column,
        })
        .collect();
    let record = match (s.occurrences.first(), s.unreachable.first()) {
        (Some(first), _) => {
            let mut r = Record::new(
                rule,
                first.path.clone(),
                first.line,
                first.column,
                s.secret.clone(),
            );
            r.git = Some(Box::new(GitContext {
                commit: Some(commit(&first.commit)),
                blob: first.blob.to_hex(),
                in_head: s.in_head,
                unreachable: false,
                occurrences,
            }));
            r
        }
        (None, Some(blob)) => {
            let mut r = Record::new(
                rule,
                String::new(),
                blob.line,
                blob.column,
                s.secret.clone(),
            );
            r.git = Some(Box::new(GitContext {
                commit: None,
                blob: blob.blob.to_hex(),
                in_head: false,
                unreachable: true,
                occurrences,
            }));
            r
        }
        (None, None) => return None,
    };
    Some(record)
}

fn commit(c: &CommitMeta) -> GitCommit {
    GitCommit {
        id: c.id.to_hex(),
        author: c.author.clone(),
        email: c.email.clone(),
        date: c.date(),
        boundary: c.boundary,
    }
}

/// Runs `work` while a progress bar on standard error follows `progress` (when `show`).
fn with_progress<T>(progress: &Progress, show: bool, work: impl FnOnce() -> T) -> T {
    if !show {
        return work();
    }
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| draw(progress, &stop));
        let out = work();
        stop.store(true, Ordering::Relaxed);
        out
    })
}

/// Polls the counters ten times a second: objects (with MB/s) then commits, each with an ETA.
fn draw(progress: &Progress, stop: &AtomicBool) {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style =
        ProgressStyle::with_template("{prefix:>8} [{bar:32}] {pos}/{len} {msg} (ETA {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    bar.set_style(style);
    let mut phase = Phase::Starting;
    let mut phase_start = Instant::now();
    bar.set_prefix("starting");
    while !stop.load(Ordering::Relaxed) {
        let now = progress.phase();
        if now != phase {
            phase = now;
            phase_start = Instant::now();
            bar.reset();
            bar.set_prefix(match phase {
                Phase::Starting => "starting",
                Phase::Objects => "objects",
                Phase::Commits => "commits",
                Phase::Finished => "done",
            });
        }
        bar.set_length(progress.total());
        bar.set_position(progress.done());
        if phase == Phase::Objects {
            let secs = phase_start.elapsed().as_secs_f64().max(0.001);
            bar.set_message(format!("{:.0} MB/s", progress.bytes() as f64 / 1e6 / secs));
        } else {
            bar.set_message(String::new());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.finish_and_clear();
}
