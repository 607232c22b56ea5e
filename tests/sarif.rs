//! `--format sarif`: valid against the official SARIF 2.1.0 schema (vendored in
//! tests/data), and carrying what GitHub code scanning needs.

mod support;

use std::path::Path;

use serde_json::Value;
use support::{Repo, SLACK, T1, T2, T3, keyward, write};
use tempfile::TempDir;

const SCHEMA: &str = include_str!("data/sarif-schema-2.1.0.json");

/// Validates `doc` against the SARIF 2.1.0 schema, with format assertions (`uri`,
/// `uri-reference`, `date-time`) on.
fn schema_errors(doc: &Value) -> Option<String> {
    let schema: Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    let url = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
    compiler.add_resource(url, schema).expect("schema loads");
    let index = compiler
        .compile(url, &mut schemas)
        .expect("schema compiles");
    schemas.validate(doc, index).err().map(|e| format!("{e:#}"))
}

fn assert_valid(doc: &Value) {
    if let Some(e) = schema_errors(doc) {
        panic!("SARIF does not match the schema:\n{e}\n{doc:#}");
    }
}

fn sarif_of_scan(dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["scan", "-q", "--format", "sarif"];
    args.extend_from_slice(extra);
    args.push(".");
    let out = keyward(dir, &args);
    assert_eq!(out.code, 1, "{}", out.stderr);
    out.json()
}

/// A folder with two rules firing, an awkward file name, a multi-line private key, a
/// suppressed finding and an expired directive.
fn fixture() -> TempDir {
    let dir = TempDir::new().expect("tempdir");
    write(
        dir.path(),
        "src/config.py",
        format!("# settings\nTOKEN = '{T1}'\n"),
    );
    write(dir.path(), "web/app é #1.env", format!("SLACK={SLACK}\n"));
    write(
        dir.path(),
        "tests/fixture.py",
        format!(
            "A = '{T2}'  # keyward:allow reason=\"fixture\"\nB = '{T3}'  # keyward:allow until=2020-01-01\n"
        ),
    );
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\n\
        b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n\
        QyNTUxOQAAACDqhKvGYWbQ1Wl5fJtDfXrx9o8n2yq8Cw0nLp6HDC7mQQAAAJgq4f3YKuH9\n\
        -----END OPENSSH PRIVATE KEY-----\n";
    write(dir.path(), "deploy/id_ed25519", key);
    dir
}

#[test]
fn scan_sarif_validates_against_the_schema() {
    let dir = fixture();
    let doc = sarif_of_scan(dir.path(), &["--report-ignored"]);
    assert_valid(&doc);
    assert_eq!(doc["version"], "2.1.0");
    assert_eq!(doc["runs"].as_array().map(Vec::len), Some(1));
}

#[test]
fn the_validator_rejects_what_the_schema_forbids() {
    // Guards the test above against a validator that accepts anything.
    let dir = fixture();
    let mut doc = sarif_of_scan(dir.path(), &[]);
    doc["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(
        schema_errors(&doc).is_some(),
        "level 'fatal' must be rejected"
    );
    let mut doc = sarif_of_scan(dir.path(), &[]);
    doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(0);
    assert!(
        schema_errors(&doc).is_some(),
        "startLine 0 must be rejected"
    );
}

#[test]
fn results_carry_rule_level_location_and_fingerprint() {
    let dir = fixture();
    let doc = sarif_of_scan(dir.path(), &[]);
    let json = keyward(dir.path(), &["scan", "-q", "--format", "json", "."]).json();
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let results = run["results"].as_array().expect("results");
    let findings = json["findings"].as_array().expect("findings");
    assert_eq!(
        results.len(),
        findings.len(),
        "one result per reported finding"
    );

    // One rule entry per rule that fired, each with what GitHub shows.
    let mut fired: Vec<&str> = findings.iter().filter_map(|f| f["rule"].as_str()).collect();
    fired.sort_unstable();
    fired.dedup();
    let mut ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, fired);
    for rule in rules {
        assert!(
            rule["shortDescription"]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        assert!(
            rule["fullDescription"]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        assert!(rule["help"]["text"].as_str().is_some_and(|t| !t.is_empty()));
        let sev: f64 = rule["properties"]["security-severity"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("security-severity is a number in a string");
        assert!((0.0..=10.0).contains(&sev));
    }

    let config = results
        .iter()
        .find(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "src/config.py"
        })
        .expect("src/config.py result");
    assert_eq!(config["ruleId"], "github-pat-classic");
    assert_eq!(config["level"], "error");
    let region = &config["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(2), Some(10))
    );
    assert_eq!(region["endColumn"].as_u64(), Some(10 + T1.len() as u64));
    let finding = findings
        .iter()
        .find(|f| f["path"] == "src/config.py")
        .expect("finding");
    assert_eq!(
        config["partialFingerprints"]["keyward/v1"],
        finding["fingerprint"]
    );
    let fp = finding["fingerprint"].as_str().expect("fingerprint");
    assert_eq!(
        config["partialFingerprints"]["primaryLocationLineHash"],
        format!("{fp}:1")
    );
    let rule_index = config["ruleIndex"].as_u64().expect("ruleIndex") as usize;
    assert_eq!(rules[rule_index]["id"], "github-pat-classic");

    // The path is a URI reference: percent-encoded.
    assert!(
        results.iter().any(
            |r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "web/app%20%C3%A9%20%231.env"
        ),
        "{results:#?}"
    );
    // The multi-line key's region ends on its last line.
    let key = results
        .iter()
        .find(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "deploy/id_ed25519"
        })
        .expect("private key result");
    let region = &key["locations"][0]["physicalLocation"]["region"];
    assert!(
        region["endLine"].as_u64() > region["startLine"].as_u64(),
        "{region}"
    );

    // Redacted like every other format.
    let text = doc.to_string();
    for secret in [T1, SLACK, &T1[..8]] {
        assert!(!text.contains(secret), "SARIF leaks {secret}");
    }
}

#[test]
fn suppressed_findings_and_expired_directives() {
    let dir = fixture();
    let doc = sarif_of_scan(dir.path(), &["--report-ignored"]);
    let run = &doc["runs"][0];
    let results = run["results"].as_array().expect("results");
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1, "{results:#?}");
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "inSource");
    assert!(
        suppressed[0]["suppressions"][0]["justification"]
            .as_str()
            .is_some_and(|j| j.contains("fixture")),
        "{:#}",
        suppressed[0]
    );
    // The expired directive does not suppress; it is a tool notification.
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("notes");
    assert!(
        notes.iter().any(|n| n["message"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("expired on 2020-01-01"))),
        "{notes:#?}"
    );
    // Without --report-ignored, suppressed findings are not in the log at all.
    let plain = sarif_of_scan(dir.path(), &[]);
    assert!(
        plain["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .all(|r| r.get("suppressions").is_none())
    );
}

#[test]
fn history_sarif_names_the_commit_and_validates() {
    let repo = Repo::new();
    repo.write("app/settings.py", &format!("TOKEN = '{T1}'\n"));
    let commit = repo.commit("add settings");
    repo.write("app/settings.py", "TOKEN = os.environ['TOKEN']\n");
    repo.commit("read the token from the environment");

    let out = keyward(repo.path(), &["history", "-q", "--format", "sarif", "."]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = out.json();
    assert_valid(&doc);
    let result = &doc["runs"][0]["results"][0];
    assert_eq!(result["properties"]["commit"], commit.as_str());
    assert_eq!(result["properties"]["inHead"], false);
    let message = result["message"]["text"].as_str().expect("message");
    assert!(
        message.contains(&commit) && message.contains("no longer at HEAD"),
        "{message}"
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "app/settings.py"
    );
}

#[test]
fn an_unreachable_blob_is_a_notification_not_a_result() {
    // GitHub rejects results without a location, and a blob no commit reaches has no path.
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("readme");
    let blob = repo.dir.path().join("dangling.txt");
    std::fs::write(&blob, format!("{T2}\n")).expect("write");
    repo.git(&["hash-object", "-w", "dangling.txt"]);
    std::fs::remove_file(&blob).expect("rm");

    let out = keyward(repo.path(), &["history", "-q", "--format", "sarif", "."]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = out.json();
    assert_valid(&doc);
    let run = &doc["runs"][0];
    assert_eq!(run["results"].as_array().map(Vec::len), Some(0));
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("notes");
    assert_eq!(notes[0]["level"], "error");
    assert!(
        notes[0]["message"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("no commit reaches"))
    );
}

/// Microsoft's SARIF multitool with GitHub's ingestion rules, when it is installed
/// (`npm install @microsoft/sarif-multitool-linux`, then point `SARIF_MULTITOOL` at its
/// `Sarif.Multitool`, or put it on the PATH). Skipped otherwise: CI has no network for it.
#[test]
fn the_sarif_multitool_finds_no_errors_when_installed() {
    let tool = std::env::var_os("SARIF_MULTITOOL")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join("Sarif.Multitool"))
                    .find(|p| p.is_file())
            })
        });
    let Some(tool) = tool else {
        eprintln!("skipped: Sarif.Multitool not installed (set SARIF_MULTITOOL)");
        return;
    };
    let dir = fixture();
    let doc = sarif_of_scan(dir.path(), &["--report-ignored"]);
    let input = dir.path().join("report.sarif");
    std::fs::write(&input, doc.to_string()).expect("write");
    let output = dir.path().join("validation.sarif");
    let run = std::process::Command::new(&tool)
        .args(["validate", "--rule-kind", "Sarif;Gh", "--output"])
        .arg(&output)
        .arg(&input)
        .output()
        .expect("multitool runs");
    let console = String::from_utf8_lossy(&run.stdout);
    let errors: Vec<&str> = console.lines().filter(|l| l.contains(": error ")).collect();
    assert!(errors.is_empty() && run.status.success(), "{console}");
}
