//! JSON and JSON Lines reports, with the schema of DESIGN.md.

use std::io::{self, Write};

use serde::Serialize;

use super::{GitCommit, Record, Report, Stats};
use crate::policy::{Ignored, Note};

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
    exposure: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    exposure_reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    severity_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwt: Option<&'a keyward_core::JwtInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remediation: Option<&'a str>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    git: Option<JsonGit<'a>>,
}

/// The git fields of a history finding, flattened into the finding.
#[derive(Serialize)]
struct JsonGit<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    shallow_boundary: bool,
    blob: &'a str,
    in_head: bool,
    unreachable: bool,
    occurrences: Vec<JsonOccurrence<'a>>,
}

#[derive(Serialize)]
struct JsonOccurrence<'a> {
    commit: &'a str,
    path: &'a str,
    line: usize,
    column: usize,
    author: &'a str,
    email: &'a str,
    date: &'a str,
}

fn git(r: &Record) -> Option<JsonGit<'_>> {
    let g = r.git.as_deref()?;
    let c: Option<&GitCommit> = g.commit.as_ref();
    Some(JsonGit {
        commit: c.map(|c| c.id.as_str()),
        author: c.map(|c| c.author.as_str()),
        email: c.map(|c| c.email.as_str()),
        date: c.map(|c| c.date.as_str()),
        shallow_boundary: c.is_some_and(|c| c.boundary),
        blob: &g.blob,
        in_head: g.in_head,
        unreachable: g.unreachable,
        occurrences: g
            .occurrences
            .iter()
            .map(|o| JsonOccurrence {
                commit: &o.commit.id,
                path: &o.path,
                line: o.line,
                column: o.column,
                author: &o.commit.author,
                email: &o.commit.email,
                date: &o.commit.date,
            })
            .collect(),
    })
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
        exposure: r.exposure.as_str(),
        exposure_reason: &r.exposure_reason,
        severity_reason: r.severity_reason.as_deref(),
        encoding: r.encoding.map(keyward_core::Encoding::as_str),
        jwt: r.jwt.as_deref(),
        remediation: r.remediation.as_deref(),
        git: git(r),
    }
}

/// A suppressed finding (`--report-ignored`): the finding and why it was not reported.
#[derive(Serialize)]
struct JsonIgnored<'a> {
    #[serde(flatten)]
    finding: JsonFinding<'a>,
    ignored_by: JsonReason,
}

#[derive(Serialize)]
struct JsonReason {
    kind: &'static str,
    reason: String,
}

fn ignored(i: &Ignored, show: bool) -> JsonIgnored<'_> {
    JsonIgnored {
        finding: finding(&i.record, show),
        ignored_by: JsonReason {
            kind: i.reason.kind(),
            reason: i.reason.describe(),
        },
    }
}

/// An inline directive that expired, is invalid or silences nothing.
#[derive(Serialize)]
struct JsonNote<'a> {
    path: &'a str,
    line: usize,
    directive: &'static str,
    problem: &'static str,
    message: String,
}

fn note(n: &Note) -> JsonNote<'_> {
    JsonNote {
        path: &n.path,
        line: n.directive.line,
        directive: n.directive.form.as_str(),
        problem: n.kind(),
        message: n.describe(),
    }
}

#[derive(Serialize)]
struct Document<'a> {
    findings: Vec<JsonFinding<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ignored: Vec<JsonIgnored<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    directives: Vec<JsonNote<'a>>,
    stats: &'a Stats,
}

/// `{"findings": [...], "ignored": [...], "directives": [...], "stats": {...}}`; the middle
/// two only when not empty.
pub fn write(out: &mut dyn Write, report: &Report<'_>, show: bool) -> io::Result<()> {
    let doc = Document {
        findings: report.findings.iter().map(|r| finding(r, show)).collect(),
        ignored: report.ignored.iter().map(|i| ignored(i, show)).collect(),
        directives: report.notes.iter().map(note).collect(),
        stats: report.stats,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// One finding per line; suppressed ones (`--report-ignored`) follow, with `ignored_by`.
pub fn write_lines(out: &mut dyn Write, report: &Report<'_>, show: bool) -> io::Result<()> {
    for r in report.findings {
        serde_json::to_writer(&mut *out, &finding(r, show))?;
        writeln!(out)?;
    }
    for i in report.ignored {
        serde_json::to_writer(&mut *out, &ignored(i, show))?;
        writeln!(out)?;
    }
    Ok(())
}
