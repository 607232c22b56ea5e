//! `keyward hook pre-push | pre-commit | pre-receive`: the git hook protocol.
//!
//! Each hook works out which commits (or which staged files) it is asked about, lets
//! keyward-git match only what they add, and reports only secrets that are new there. On
//! findings it prints what a developer needs to act (commit, file:line, rule, the secret
//! redacted, how to rewrite, rotate, bypass or silence) on standard error and exits 1.
//!
//! The hooks fail closed: when keyward itself cannot do the check (an unreadable object, a
//! bad config file) it says why and exits 2, which blocks the push or commit. `--fail-open`
//! (or `fail_open: true` in `.keyward.yaml`) lets it through with a warning instead. A
//! developer who must push anyway has `git push --no-verify` or `KEYWARD_SKIP=1`; the
//! server-side `pre-receive` hook honours neither.

mod message;

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use keyward_core::Matcher;
use keyward_git::{CommitId, HistoryOptions, Progress, Repository, Selection};

use crate::Outcome;
use crate::cli::{ColorChoice, Format, OutputArgs, PolicyArgs, RuleArgs, parse_size};
use crate::report::Record;
use crate::sanitize::for_terminal;
use crate::settings::{Explicit, Settings};

pub use message::Hook;

/// `keyward hook …`.
#[derive(Debug, Subcommand)]
#[allow(clippy::enum_variant_names)] // git's hook names, which clap turns into subcommands
pub enum HookCommand {
    /// git's pre-push hook: checks the commits a push sends, reading git's ref lines on
    /// standard input. Without arguments, the range comes from the pre-commit framework
    /// (PRE_COMMIT_FROM_REF, PRE_COMMIT_TO_REF, PRE_COMMIT_REMOTE_NAME…).
    PrePush(PrePushArgs),
    /// git's pre-commit hook: checks the staged changes (the index against HEAD).
    PreCommit(HookArgs),
    /// git's server-side pre-receive hook: checks the pushed commits while git holds them
    /// in quarantine, against the refs the server already has. Cannot be skipped by the
    /// pusher.
    PreReceive(HookArgs),
}

/// `keyward hook pre-push`.
#[derive(Debug, Args)]
pub struct PrePushArgs {
    /// The remote's name, or its URL when the push names no remote (git's first argument).
    #[arg(value_name = "REMOTE", requires = "url")]
    pub remote: Option<String>,
    /// The remote's URL (git's second argument).
    #[arg(value_name = "URL")]
    pub url: Option<String>,
    #[command(flatten)]
    pub common: HookArgs,
}

/// Options shared by the hooks.
#[derive(Debug, Args)]
pub struct HookArgs {
    /// When keyward itself fails (not on findings), warn and let the push or commit through
    /// instead of blocking it. Also `fail_open: true` in .keyward.yaml.
    #[arg(long, env = "KEYWARD_FAIL_OPEN")]
    pub fail_open: bool,
    /// Skip blobs larger than this (e.g. 25MiB, 500KB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_blob_size: Option<u64>,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// Print secrets in full (they are redacted by default).
    #[arg(long)]
    pub show_secrets: bool,
    /// Colour: auto (only on a terminal), always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Also say what was checked when nothing is found, and how long it took.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Read settings from this file instead of the .keyward.yaml at the repository root.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore any .keyward.yaml.
    #[arg(long)]
    pub no_config: bool,
    /// Do not report findings whose fingerprint is in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    #[command(flatten)]
    pub rules: RuleArgs,
}

/// The default size limit, as for `keyward history`.
const MAX_BLOB_SIZE: u64 = 25 * 1024 * 1024;

/// The all-zero object id git uses for "no object" (a deletion, a new ref).
fn is_null(hex: &str) -> bool {
    !hex.is_empty() && hex.bytes().all(|b| b == b'0')
}

/// Is `KEYWARD_SKIP` set to something other than empty, `0` or `false`?
fn skip_requested() -> bool {
    std::env::var("KEYWARD_SKIP").is_ok_and(|v| {
        !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "" | "0" | "false" | "no"
        )
    })
}

/// Runs a hook: checks, then maps a failure of keyward itself to exit 2 (fail closed) or to
/// a warning (fail open).
pub fn run(cmd: HookCommand) -> Result<Outcome> {
    let started = Instant::now();
    let (hook, common) = match &cmd {
        HookCommand::PrePush(a) => (Hook::PrePush, &a.common),
        HookCommand::PreCommit(a) => (Hook::PreCommit, a),
        HookCommand::PreReceive(a) => (Hook::PreReceive, a),
    };
    if hook != Hook::PreReceive && skip_requested() {
        eprintln!(
            "keyward: KEYWARD_SKIP is set: this {} was not checked for secrets",
            hook.action()
        );
        return Ok(Outcome::Clean);
    }
    let settings = match settings(common) {
        Ok(s) => s,
        Err(e) => return Ok(failed(hook, common.fail_open, &e)),
    };
    let fail_open = common.fail_open || settings.config.fail_open;
    let automaton = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        let rules = Rules::build(scope, &settings, &common.rules, &automaton);
        let result = match &cmd {
            HookCommand::PrePush(a) => pre_push(a, &settings, &rules),
            HookCommand::PreCommit(a) => pre_commit(a, &settings, &rules),
            HookCommand::PreReceive(a) => pre_receive(a, &settings, &rules),
        };
        rules.finish();
        result
    });
    match result {
        Ok(checked) => Ok(report(hook, common, &settings, checked, started)),
        Err(e) => Ok(failed(hook, fail_open, &e)),
    }
}

/// The rules of a hook run, built on a thread of their own while the hook reads the
/// repository (the ref lines, the commit walk, the tree diffs): the two take about as long,
/// and a push waits for both.
struct Rules<'scope> {
    building: std::sync::Mutex<Option<std::thread::ScopedJoinHandle<'scope, Result<Matcher>>>>,
    built: std::sync::OnceLock<std::result::Result<Matcher, String>>,
    /// Set once there are commits to match (see [`Rules::will_match`]).
    automaton: &'scope AtomicBool,
}

impl<'scope> Rules<'scope> {
    /// Starts building the rules that `settings` and `args` name; their keyword automaton
    /// too when `automaton` is set by then (see [`Rules::will_match`]).
    fn build<'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        settings: &'env Settings,
        args: &'env RuleArgs,
        automaton: &'scope AtomicBool,
    ) -> Rules<'scope> {
        let handle = scope.spawn(move || {
            let matcher = Matcher::new(settings.load_rules(args)?)?;
            if automaton.load(Ordering::Acquire) {
                matcher.build_prefilter();
            }
            Ok(matcher)
        });
        Rules {
            building: std::sync::Mutex::new(Some(handle)),
            built: std::sync::OnceLock::new(),
            automaton,
        }
    }

    /// Says that commits will be matched after the repository is read: the thread that
    /// builds the rules then builds their keyword automaton too, which the first large
    /// match would otherwise build while the others wait. A push of deletions only, or a
    /// commit (small staged files, matched at once), does without it.
    fn will_match(&self) {
        self.automaton.store(true, Ordering::Release);
    }

    /// Waits for the building thread if nobody asked for the rules (the scope would wait
    /// for it anyway, and a panic there must not become the hook's). The built rules are
    /// not freed: the process ends right after, and freeing hundreds of compiled rules would
    /// be wasted time.
    fn finish(self) {
        let handle = self.building.into_inner().ok().flatten();
        if let Some(Ok(Ok(matcher))) = handle.map(std::thread::ScopedJoinHandle::join) {
            std::mem::forget(matcher);
        }
        if let Some(Ok(matcher)) = self.built.into_inner() {
            std::mem::forget(matcher);
        }
    }

    /// Waits for the rules; their error, if building them failed.
    fn get(&self) -> Result<&Matcher> {
        let built = self.built.get_or_init(|| {
            let handle = self.building.lock().ok().and_then(|mut h| h.take());
            match handle.map(std::thread::ScopedJoinHandle::join) {
                Some(Ok(Ok(matcher))) => Ok(matcher),
                Some(Ok(Err(e))) => Err(format!("{e:#}")),
                Some(Err(_)) | None => Err("building the rules failed unexpectedly".into()),
            }
        });
        built.as_ref().map_err(|e| anyhow!("{e}"))
    }
}

/// Keyward could not check: block (exit 2) with what to do, or warn and let it through.
fn failed(hook: Hook, fail_open: bool, e: &anyhow::Error) -> Outcome {
    let why = for_terminal(&format!("{e:#}"));
    if fail_open {
        eprintln!(
            "keyward: warning: could not check this {} for secrets: {why}\n\
             keyward: letting it through because fail_open is set",
            hook.action()
        );
        return Outcome::Clean;
    }
    eprintln!(
        "keyward: error: could not check this {} for secrets: {why}",
        hook.action()
    );
    eprint!("{}", message::failure_help(hook));
    Outcome::Error
}

/// The settings of a hook run: the config found for the repository at the current
/// directory (or `--config`), the baseline, the rules.
fn settings(common: &HookArgs) -> Result<Settings> {
    let mut output = OutputArgs {
        format: Format::Text,
        output: None,
        show_secrets: common.show_secrets,
        color: common.color,
        verbose: common.verbose,
        quiet: false,
        policy: PolicyArgs {
            config: common.config.clone(),
            no_config: common.no_config,
            baseline: common.baseline.clone(),
            report_ignored: false,
            exit_code: Outcome::Findings as u8,
            min_severity: None,
            min_confidence: None,
        },
    };
    Settings::resolve(&mut output, Path::new("."), Explicit::default())
}

/// What a hook checked and found, before policy.
pub struct Checked {
    /// Findings, one per secret (pushes) or per secret and file (staged changes).
    records: Vec<Record>,
    /// What was checked, for `-v`: "3 commits", "2 staged files".
    what: String,
    /// Where the push goes (`origin`), for the message.
    target: Option<String>,
}

/// Applies the policy, prints the findings and what to do, and gives the outcome.
fn report(
    hook: Hook,
    common: &HookArgs,
    settings: &Settings,
    checked: Checked,
    started: Instant,
) -> Outcome {
    let split = settings.policy.apply(checked.records, Vec::new());
    for n in &split.notes {
        eprintln!(
            "keyward: warning: {}:{}: {}",
            for_terminal(&n.path),
            n.directive.line,
            n.describe()
        );
    }
    if split.reported.is_empty() {
        if common.verbose {
            let suppressed: u64 = split.counts.values().sum();
            eprintln!(
                "keyward: {}: {}, no new secrets{} ({} ms)",
                hook.name(),
                checked.what,
                if suppressed > 0 {
                    format!(" ({suppressed} suppressed)")
                } else {
                    String::new()
                },
                started.elapsed().as_millis()
            );
        }
        return Outcome::Clean;
    }
    let color = match common.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            hook != Hook::PreReceive
                && std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let text = message::blocked(
        hook,
        &split.reported,
        checked.target.as_deref(),
        common.show_secrets,
        color,
        settings.config.baseline.is_some(),
    );
    eprint!("{text}");
    Outcome::Findings
}

/// The repository the hook runs in: `GIT_DIR` when git set it, else the current directory.
fn open_repo() -> Result<Repository> {
    let start = std::env::var_os("GIT_DIR").map_or_else(|| PathBuf::from("."), PathBuf::from);
    Ok(Repository::open(&start)?)
}

/// Reads standard input: git's ref lines.
fn stdin_lines() -> Result<Vec<String>> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("reading the ref lines git writes on standard input")?;
    Ok(ref_lines(&text))
}

/// The non-empty lines of what git wrote, trimmed.
pub(crate) fn ref_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// `git push`: `<local ref> <local sha> <remote ref> <remote sha>` lines, or the pre-commit
/// framework's environment.
fn pre_push(args: &PrePushArgs, settings: &Settings, rules: &Rules<'_>) -> Result<Checked> {
    let repo = open_repo()?;
    let (tips, hidden, target) = match (&args.remote, &args.url) {
        (Some(remote), Some(_url)) => {
            let lines = stdin_lines()?;
            let (tips, mut hidden) = push_lines(&repo, &lines)?;
            hidden.extend(remote_tracking(&repo, remote)?);
            (tips, hidden, Some(remote.clone()))
        }
        _ => framework_range(&repo)?,
    };
    let checked = check_range(&repo, settings, &args.common, tips, hidden, rules)?;
    Ok(Checked { target, ..checked })
}

/// The commits each pushed ref sends: its new commit (annotated tags peeled) as a tip, and
/// the commit the remote has there, when this repository has it, as hidden. Deletions send
/// nothing.
pub(crate) fn push_lines(
    repo: &Repository,
    lines: &[String],
) -> Result<(Vec<CommitId>, Vec<CommitId>)> {
    let mut tips = Vec::new();
    let mut hidden = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [local_ref, local, _remote_ref, remote] = fields[..] else {
            bail!("unexpected line from git on standard input: {line:?}");
        };
        if is_null(local) {
            continue; // a deletion sends no commits
        }
        match repo
            .find_commit(local)
            .with_context(|| format!("pushing {local_ref}"))?
        {
            Some(c) => tips.push(c),
            None => bail!("pushing {local_ref}: object {local} is not in this repository"),
        }
        if !is_null(remote) {
            // Not having it, or it not being a commit, only means less is known to be there.
            if let Ok(Some(c)) = repo.find_commit(remote) {
                hidden.push(c);
            }
        }
    }
    Ok((tips, hidden))
}

/// What the remote is known to have: its remote-tracking refs, or every remote-tracking ref
/// when the push went to a URL rather than to a named remote.
fn remote_tracking(repo: &Repository, remote: &str) -> Result<Vec<CommitId>> {
    let prefix = if repo.remote_names().iter().any(|n| n == remote) {
        format!("refs/remotes/{remote}/")
    } else {
        "refs/remotes/".to_string()
    };
    Ok(repo.ref_commits(&prefix)?)
}

/// The pre-commit framework runs pre-push hooks with the range in its environment (and reads
/// git's ref lines itself): `PRE_COMMIT_TO_REF` not `PRE_COMMIT_FROM_REF`, or for a branch
/// whose history the remote has none of, `PRE_COMMIT_LOCAL_BRANCH`.
fn framework_range(repo: &Repository) -> Result<(Vec<CommitId>, Vec<CommitId>, Option<String>)> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let remote = var("PRE_COMMIT_REMOTE_NAME");
    let tip = var("PRE_COMMIT_TO_REF").or_else(|| var("PRE_COMMIT_LOCAL_BRANCH"));
    let Some(tip) = tip else {
        bail!(
            "no push to check: run as git's pre-push hook (`keyward hook pre-push REMOTE URL`, \
             the ref lines on standard input) or from the pre-commit framework's pre-push stage"
        );
    };
    let tips = vec![repo.resolve(&tip)?];
    let mut hidden = Vec::new();
    if let Some(from) = var("PRE_COMMIT_FROM_REF") {
        hidden.push(repo.resolve(&from)?);
    }
    if let Some(remote) = &remote {
        hidden.extend(remote_tracking(repo, remote)?);
    }
    Ok((tips, hidden, remote))
}

/// `git receive-pack` on the server: `<old> <new> <ref>` lines; the pushed objects are in
/// quarantine, and everything any ref already points to is on the server.
fn pre_receive(common: &HookArgs, settings: &Settings, rules: &Rules<'_>) -> Result<Checked> {
    let repo = open_quarantined()?;
    let lines = stdin_lines()?;
    let mut tips = Vec::new();
    let mut hidden = repo.ref_commits("refs/")?;
    for line in &lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [old, new, name] = fields[..] else {
            bail!("unexpected line from git on standard input: {line:?}");
        };
        if is_null(new) {
            continue;
        }
        match repo
            .find_commit(new)
            .with_context(|| format!("updating {name}"))?
        {
            Some(c) => tips.push(c),
            None => bail!("updating {name}: pushed object {new} cannot be found"),
        }
        if !is_null(old)
            && let Ok(Some(c)) = repo.find_commit(old)
        {
            hidden.push(c);
        }
    }
    check_range(&repo, settings, common, tips, hidden, rules)
}

/// The repository with the object directories git names for a hook: the quarantine
/// (`GIT_OBJECT_DIRECTORY`, or `GIT_QUARANTINE_PATH`) first, then the alternates
/// (`GIT_ALTERNATE_OBJECT_DIRECTORIES`, colon-separated, or the repository's own objects).
fn open_quarantined() -> Result<Repository> {
    let start = std::env::var_os("GIT_DIR").map_or_else(|| PathBuf::from("."), PathBuf::from);
    let objects = std::env::var_os("GIT_OBJECT_DIRECTORY")
        .or_else(|| std::env::var_os("GIT_QUARANTINE_PATH"))
        .filter(|v| !v.is_empty());
    let Some(objects) = objects else {
        return Ok(Repository::open(&start)?);
    };
    let plain = Repository::open(&start)?;
    let mut alternates: Vec<PathBuf> = std::env::var("GIT_ALTERNATE_OBJECT_DIRECTORIES")
        .ok()
        .map(|v| split_alternates(&v))
        .unwrap_or_default();
    if alternates.is_empty() {
        alternates.push(plain.git_dir().join("objects"));
    }
    Repository::open_with_objects(&start, Path::new(&objects), &alternates)
        .context("opening the pushed objects in quarantine")
}

/// Splits `GIT_ALTERNATE_OBJECT_DIRECTORIES`: colon-separated; an entry that starts with a
/// double quote is C-quoted (so it may hold a colon).
pub(crate) fn split_alternates(value: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut path = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some((_, 'n')) => path.push('\n'),
                        Some((_, 't')) => path.push('\t'),
                        Some((_, other)) => path.push(other),
                        None => {}
                    },
                    c => path.push(c),
                }
            }
            // `""`, or a lone `"`, names no directory (found by fuzzing).
            if !path.is_empty() {
                out.push(PathBuf::from(path));
            }
            rest = quoted[end..].trim_start_matches(':');
        } else {
            let (entry, tail) = rest.split_once(':').unwrap_or((rest, ""));
            if !entry.is_empty() {
                out.push(PathBuf::from(entry));
            }
            rest = tail;
        }
    }
    out
}

/// Matches the commits of `tips --not hidden` and turns what is new into records. An
/// object that cannot be read is an error: the check would be incomplete.
fn check_range(
    repo: &Repository,
    settings: &Settings,
    common: &HookArgs,
    tips: Vec<CommitId>,
    hidden: Vec<CommitId>,
    rules: &Rules<'_>,
) -> Result<Checked> {
    if tips.is_empty() {
        return Ok(Checked {
            records: Vec::new(),
            what: "nothing pushed but deletions".into(),
            target: None,
        });
    }
    rules.will_match();
    let opts = HistoryOptions {
        selection: Selection::Commits { tips, hidden },
        threads: common.threads.unwrap_or(0),
        max_blob_size: max_blob_size(common, settings),
        pack_aware: false,
    };
    let report =
        keyward_git::scan_deferred(repo, &opts, &Progress::new(), &mut || rules.get().ok())?;
    let matcher = rules.get()?;
    let Some(report) = report else {
        bail!("the scan stopped without its rules");
    };
    unreadable(&report.stats.unreadable)?;
    let mut records: Vec<Record> = report
        .secrets
        .iter()
        .filter_map(|s| crate::history::record(matcher, s))
        .collect();
    if let Some(problem) = crate::annotate::history(repo, matcher, &mut records) {
        bail!("{problem}");
    }
    let st = &report.stats;
    let what = format!(
        "{} commit{}, {} new blob{}, {:.1} KB of them matched",
        st.commits,
        if st.commits == 1 { "" } else { "s" },
        st.blobs,
        if st.blobs == 1 { "" } else { "s" },
        st.bytes_scanned as f64 / 1e3
    );
    Ok(Checked {
        records,
        what,
        target: None,
    })
}

/// The size limit: `--max-blob-size`, else the config's, else 25 MiB.
fn max_blob_size(common: &HookArgs, settings: &Settings) -> u64 {
    common
        .max_blob_size
        .or(settings.config.max_blob_size)
        .unwrap_or(MAX_BLOB_SIZE)
}

/// Fails on the first unreadable object, naming it (and how many more there are).
fn unreadable(list: &[keyward_git::Unreadable]) -> Result<()> {
    let Some(first) = list.first() else {
        return Ok(());
    };
    let more = match list.len() - 1 {
        0 => String::new(),
        n => format!(" (and {n} more)"),
    };
    Err(anyhow!(
        "cannot read object {}: {}{more}",
        first.id,
        first.reason
    ))
}

/// `git commit`: the staged changes, from the index git names in `GIT_INDEX_FILE` (a
/// temporary one for `git commit -a` and `git commit PATHS`).
fn pre_commit(common: &HookArgs, settings: &Settings, rules: &Rules<'_>) -> Result<Checked> {
    let repo = open_repo()?;
    let index = std::env::var_os("GIT_INDEX_FILE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let matcher = rules.get()?;
    let report = keyward_git::scan_staged(
        &repo,
        matcher,
        common.threads.unwrap_or(0),
        max_blob_size(common, settings),
        index.as_deref(),
    )?;
    unreadable(&report.stats.unreadable)?;
    let mut records: Vec<Record> = Vec::new();
    for s in &report.secrets {
        let Some(rule) = matcher.rules().get(s.rule) else {
            continue;
        };
        let mut r = Record::new(rule, s.path.clone(), s.line, s.column, s.secret.clone());
        // The staged blob, so that the line and an inline directive can be read from it.
        r.git = Some(Box::new(crate::report::GitContext {
            blob: s.blob.to_hex(),
            ..Default::default()
        }));
        records.push(r);
    }
    if let Some(problem) = crate::annotate::history(&repo, matcher, &mut records) {
        bail!("{problem}");
    }
    for r in &mut records {
        r.git = None; // not a commit: the text report has no commit line to print
    }
    let files = report.stats.blobs;
    Ok(Checked {
        records,
        what: format!("{files} staged file{}", if files == 1 { "" } else { "s" }),
        target: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternates_are_split_on_colons_and_unquoted() {
        let p = |v: &[&str]| v.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert_eq!(
            split_alternates("/a/objects:/b/objects"),
            p(&["/a/objects", "/b/objects"])
        );
        assert_eq!(
            split_alternates("\"/a:b/objects\":/c"),
            p(&["/a:b/objects", "/c"])
        );
        assert_eq!(split_alternates("\"/x\\\"y\""), p(&["/x\"y"]));
        assert_eq!(split_alternates(""), p(&[]));
        assert_eq!(split_alternates("\""), p(&[]));
        assert_eq!(split_alternates("\"\":/a"), p(&["/a"]));
    }

    #[test]
    fn null_ids() {
        assert!(is_null("0000000000000000000000000000000000000000"));
        assert!(!is_null("0000000000000000000000000000000000000001"));
        assert!(!is_null(""));
    }
}
