//! keyward: finds credentials in source trees and git history, and stops them at `git push`.
//!
//! The binary turns clap's view of the command line into plain options once, runs the
//! command, and maps the outcome onto three exit codes: 0 clean, 1 findings, 2 error.

// The fuzz targets in `fuzz/` build this file as a library that only uses `fuzzing`.
#![cfg_attr(fuzzing, allow(dead_code))]

mod annotate;
mod baseline;
mod cli;
mod completions;
mod config;
mod context;
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod fuzzing;
mod history;
mod hook;
mod install;
mod pipeline;
mod policy;
mod report;
mod revoke;
mod rules_cmd;
mod sanitize;
mod scan;
mod settings;
mod suppress;

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{CommandFactory, FromArgMatches};
use keyward_core::{Matcher, RuleSet};

use crate::cli::{Cli, ColorChoice, Command, Format, OutputArgs, RuleArgs};
use crate::policy::Note;
use crate::report::{Record, Report, Stats, Style};
use crate::settings::{Explicit, Settings};

/// The process outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing found.
    Clean = 0,
    /// Findings were reported.
    Findings = 1,
    /// Usage, configuration or input error.
    Error = 2,
}

fn main() -> ExitCode {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, Explicit::from_matches(&m))));
    let (cli, explicit) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            let code = if e.use_stderr() {
                Outcome::Error
            } else {
                Outcome::Clean
            };
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    // `--exit-code N`: what "findings" exits with.
    let findings_code = match &cli.command {
        Command::Scan(a) => a.output.policy.exit_code,
        Command::History(a) => a.output.policy.exit_code,
        _ => Outcome::Findings as u8,
    };
    let outcome = match run(cli, explicit) {
        Ok(o) => o,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::from(Outcome::Clean as u8);
            }
            eprintln!(
                "keyward: error: {}",
                sanitize::for_terminal(&format!("{e:#}"))
            );
            Outcome::Error
        }
    };
    ExitCode::from(match outcome {
        Outcome::Findings => findings_code,
        o => o as u8,
    })
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli, explicit: Explicit) -> Result<Outcome> {
    match cli.command {
        Command::Scan(mut args) => {
            let started = Instant::now();
            let start = scan::config_start(&args.paths);
            let settings = Settings::resolve(&mut args.output, &start, explicit)?;
            let rules = settings.load_rules(&args.rules)?;
            let matcher = Matcher::new(rules)?;
            let opts = scan::ScanOptions {
                paths: args.paths,
                max_file_size: Settings::size_limit(
                    args.max_file_size,
                    explicit,
                    settings.config.max_file_size,
                ),
                gitignore: args.gitignore,
                follow: args.follow,
                threads: args.threads.unwrap_or(0),
                unused_directives: settings.policy.report_ignored,
            };
            let mut result = scan::run(&opts, &matcher);
            result.stats.rules = matcher.rules().len();
            result.stats.duration_ms = started.elapsed().as_millis() as u64;
            let o = &args.output;
            if o.verbose && !o.quiet {
                for (path, why) in &result.skipped {
                    eprintln!("skipped ({why}): {}", sanitize::for_terminal(path));
                }
            }
            for e in &result.errors {
                eprintln!("keyward: error: {}", sanitize::for_terminal(e));
            }
            let reported = finish(o, &settings, result.records, result.unused, result.stats)?;
            // Freeing hundreds of rules and their compiled regexes only delays the exit.
            std::mem::forget(matcher);
            Ok(if reported > 0 {
                Outcome::Findings
            } else if !result.errors.is_empty() {
                Outcome::Error
            } else {
                Outcome::Clean
            })
        }
        Command::History(mut args) => {
            let settings = Settings::resolve(&mut args.output, &args.repo, explicit)?;
            args.max_blob_size =
                Settings::size_limit(args.max_blob_size, explicit, settings.config.max_blob_size);
            history::run(args, &settings)
        }
        Command::Rules(cmd) => rules_cmd::run(cmd),
        Command::Revoke(args) => revoke::run(args),
        Command::Baseline(cmd) => baseline::run(cmd),
        Command::Config(cmd) => config::run(cmd),
        Command::Completions { shell } => completions::completions(shell),
        Command::Man => completions::man(),
        Command::Hook(cmd) => hook::run(cmd),
        Command::Install(args) => install::install(args),
        Command::Uninstall(args) => install::uninstall(args),
    }
}

/// The built-in rules plus `--rules` folders, minus the built-ins with `--no-builtin`.
pub fn load_rules(args: &RuleArgs) -> Result<RuleSet> {
    let mut set = RuleSet::builtin();
    if args.no_builtin {
        set.clear_rules();
    }
    for dir in &args.rules {
        for source in RuleSet::read_sources(dir)? {
            set.extend_from_source(&source)?;
        }
    }
    if !args.hygiene {
        set.without_hygiene();
    }
    if args.no_decode {
        set.disable_decoders();
    }
    Ok(set)
}

/// Applies the policy to `records` (suppressions, thresholds), writes the report, and
/// returns how many findings were reported. `unused` are inline directives that the source
/// found silencing nothing.
pub fn finish(
    o: &OutputArgs,
    settings: &Settings,
    records: Vec<Record>,
    unused: Vec<Note>,
    mut stats: Stats,
) -> Result<usize> {
    let split = settings.policy.apply(records, unused);
    stats.findings = split.reported.len();
    stats.suppressed = split.counts;
    if !o.quiet && o.format != Format::Text {
        // The text report lists them; other formats may go where nobody reads them.
        for n in split.notes.iter().filter(|n| n.kind() != "unused") {
            eprintln!(
                "keyward: warning: {}:{}: {}",
                sanitize::for_terminal(&n.path),
                n.directive.line,
                n.describe()
            );
        }
    }
    let report = Report {
        findings: &split.reported,
        ignored: &split.ignored,
        notes: &split.notes,
        stats: &stats,
    };
    emit(o, &report)?;
    Ok(split.reported.len())
}

/// Writes the report to `--output` or standard output, and the summary to standard error.
fn emit(o: &OutputArgs, report: &Report<'_>) -> Result<()> {
    let to_terminal = o.output.is_none() && io::stdout().is_terminal();
    let color = match o.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
    };
    let style = Style {
        format: o.format,
        show_secrets: o.show_secrets,
        color,
    };
    match &o.output {
        Some(path) => {
            let mut file = create_report_file(path)?;
            report::write(&mut file, report, style)
                .with_context(|| format!("writing {}", path.display()))?;
            file.flush()
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            report::write(&mut out, report, style)?;
            out.flush()?;
        }
    }
    if !o.quiet {
        eprintln!("{}", report::summary(report.findings, report.stats));
    }
    Ok(())
}

/// Report files may hold secrets (`--show-secrets`): readable by their owner only.
fn create_report_file(path: &Path) -> Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    // `mode` applies only to a new file: narrow one that was already there too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {} to its owner", path.display()))?;
    }
    Ok(file)
}
