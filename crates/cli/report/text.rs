//! The human-readable report: findings grouped by file, each with its line (every secret on
//! it redacted) and a caret under the secret, then what was ignored, problems with inline
//! directives, and a summary.
//!
//! ```text
//! src/config.py (1 finding)
//!   src/config.py:3:10  github-pat-classic  high  ghp_…
//!      3 | TOKEN = 'ghp_…'
//!        |          ^^^^^
//! ```
//!
//! Everything that comes from a file or a repository (paths, lines, authors, reasons) goes
//! through [`for_terminal`] before it is printed; colours only when [`Style::color`] says so.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use keyward_core::Severity;

use super::{Record, Report, Style};
use crate::sanitize::for_terminal;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const PATH: &str = "\x1b[35m";
const GUTTER: &str = "\x1b[34m";

fn severity_colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "\x1b[1;31m",
        Severity::High => "\x1b[31m",
        Severity::Medium => "\x1b[33m",
        Severity::Low | Severity::Info => "\x1b[36m",
    }
}

/// Wraps `text` in `colour` when colours are on.
fn paint(style: Style, colour: &str, text: &str) -> String {
    if style.color {
        format!("{colour}{text}{RESET}")
    } else {
        text.to_string()
    }
}

/// Writes the whole report.
pub fn write(out: &mut dyn Write, report: &Report<'_>, style: Style) -> io::Result<()> {
    for group in by_file(report.findings) {
        write_file(out, &group, style)?;
    }
    write_ignored(out, report, style)?;
    write_notes(out, report, style)?;
    write_summary(out, report, style)
}

/// The records grouped by path, files in order of their first finding (history reports are
/// ordered by commit, not by path).
fn by_file(records: &[Record]) -> Vec<Vec<&Record>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<Vec<&Record>> = Vec::new();
    for r in records {
        let i = *index.entry(r.path.as_str()).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[i].push(r);
    }
    groups
}

/// One file's findings under a heading.
fn write_file(out: &mut dyn Write, records: &[&Record], style: Style) -> io::Result<()> {
    let path = match records[0].path.as_str() {
        "" => "(blobs that no commit reaches)".to_string(),
        "-" => "(standard input)".to_string(),
        p => for_terminal(p),
    };
    let n = records.len();
    writeln!(
        out,
        "{} ({n} finding{})",
        paint(style, &format!("{BOLD}{PATH}"), &path),
        if n == 1 { "" } else { "s" }
    )?;
    for r in records {
        write_finding(out, r, style)?;
    }
    writeln!(out)
}

/// `path:line:col  rule  severity  secret`, the line with a caret, then the details.
fn write_finding(out: &mut dyn Write, r: &Record, style: Style) -> io::Result<()> {
    let secret = for_terminal(&r.shown_secret(style.show_secrets));
    writeln!(
        out,
        "  {}:{}:{}  {}  {}  {secret}",
        paint(style, PATH, &display_path(r)),
        r.line,
        r.column,
        paint(style, BOLD, &r.rule),
        paint(style, severity_colour(r.severity), r.severity.as_str()),
    )?;
    if let Some(snippet) = r.snippet.as_deref() {
        let shown = snippet.render(&r.shown_secret(style.show_secrets), style.show_secrets);
        let number = snippet.line.to_string();
        let pad = " ".repeat(number.len());
        writeln!(
            out,
            "    {} {}",
            paint(style, GUTTER, &format!("{number} |")),
            shown.text
        )?;
        writeln!(
            out,
            "    {} {}{}",
            paint(style, GUTTER, &format!("{pad} |")),
            " ".repeat(shown.caret_at),
            paint(
                style,
                severity_colour(r.severity),
                &"^".repeat(shown.caret_len)
            ),
        )?;
    }
    for line in details(r) {
        writeln!(out, "    {}", paint(style, DIM, &line))?;
    }
    Ok(())
}

/// The path as shown: a blob that no commit reaches has none, so its id stands in.
fn display_path(r: &Record) -> String {
    match (r.path.as_str(), r.git.as_deref()) {
        ("", Some(g)) => format!("blob {}", g.blob.get(..12).unwrap_or(&g.blob)),
        (p, _) => for_terminal(p),
    }
}

/// The lines under a finding's source line: for history findings where the secret came
/// from. Other context about a finding (its exposure, what to do) goes here too, one line
/// each; every line is already safe to print.
fn details(r: &Record) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(origin) = git_origin(r) {
        lines.push(origin);
    }
    if r.exposure.is_client() {
        lines.push(format!(
            "ships to users ({}): {}",
            r.exposure,
            for_terminal(&r.exposure_reason)
        ));
    } else if matches!(
        r.exposure,
        keyward_core::ExposureKind::Test | keyward_core::ExposureKind::Docs
    ) {
        lines.push(format!(
            "{}: {}",
            r.exposure,
            for_terminal(&r.exposure_reason)
        ));
    }
    if let Some(why) = &r.severity_reason {
        lines.push(format!("{}: {}", r.severity, for_terminal(why)));
    }
    if let Some(e) = r.encoding {
        lines.push(format!("found {}-encoded", e.as_str()));
    }
    if let Some(j) = r.jwt.as_deref() {
        let mut parts = vec![format!("alg {}", j.alg.as_deref().unwrap_or("?"))];
        if let Some(iss) = &j.iss {
            parts.push(format!("iss {}", for_terminal(iss)));
        }
        if !j.aud.is_empty() {
            parts.push(format!("aud {}", for_terminal(&j.aud.join(","))));
        }
        parts.push(format!(
            "kind {}",
            serde_json::to_value(j.kind)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default()
        ));
        if let Some(exp) = j.exp {
            parts.push(format!(
                "exp {exp}{}",
                if j.expired { " (expired)" } else { "" }
            ));
        }
        lines.push(format!("JWT: {}", parts.join(", ")));
    }
    lines
}

/// `commit abc1234 by Name <email> 2024-05-01T13:45:00+02:00 (not at HEAD, 3 occurrences)`
/// for history findings.
fn git_origin(r: &Record) -> Option<String> {
    let g = r.git.as_deref()?;
    let mut s = match &g.commit {
        Some(c) => format!(
            "commit {} by {} <{}> {}",
            c.id.get(..12).unwrap_or(&c.id),
            for_terminal(&c.author),
            for_terminal(&c.email),
            c.date
        ),
        None => format!("unreachable blob {}", g.blob),
    };
    let mut notes = Vec::new();
    if g.commit.as_ref().is_some_and(|c| c.boundary) {
        notes.push("shallow boundary: may be older".to_string());
    }
    if !g.unreachable {
        notes.push(
            if g.in_head {
                "still at HEAD"
            } else {
                "not at HEAD"
            }
            .to_string(),
        );
    }
    if g.occurrences.len() > 1 {
        notes.push(format!("{} occurrences", g.occurrences.len()));
    }
    if !notes.is_empty() {
        s.push_str(&format!(" ({})", notes.join(", ")));
    }
    Some(s)
}

/// `--report-ignored`: what was not reported, and why.
fn write_ignored(out: &mut dyn Write, report: &Report<'_>, style: Style) -> io::Result<()> {
    if report.ignored.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "{}",
        paint(style, BOLD, &format!("ignored ({})", report.ignored.len()))
    )?;
    for i in report.ignored {
        let r = &i.record;
        writeln!(
            out,
            "  {}:{}:{}  {}  {}  {}",
            paint(style, PATH, &for_terminal(&r.path)),
            r.line,
            r.column,
            r.rule,
            for_terminal(&r.shown_secret(style.show_secrets)),
            paint(style, DIM, &for_terminal(&i.reason.describe())),
        )?;
    }
    writeln!(out)
}

/// Inline directives that expired, are invalid, or silence nothing.
fn write_notes(out: &mut dyn Write, report: &Report<'_>, style: Style) -> io::Result<()> {
    if report.notes.is_empty() {
        return Ok(());
    }
    writeln!(out, "{}", paint(style, BOLD, "inline directives"))?;
    for n in report.notes {
        writeln!(
            out,
            "  {}:{}  {}",
            paint(style, PATH, &for_terminal(&n.path)),
            n.directive.line,
            for_terminal(&n.describe())
        )?;
    }
    writeln!(out)
}

/// The end of the report: how many findings in how many files, by severity. The incident
/// summary (what to rotate first and why) is written here, after this line.
fn write_summary(out: &mut dyn Write, report: &Report<'_>, style: Style) -> io::Result<()> {
    let findings = report.findings;
    if findings.is_empty() {
        return Ok(());
    }
    let files: HashSet<&str> = findings.iter().map(|r| r.path.as_str()).collect();
    let mut by_severity: Vec<(Severity, usize)> = Vec::new();
    for r in findings {
        match by_severity.iter_mut().find(|(s, _)| *s == r.severity) {
            Some((_, n)) => *n += 1,
            None => by_severity.push((r.severity, 1)),
        }
    }
    by_severity.sort_by_key(|b| std::cmp::Reverse(b.0));
    let tally: Vec<String> = by_severity
        .iter()
        .map(|(s, n)| paint(style, severity_colour(*s), &format!("{n} {s}")))
        .collect();
    writeln!(
        out,
        "{} finding{} in {} file{}: {}",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" },
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        tally.join(", ")
    )?;
    super::incident::write(out, findings)
}
