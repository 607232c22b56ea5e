//! SARIF 2.1.0, as GitHub code scanning ingests it: one run, a rule for each rule that
//! fired, a result for each finding with a location, a level, a message and keyward's
//! fingerprint in `partialFingerprints`. Only the write-only subset keyward needs, as plain
//! serde structs.
//!
//! GitHub reads `security-severity` from the rule, not the result; since exposure can make
//! one rule's findings differ, a rule carries the highest severity among its results.
//!
//! A secret that only an unreachable blob holds (`keyward history`, never in a fresh clone)
//! has no file to point at, and GitHub rejects results without a location: it becomes a
//! tool notification of level `error` instead.

use std::collections::BTreeMap;
use std::io::{self, Write};

use keyward_core::Severity;
use serde::Serialize;

use super::{Record, Report};
use crate::policy::{Ignored, Note, Problem};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    invocations: [Invocation; 1],
    results: Vec<SarifResult<'a>>,
    column_kind: &'static str,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    semantic_version: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    name: String,
    short_description: Text,
    full_description: Text,
    help: Help,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<String>,
    precision: &'static str,
    #[serde(rename = "security-severity")]
    security_severity: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Text,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<Location>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressions: Option<[Suppression; 1]>,
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<usize>,
}

#[derive(Serialize)]
struct Suppression {
    kind: &'static str,
    justification: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties<'a> {
    severity: &'static str,
    confidence: &'a str,
    category: &'a str,
    provider: &'a str,
    secret: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    blob: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_head: Option<bool>,
}

/// The SARIF level of a severity.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity`: over 9.0 is critical, 7.0–8.9 high, 4.0–6.9 medium.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

fn precision(confidence: &str) -> &'static str {
    match confidence {
        "high" => "high",
        "low" => "low",
        _ => "medium",
    }
}

/// `github-pat-classic` → `GithubPatClassic`: SARIF rule names are identifiers.
fn pascal(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// A path as a relative URI reference: RFC 3986 unreserved characters and `/` kept, every
/// other byte percent-encoded; absolute paths become `file://` URIs.
fn uri(path: &str) -> String {
    let mut out = String::new();
    let (prefix, rest) = match path.strip_prefix('/') {
        Some(rest) => ("file:///", rest),
        None => ("", path),
    };
    out.push_str(prefix);
    for b in rest.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A finding's region: its secret's span, the end computed from the secret's own lines.
fn region(r: &Record) -> Region {
    let secret = r.secret.expose();
    let lines: Vec<&str> = secret.split('\n').collect();
    let end_line = r.line + lines.len() - 1;
    let last = lines
        .last()
        .map_or(0, |l| l.trim_end_matches('\r').chars().count());
    let end_column = if lines.len() == 1 {
        r.column + last
    } else {
        last + 1
    };
    Region {
        start_line: r.line.max(1),
        start_column: Some(r.column.max(1)),
        end_line: Some(end_line.max(1)),
        end_column: Some(end_column.max(1)),
    }
}

fn location(path: &str, region: Region) -> Location {
    Location {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation { uri: uri(path) },
            region,
        },
    }
}

fn message(r: &Record, show: bool) -> String {
    let mut m = format!("{} found: {}.", r.name, r.shown_secret(show));
    if let Some(g) = r.git.as_deref() {
        match &g.commit {
            Some(c) => {
                m.push_str(&format!(
                    " Introduced in commit {} by {} on {}",
                    c.id, c.author, c.date
                ));
                m.push_str(if g.in_head {
                    "; still at HEAD."
                } else {
                    "; no longer at HEAD, but in history."
                });
            }
            None => m.push_str(&format!(" In blob {}, which no commit reaches.", g.blob)),
        }
    }
    m
}

fn properties(r: &Record, show: bool) -> ResultProperties<'_> {
    let g = r.git.as_deref();
    let c = g.and_then(|g| g.commit.as_ref());
    ResultProperties {
        severity: r.severity.as_str(),
        confidence: r.confidence,
        category: r.category,
        provider: &r.provider,
        secret: r.shown_secret(show),
        commit: c.map(|c| c.id.as_str()),
        author: c.map(|c| c.author.as_str()),
        date: c.map(|c| c.date.as_str()),
        blob: g.map(|g| g.blob.as_str()),
        in_head: g.map(|g| g.in_head),
    }
}

/// The rule entries for every record, in order of first appearance, and each rule's index.
fn rules<'r>(records: impl Iterator<Item = &'r Record>) -> (Vec<Rule>, BTreeMap<String, usize>) {
    let mut out: Vec<Rule> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut worst: Vec<Severity> = Vec::new();
    for r in records {
        if let Some(&i) = index.get(&r.rule) {
            worst[i] = worst[i].max(r.severity);
            continue;
        }
        index.insert(r.rule.clone(), out.len());
        worst.push(r.severity);
        let remediation = r.remediation.clone().unwrap_or_else(|| {
            "Revoke or rotate the credential, then remove it from the code.".into()
        });
        out.push(Rule {
            id: r.rule.clone(),
            name: pascal(&r.rule),
            short_description: Text {
                text: r.name.clone(),
            },
            full_description: Text {
                text: format!(
                    "{}: a {} credential ({}) committed to the repository.",
                    r.name,
                    r.provider,
                    r.category.replace('_', " ")
                ),
            },
            help: Help {
                markdown: format!("**{}**\n\n{}", r.name, remediation.trim()),
                text: remediation.trim().to_string(),
            },
            default_configuration: Configuration { level: "error" },
            properties: RuleProperties {
                tags: vec!["security".into(), "secret".into(), r.category.to_string()],
                precision: precision(r.confidence),
                security_severity: String::new(),
            },
        });
    }
    for (rule, w) in out.iter_mut().zip(worst) {
        rule.default_configuration.level = level(w);
        rule.properties.security_severity = security_severity(w).to_string();
    }
    (out, index)
}

/// A result. `nth` counts the results before it with the same fingerprint (the same secret
/// twice in one file), as GitHub's own line hashes count repeated lines.
fn result<'a>(
    r: &'a Record,
    rule_index: usize,
    ignored: Option<&Ignored>,
    nth: usize,
    show: bool,
) -> SarifResult<'a> {
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert("keyward/v1", r.fingerprint.as_str().to_string());
    // GitHub matches alerts across runs by this key (with the path and the rule): keyward's
    // fingerprint keeps an alert when lines move and opens a new one for a new secret.
    fingerprints.insert(
        "primaryLocationLineHash",
        format!("{}:{}", r.fingerprint.as_str(), nth + 1),
    );
    SarifResult {
        rule_id: &r.rule,
        rule_index,
        level: level(r.severity),
        message: Text {
            text: message(r, show),
        },
        locations: vec![location(&r.path, region(r))],
        partial_fingerprints: fingerprints,
        suppressions: ignored.map(|i| {
            [Suppression {
                kind: if matches!(i.reason, crate::policy::Reason::Inline(_)) {
                    "inSource"
                } else {
                    "external"
                },
                justification: i.reason.describe(),
            }]
        }),
        properties: properties(r, show),
    }
}

fn notification(n: &Note) -> Notification {
    Notification {
        level: match n.problem {
            Problem::Unused => "note",
            Problem::Expired(_) | Problem::Invalid(_) => "warning",
        },
        message: Text {
            text: format!("{}.", n.describe()),
        },
        locations: vec![location(
            &n.path,
            Region {
                start_line: n.directive.line.max(1),
                start_column: None,
                end_line: None,
                end_column: None,
            },
        )],
    }
}

/// Writes the SARIF log of `report`.
pub fn write(out: &mut dyn Write, report: &Report<'_>, show: bool) -> io::Result<()> {
    let all = report
        .findings
        .iter()
        .chain(report.ignored.iter().map(|i| &i.record))
        .filter(|r| !r.path.is_empty());
    let (rules, index) = rules(all);
    let mut results: Vec<SarifResult<'_>> = Vec::new();
    let mut notifications: Vec<Notification> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut nth = |r: &Record| -> usize {
        let n = seen.entry(r.fingerprint.as_str().to_string()).or_default();
        *n += 1;
        *n - 1
    };
    for r in report.findings {
        if r.path.is_empty() {
            notifications.push(Notification {
                level: "error",
                message: Text {
                    text: format!("{} ({})", message(r, show), r.rule),
                },
                locations: Vec::new(),
            });
        } else {
            results.push(result(r, index[&r.rule], None, nth(r), show));
        }
    }
    for i in report.ignored.iter().filter(|i| !i.record.path.is_empty()) {
        results.push(result(
            &i.record,
            index[&i.record.rule],
            Some(i),
            nth(&i.record),
            show,
        ));
    }
    notifications.extend(report.notes.iter().map(notification));
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "keyward",
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    rules,
                },
            },
            invocations: [Invocation {
                execution_successful: true,
                tool_execution_notifications: notifications,
            }],
            results,
            column_kind: "unicodeCodePoints",
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded_relative_references() {
        assert_eq!(uri("src/a b/ü.ts"), "src/a%20b/%C3%BC.ts");
        assert_eq!(uri("a#b?c%d"), "a%23b%3Fc%25d");
        assert_eq!(uri("/abs/x.env"), "file:///abs/x.env");
    }

    #[test]
    fn rule_names_are_identifiers() {
        assert_eq!(pascal("github-pat-classic"), "GithubPatClassic");
        assert_eq!(pascal("aws_access-key.id"), "AwsAccessKeyId");
    }
}
