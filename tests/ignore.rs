//! Inline directives (`keyward:allow` and the directives of other scanners), with reasons
//! and expiry dates, in `keyward scan` and `keyward history`; `--report-ignored`.

mod support;

use serde_json::Value;
use support::{Repo, SLACK, T1, T2, T3, T4, keyward, write};
use tempfile::TempDir;

fn scan_json(dir: &std::path::Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["scan", "-q", "--format", "json", "--show-secrets"];
    args.extend_from_slice(extra);
    args.push(".");
    let out = keyward(dir, &args);
    (out.code, out.json())
}

fn reported(doc: &Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["secret"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn each_form_silences_its_line_and_only_its_line() {
    let dir = TempDir::new().expect("tempdir");
    write(
        dir.path(),
        "app.py",
        format!(
            "A = '{T1}'  # keyward:allow\n\
             # keyward:allow-next-line\n\
             B = '{T2}'\n\
             C = '{T3}'  // gitleaks:allow\n\
             D = '{SLACK}'  # pragma: allowlist secret\n\
             # pragma: allowlist nextline secret\n\
             E = '{T4}'\n"
        ),
    );
    let (code, doc) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["stats"]["suppressed"]["inline"], 5);

    // The same secrets without directives, or with a same-line form above them, report.
    write(
        dir.path(),
        "app.py",
        format!("# keyward:allow\nA = '{T1}'\n# gitleaks:allow\nB = '{T2}'\nC = '{T3}'\n"),
    );
    let (code, doc) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(reported(&doc), vec![T1, T2, T3]);
}

#[test]
fn a_directive_does_not_hide_a_second_secret_on_the_next_line() {
    let dir = TempDir::new().expect("tempdir");
    write(
        dir.path(),
        "app.py",
        format!("A = '{T1}'  # keyward:allow reason=\"fixture\"\nB = '{T2}'\n"),
    );
    let (_, doc) = scan_json(dir.path(), &[]);
    assert_eq!(reported(&doc), vec![T2]);
}

#[test]
fn reasons_expiry_and_report_ignored() {
    let dir = TempDir::new().expect("tempdir");
    write(
        dir.path(),
        "tests/fixtures.py",
        format!(
            "LIVE = '{T1}'  # keyward:allow reason=\"revoked test token\" until=2999-12-31\n\
             OLD = '{T2}'  # keyward:allow reason=\"temporary\" until=2020-01-01\n\
             BAD = '{T3}'  # keyward:allow until=next-week\n\
             NONE = 'nothing here'  # keyward:allow\n"
        ),
    );
    // The expired and the invalid directive silence nothing.
    let (code, doc) = scan_json(dir.path(), &["--report-ignored"]);
    assert_eq!(code, 1);
    assert_eq!(reported(&doc), vec![T2, T3]);

    let ignored = doc["ignored"].as_array().expect("ignored");
    assert_eq!(ignored.len(), 1);
    assert_eq!(ignored[0]["secret"], T1);
    assert_eq!(ignored[0]["line"], 1);
    assert_eq!(ignored[0]["ignored_by"]["kind"], "inline");
    let why = ignored[0]["ignored_by"]["reason"].as_str().expect("reason");
    assert!(
        why.contains("revoked test token") && why.contains("2999-12-31"),
        "{why}"
    );

    let directives = doc["directives"].as_array().expect("directives");
    let problems: Vec<(u64, &str)> = directives
        .iter()
        .map(|d| {
            (
                d["line"].as_u64().unwrap_or(0),
                d["problem"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        problems,
        vec![(2, "expired"), (3, "invalid"), (4, "unused")]
    );

    // Without --report-ignored: no list of ignored findings and no search for unused
    // directives, but expired ones are still said, on standard error.
    let out = keyward(dir.path(), &["scan", "--format", "json", "."]);
    let doc = out.json();
    assert!(doc.get("ignored").is_none());
    let kinds: Vec<&str> = doc["directives"]
        .as_array()
        .expect("directives")
        .iter()
        .filter_map(|d| d["problem"].as_str())
        .collect();
    assert_eq!(kinds, vec!["expired", "invalid"]);
    assert!(
        out.stderr
            .contains("tests/fixtures.py:2: keyward:allow expired on 2020-01-01"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_text_report_lists_ignored_findings_and_directive_problems() {
    let dir = TempDir::new().expect("tempdir");
    write(
        dir.path(),
        "a.py",
        format!(
            "A = '{T1}'  # keyward:allow reason=\"fixture\"\nB = '{T2}'  # keyward:allow until=2021-06-30\n"
        ),
    );
    let out = keyward(
        dir.path(),
        &["scan", "--color", "never", "--report-ignored", "."],
    );
    assert_eq!(out.code, 1);
    let text = &out.stdout;
    assert!(text.contains("ignored (1)"), "{text}");
    assert!(
        text.contains(
            "a.py:1:6  github-pat-classic  ghp_…  keyward:allow on line 1, reason \"fixture\""
        ),
        "{text}"
    );
    assert!(
        text.contains("a.py:2  keyward:allow expired on 2021-06-30"),
        "{text}"
    );
    assert!(!text.contains(T1) && !text.contains(T2), "redacted: {text}");
}

#[test]
fn history_honours_directives_in_the_blob_that_introduced_the_secret() {
    let repo = Repo::new();
    repo.write(
        "fixtures/tokens.py",
        &format!(
            "A = '{T1}'  # keyward:allow reason=\"revoked\"\n\
             # keyward:allow-next-line until=2020-01-01\n\
             B = '{T2}'\n\
             C = '{T3}'\n"
        ),
    );
    repo.commit("fixtures");
    let out = keyward(
        repo.path(),
        &[
            "history",
            "-q",
            "--format",
            "json",
            "--show-secrets",
            "--report-ignored",
            ".",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = out.json();
    let mut found = reported(&doc);
    found.sort();
    let mut want = vec![T2.to_string(), T3.to_string()];
    want.sort();
    assert_eq!(found, want);
    assert_eq!(doc["ignored"][0]["secret"], T1);
    assert_eq!(doc["ignored"][0]["ignored_by"]["kind"], "inline");
    assert_eq!(doc["directives"][0]["problem"], "expired");

    // A range scan of a commit that adds a secret with a directive reports nothing.
    let base = repo.git(&["rev-parse", "HEAD"]);
    repo.write("later.py", &format!("D = '{T4}'  # gitleaks:allow\n"));
    repo.commit("later");
    let out = keyward(
        repo.path(),
        &[
            "history",
            "-q",
            "--format",
            "json",
            "--range",
            &format!("{base}..HEAD"),
            ".",
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.json()["stats"]["suppressed"]["inline"], 1);
}

#[test]
fn history_text_shows_the_line_with_a_caret() {
    let repo = Repo::new();
    repo.write(
        "src/app.js",
        &format!("const a = 1;\nconst token = \"{T1}\";\n"),
    );
    repo.commit("token");
    let out = keyward(repo.path(), &["history", "-q", "--color", "never", "."]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("    2 | const token = \"ghp_…\";\n      |                ^^^^^\n"),
        "{}",
        out.stdout
    );
}
