//! JSON and JSON Lines reports, with the schema of DESIGN.md.

use std::io::{self, Write};

use serde::Serialize;

use super::{Record, Stats};

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'a str,
    name: &'a str,
    category: &'a str,
    provider: &'a str,
    confidence: &'a str,
    severity: &'a str,
    path: &'a str,
    line: usize,
    column: usize,
    secret: String,
    fingerprint: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    remediation: Option<&'a str>,
}

fn finding(r: &Record, show: bool) -> JsonFinding<'_> {
    JsonFinding {
        rule: &r.rule,
        name: &r.name,
        category: r.category,
        provider: &r.provider,
        confidence: r.confidence,
        severity: r.severity.as_str(),
        path: &r.path,
        line: r.line,
        column: r.column,
        secret: r.shown_secret(show),
        fingerprint: r.fingerprint.as_str(),
        remediation: r.remediation.as_deref(),
    }
}

#[derive(Serialize)]
struct Document<'a> {
    findings: Vec<JsonFinding<'a>>,
    stats: &'a Stats,
}

/// `{"findings": [...], "stats": {...}}`.
pub fn write(out: &mut dyn Write, records: &[Record], stats: &Stats, show: bool) -> io::Result<()> {
    let doc = Document { findings: records.iter().map(|r| finding(r, show)).collect(), stats };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// One finding per line.
pub fn write_lines(out: &mut dyn Write, records: &[Record], show: bool) -> io::Result<()> {
    for r in records {
        serde_json::to_writer(&mut *out, &finding(r, show))?;
        writeln!(out)?;
    }
    Ok(())
}
