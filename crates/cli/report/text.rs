//! The human-readable report: `path:line:col  rule  severity  secret`.

use std::io::{self, Write};

use keyward_core::Severity;

use super::{Record, Style};

const RESET: &str = "\x1b[0m";

fn severity_colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "\x1b[1;31m",
        Severity::High => "\x1b[31m",
        Severity::Medium => "\x1b[33m",
        Severity::Low | Severity::Info => "\x1b[36m",
    }
}

/// Writes one line per finding.
pub fn write(out: &mut dyn Write, records: &[Record], style: Style) -> io::Result<()> {
    for r in records {
        let path = crate::sanitize::for_terminal(&r.path);
        let secret = crate::sanitize::for_terminal(&r.shown_secret(style.show_secrets));
        let origin = git_origin(r);
        if style.color {
            writeln!(
                out,
                "\x1b[35m{path}\x1b[0m:\x1b[32m{}\x1b[0m:{}  \x1b[1m{}\x1b[0m  {}{}{RESET}  {secret}{origin}",
                r.line,
                r.column,
                r.rule,
                severity_colour(r.severity),
                r.severity
            )?;
        } else {
            writeln!(
                out,
                "{path}:{}:{}  {}  {}  {secret}{origin}",
                r.line, r.column, r.rule, r.severity
            )?;
        }
    }
    Ok(())
}

/// `  commit abc1234 by Name <email> 2024-05-01T13:45:00+02:00 (not at HEAD, 3 occurrences)`
/// for history findings; empty otherwise.
fn git_origin(r: &Record) -> String {
    let Some(g) = r.git.as_deref() else {
        return String::new();
    };
    let mut s = match &g.commit {
        Some(c) => format!(
            "  commit {} by {} <{}> {}",
            c.id.get(..12).unwrap_or(&c.id),
            crate::sanitize::for_terminal(&c.author),
            crate::sanitize::for_terminal(&c.email),
            c.date
        ),
        None => format!("  unreachable blob {}", g.blob),
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
    s
}
