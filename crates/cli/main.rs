//! keyward: finds credentials in source trees and git history, and stops them at `git push`.
//!
//! The binary turns clap's view of the command line into plain options once, runs the
//! command, and maps the outcome onto three exit codes: 0 clean, 1 findings, 2 error.

mod cli;
mod history;
mod pipeline;
mod report;
mod rules_cmd;
mod sanitize;
mod scan;

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use keyward_core::{Matcher, RuleSet};

use crate::cli::{Cli, ColorChoice, Command, OutputArgs, RuleArgs};
use crate::report::{Record, Stats, Style};

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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
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
    let outcome = match run(cli) {
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
    ExitCode::from(outcome as u8)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Scan(args) => {
            let started = Instant::now();
            let rules = load_rules(&args.rules)?;
            let matcher = Matcher::new(rules)?;
            let opts = scan::ScanOptions {
                paths: args.paths,
                max_file_size: args.max_file_size,
                gitignore: args.gitignore,
                follow: args.follow,
                threads: args.threads.unwrap_or(0),
            };
            let mut result = scan::run(&opts, &matcher);
            result.stats.rules = matcher.rules().len();
            result.stats.findings = result.records.len();
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
            emit(o, &result.records, &result.stats)?;
            // Freeing hundreds of rules and their compiled regexes only delays the exit.
            std::mem::forget(matcher);
            Ok(if !result.records.is_empty() {
                Outcome::Findings
            } else if !result.errors.is_empty() {
                Outcome::Error
            } else {
                Outcome::Clean
            })
        }
        Command::History(args) => history::run(args),
        Command::Rules(cmd) => rules_cmd::run(cmd),
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
    Ok(set)
}

/// Writes the report to `--output` or standard output, and the summary to standard error.
fn emit(o: &OutputArgs, records: &[Record], stats: &Stats) -> Result<()> {
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
            report::write(&mut file, records, stats, style)
                .with_context(|| format!("writing {}", path.display()))?;
            file.flush()
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            report::write(&mut out, records, stats, style)?;
            out.flush()?;
        }
    }
    if !o.quiet {
        eprintln!("{}", report::summary(records, stats));
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
    opts.open(path)
        .with_context(|| format!("cannot create {}", path.display()))
}
