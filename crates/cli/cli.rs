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
