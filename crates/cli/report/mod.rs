//! Reports: what a scan found and how the scan went, written as text, JSON, JSON Lines or
//! SARIF.

mod incident;
mod json;
mod sarif;
pub mod snippet;
mod text;

use std::collections::BTreeMap;
use std::io::{self, Write};

use keyward_core::{Fingerprint, Rule, Secret, Severity};
use serde::Serialize;

use crate::cli::Format;

/// One reported finding, with everything a reporter needs.
#[derive(Debug, Clone)]
pub struct Record {
    /// The rule's id.
    pub rule: String,
    /// The rule's name.
    pub name: String,
    /// The rule's category.
    pub category: &'static str,
    /// The rule's provider.
    pub provider: String,
    /// How sure the rule is.
    pub confidence: &'static str,
    /// Severity after context.
    pub severity: Severity,
    /// Path relative to the scanned root (or as given).
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The secret (redacted unless `--show-secrets`).
    pub secret: Secret,
    /// Stable identity: rule + secret + path.
    pub fingerprint: Fingerprint,
    /// What to do about it.
    pub remediation: Option<String>,
    /// Where history brought it in (`keyward history` only).
    pub git: Option<Box<GitContext>>,
    /// The line it is on, for the text report.
    pub snippet: Option<Box<snippet::Snippet>>,
    /// An inline directive on or above its line.
    pub directive: Option<Box<crate::suppress::Directive>>,
    /// The raw line it is on (for the exposure of env-file variables).
    pub line_text: Option<Box<[u8]>>,
    /// How the secret was encoded, when decoding found it.
    pub encoding: Option<keyward_core::Encoding>,
    /// Where the file ends up (does it ship to users?).
    pub exposure: keyward_core::ExposureKind,
    /// Why it has that exposure.
    pub exposure_reason: String,
    /// Why the severity is what it is, when the context changed it.
    pub severity_reason: Option<String>,
    /// What a JWT's claims say.
    pub jwt: Option<Box<keyward_core::JwtInfo>>,
}

/// A finding's place in git history.
#[derive(Debug, Clone, Default)]
pub struct GitContext {
    /// The commit that introduced the secret (`None` for an unreachable blob).
    pub commit: Option<GitCommit>,
    /// The blob that holds it at the first occurrence.
    pub blob: String,
    /// Is the secret still in a file at HEAD?
    pub in_head: bool,
    /// No commit reaches any blob holding it.
    pub unreachable: bool,
    /// Every commit and path that introduced it, the first one first.
    pub occurrences: Vec<GitOccurrence>,
}

/// Who made a commit, and when.
#[derive(Debug, Clone, Default)]
pub struct GitCommit {
    /// The commit id in hex.
    pub id: String,
    /// Author name.
    pub author: String,
    /// Author email.
    pub email: String,
    /// Author date, ISO 8601.
    pub date: String,
    /// The commit's parents are missing (shallow clone): the secret may be older.
    pub boundary: bool,
}

/// One commit and path that introduced a secret.
#[derive(Debug, Clone, Default)]
pub struct GitOccurrence {
    /// The commit.
    pub commit: GitCommit,
    /// Path in that commit.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Record {
    /// A record for a finding of `rule` at `path`.
    pub fn new(rule: &Rule, path: String, line: usize, column: usize, secret: Secret) -> Record {
        Record {
            rule: rule.spec.id.clone(),
            name: rule.spec.name.clone(),
            category: rule.spec.category.as_str(),
            provider: rule.provider().to_string(),
            confidence: rule.confidence().as_str(),
            severity: rule.severity(),
            fingerprint: Fingerprint::new(&rule.spec.id, &secret, &path),
            path,
            line,
            column,
            secret,
            remediation: rule.spec.remediation.clone(),
            git: None,
            snippet: None,
            directive: None,
            line_text: None,
            encoding: None,
            exposure: keyward_core::ExposureKind::Unknown,
            exposure_reason: String::new(),
            severity_reason: None,
            jwt: None,
        }
    }

    /// The secret as it may be printed.
    pub fn shown_secret(&self, show: bool) -> String {
        if show {
            self.secret.expose().to_string()
        } else {
            self.secret.redacted()
        }
    }
}

/// Why files were not scanned, and how much was.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Files scanned.
    pub files_scanned: u64,
    /// Bytes scanned.
    pub bytes_scanned: u64,
    /// Files scanned whose content is not valid UTF-8 (scanned as bytes).
    pub files_non_utf8: u64,
    /// Files skipped, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    /// Rules loaded.
    pub rules: usize,
    /// Findings reported.
    pub findings: usize,
    /// Findings not reported, by reason (`inline`, `baseline`, `below_min_severity`…).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub suppressed: BTreeMap<&'static str, u64>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// What a history scan saw (`keyward history` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryStats>,
}

/// What a history scan saw, beyond the blob counts in [`Stats`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct HistoryStats {
    /// Objects in the object database.
    pub objects: u64,
    /// Pack files.
    pub packs: u64,
    /// Loose objects.
    pub loose_objects: u64,
    /// Distinct blobs seen.
    pub blobs: u64,
    /// Commits walked.
    pub commits: u64,
    /// Submodule entries seen (not followed).
    pub gitlinks: u64,
    /// The repository is a shallow clone.
    pub shallow: bool,
    /// How many objects could not be read.
    pub unreadable_objects: usize,
    /// Each object that could not be read, and why.
    pub unreadable: Vec<Unreadable>,
}

/// An object that could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct Unreadable {
    /// Object id (or pack path).
    pub id: String,
    /// Why.
    pub reason: String,
}

impl Stats {
    /// Counts one skipped file.
    pub fn skip(&mut self, reason: &'static str) {
        *self.skipped.entry(reason).or_default() += 1;
    }

    /// Adds another worker's counts.
    pub fn merge(&mut self, other: &Stats) {
        self.files_scanned += other.files_scanned;
        self.bytes_scanned += other.bytes_scanned;
        self.files_non_utf8 += other.files_non_utf8;
        for (k, v) in &other.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
    }

    /// Total skipped files.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// How to write a report.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Report format.
    pub format: Format,
    /// Print secrets in full.
    pub show_secrets: bool,
    /// Use terminal colours.
    pub color: bool,
}

/// Everything a report holds.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// What is reported, sorted.
    pub findings: &'a [Record],
    /// What was suppressed, and why (`--report-ignored`).
    pub ignored: &'a [crate::policy::Ignored],
    /// Inline directives that expired, are invalid or silence nothing.
    pub notes: &'a [crate::policy::Note],
    /// How the scan went.
    pub stats: &'a Stats,
}

/// Writes `report` in the chosen format.
pub fn write(out: &mut dyn Write, report: &Report<'_>, style: Style) -> io::Result<()> {
    match style.format {
        Format::Text => text::write(out, report, style),
        Format::Json => json::write(out, report, style.show_secrets),
        Format::Jsonl => json::write_lines(out, report, style.show_secrets),
        Format::Sarif => sarif::write(out, report, style.show_secrets),
    }
}

/// The one-line summary printed on standard error.
pub fn summary(records: &[Record], stats: &Stats) -> String {
    let mb = stats.bytes_scanned as f64 / 1e6;
    let unit = if stats.history.is_some() {
        "blob"
    } else {
        "file"
    };
    let mut s = format!(
        "{} finding{} in {} {unit}{} scanned ({mb:.1} MB, {} ms)",
        records.len(),
        if records.len() == 1 { "" } else { "s" },
        stats.files_scanned,
        if stats.files_scanned == 1 { "" } else { "s" },
        stats.duration_ms,
    );
    if let Some(h) = &stats.history {
        s.push_str(&format!(
            ", {} commit{} walked",
            h.commits,
            if h.commits == 1 { "" } else { "s" }
        ));
    }
    let suppressed: u64 = stats.suppressed.values().sum();
    if suppressed > 0 {
        s.push_str(&format!("; {suppressed} suppressed"));
    }
    if stats.skipped_total() > 0 {
        let parts: Vec<String> = stats
            .skipped
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        s.push_str(&format!("; skipped {}", parts.join(", ")));
    }
    s
}
