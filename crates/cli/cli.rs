//! The command line, as clap sees it. Turned once into a plain [`crate::config`] value.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Finds credentials in source trees and git history, and stops them at `git push`.
#[derive(Debug, Parser)]
#[command(name = "keyward", version, about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files, directories, or standard input (`-`).
    Scan(ScanArgs),
    /// Scan a git repository's whole history (or a range): each secret with the commit that
    /// introduced it.
    History(crate::history::HistoryArgs),
    /// List or check rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Revoke one leaked token at its OAuth 2.0 revocation endpoint (RFC 7009).
    Revoke(crate::revoke::RevokeArgs),
    /// Record the current findings as accepted, or drop entries that match nothing any more.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Check a config file and print the settings it gives.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run as a git hook: pre-push, pre-commit, or the server's pre-receive.
    #[command(subcommand)]
    Hook(crate::hook::HookCommand),
    /// Install keyward's git hooks in this repository (pre-push by default).
    Install(crate::install::InstallArgs),
    /// Remove the git hooks that keyward installed.
    Uninstall(crate::install::UninstallArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// Where rules come from.
#[derive(Debug, Clone, Args)]
pub struct RuleArgs {
    /// Add the rules in this folder (every *.yaml / *.yml file) or file; repeatable.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Drop the built-in rules (keep only those given with --rules).
    #[arg(long)]
    pub no_builtin: bool,
    /// Also report OAuth practices to fix (implicit grant, tokens in localStorage, a client
    /// secret sent from client code, wildcard or admin scopes).
    #[arg(long)]
    pub hygiene: bool,
    /// Do not look inside base64, percent-encoding, string escapes or XML entities.
    #[arg(long)]
    pub no_decode: bool,
}

/// How findings are written.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print secrets in full (they are redacted by default: CI logs are often public).
    #[arg(long)]
    pub show_secrets: bool,
    /// Colour: auto (only on a terminal), always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// List skipped files and other details on standard error.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Print nothing on standard error but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// What is reported, and how the run ends: config, baseline, thresholds, exit code.
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// Read settings from this file instead of the .keyward.yaml at the repository root.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore any .keyward.yaml.
    #[arg(long)]
    pub no_config: bool,
    /// Do not report findings whose fingerprint is in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Also list suppressed findings (inline directives, baseline, allowlists) and why, and
    /// inline directives that silence nothing.
    #[arg(long)]
    pub report_ignored: bool,
    /// Exit with this code when findings are reported.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub exit_code: u8,
    /// Report only findings of this severity or higher.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub min_severity: Option<SeverityArg>,
    /// Report only findings of rules with this confidence or higher.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub min_confidence: Option<ConfidenceArg>,
}

/// `--min-severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    /// Everything.
    Info,
    /// Low and up.
    Low,
    /// Medium and up.
    Medium,
    /// High and critical.
    High,
    /// Critical only.
    Critical,
}

impl From<SeverityArg> for keyward_core::Severity {
    fn from(s: SeverityArg) -> Self {
        use keyward_core::Severity as S;
        match s {
            SeverityArg::Info => S::Info,
            SeverityArg::Low => S::Low,
            SeverityArg::Medium => S::Medium,
            SeverityArg::High => S::High,
            SeverityArg::Critical => S::Critical,
        }
    }
}

/// `--min-confidence`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfidenceArg {
    /// Every rule.
    Low,
    /// Medium and high.
    Medium,
    /// High only.
    High,
}

impl From<ConfidenceArg> for keyward_core::Confidence {
    fn from(c: ConfidenceArg) -> Self {
        use keyward_core::Confidence as C;
        match c {
            ConfidenceArg::Low => C::Low,
            ConfidenceArg::Medium => C::Medium,
            ConfidenceArg::High => C::High,
        }
    }
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable lines.
    Text,
    /// One JSON document: findings and stats.
    Json,
    /// One JSON finding per line.
    Jsonl,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
}

/// When to colour text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Only when writing to a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// `keyward scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan; `-` reads standard input.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Skip files larger than this (e.g. 25MiB, 500KB, 1048576).
    #[arg(long, value_name = "SIZE", default_value = "25MiB", value_parser = parse_size)]
    pub max_file_size: u64,
    /// Honour .gitignore, .ignore and git's exclude files.
    #[arg(long)]
    pub gitignore: bool,
    /// Follow symbolic links (loops are detected and skipped).
    #[arg(long)]
    pub follow: bool,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `keyward baseline …`.
#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Scan, and record every finding's fingerprint (never the secret) in a baseline file.
    Create {
        #[command(flatten)]
        source: BaselineSource,
        /// The baseline file to write (default: the config's, else .keyward-baseline.json).
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Scan, and drop the entries of a baseline file that no finding matches any more.
    Prune {
        #[command(flatten)]
        source: BaselineSource,
        /// The baseline file to prune (default: the config's, else .keyward-baseline.json).
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
    },
}

/// What `keyward baseline` scans: files like `keyward scan`, or the findings of a JSON report.
#[derive(Debug, Args)]
pub struct BaselineSource {
    /// Files or directories to scan.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Take the findings from a JSON report (`keyward scan|history --format json`) instead of
    /// scanning.
    #[arg(long, value_name = "FILE", conflicts_with = "paths")]
    pub from_report: Option<PathBuf>,
    /// Skip files larger than this (e.g. 25MiB, 500KB, 1048576).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,
    /// Honour .gitignore, .ignore and git's exclude files.
    #[arg(long)]
    pub gitignore: bool,
    /// Follow symbolic links.
    #[arg(long)]
    pub follow: bool,
    /// Read settings from this file instead of the .keyward.yaml at the repository root.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore any .keyward.yaml.
    #[arg(long)]
    pub no_config: bool,
    #[command(flatten)]
    pub rules: RuleArgs,
}

/// `keyward config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file (default: the one found for the current directory) and print
    /// the settings it gives.
    Check {
        /// The file.
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `keyward rules …`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules that would be used.
    List {
        #[command(flatten)]
        rules: RuleArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Validate rule files and run their examples; the built-in rules when no path is given.
    Check {
        /// A folder of *.yaml rule files, or one file.
        #[arg(value_name = "DIR")]
        paths: Vec<PathBuf>,
    },
}

/// Parses `25MiB`, `500KB`, `2G`, `1048576`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (try 25MiB or 1048576)"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        u => {
            return Err(format!(
                "unknown size unit {u:?} (use B, KB, KiB, MB, MiB, GB, GiB)"
            ));
        }
    };
    Ok((n * mult) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("25MiB"), Ok(25 * 1024 * 1024));
        assert_eq!(parse_size("500KB"), Ok(500_000));
        assert_eq!(parse_size("1048576"), Ok(1_048_576));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5 parsecs").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
