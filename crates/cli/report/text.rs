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
        if style.color {
            writeln!(
                out,
                "\x1b[35m{path}\x1b[0m:\x1b[32m{}\x1b[0m:{}  \x1b[1m{}\x1b[0m  {}{}{RESET}  {secret}",
                r.line,
                r.column,
                r.rule,
                severity_colour(r.severity),
                r.severity
            )?;
        } else {
            writeln!(out, "{path}:{}:{}  {}  {}  {secret}", r.line, r.column, r.rule, r.severity)?;
        }
    }
    Ok(())
}
