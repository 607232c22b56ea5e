//! `keyward baseline create|prune` and `--baseline`: a baseline silences exactly the findings
//! it recorded, survives edits above them, and never holds a secret.

mod support;

use std::path::Path;

use serde_json::Value;
use support::{Repo, SLACK, T1, T2, T3, keyward, write};
use tempfile::TempDir;

fn findings(dir: &Path, extra: &[&str]) -> (i32, Vec<Value>) {
    let mut args = vec!["scan", "-q", "--format", "json", "--show-secrets"];
    args.extend_from_slice(extra);
    args.push(".");
    let out = keyward(dir, &args);
    let doc = out.json();
    (
        out.code,
        doc["findings"].as_array().cloned().unwrap_or_default(),
    )
}

fn secrets(found: &[Value]) -> Vec<&str> {
    found.iter().filter_map(|f| f["secret"].as_str()).collect()
}

#[test]
fn a_baseline_silences_its_findings_after_lines_move_but_not_a_new_secret_on_the_same_line() {
    let dir = TempDir::new().expect("tempdir");
    write(
        dir.path(),
        "app/config.py",
        format!("TOKEN = '{T1}'\nSLACK = '{SLACK}'\n"),
    );
    write(dir.path(), "README.md", format!("Example: {T2}\n"));

    let out = keyward(dir.path(), &["baseline", "create"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("3 entries written to .keyward-baseline.json"),
        "{}",
        out.stderr
    );
    let file =
        std::fs::read_to_string(dir.path().join(".keyward-baseline.json")).expect("baseline");
    for secret in [T1, T2, SLACK, &T1[..8], &SLACK[..8]] {
        assert!(
            !file.contains(secret),
            "the baseline holds {secret}: {file}"
        );
    }

    // Unrelated lines inserted above every finding: all still baselined.
    write(
        dir.path(),
        "app/config.py",
        format!("import os\n\n# tokens\nTOKEN = '{T1}'\n\n\nSLACK = '{SLACK}'\n"),
    );
    write(
        dir.path(),
        "README.md",
        format!("# Title\n\nSome prose.\n\nExample: {T2}\n"),
    );
    let (code, found) = findings(dir.path(), &["--baseline", ".keyward-baseline.json"]);
    assert_eq!((code, found.len()), (0, 0), "{found:#?}");

    // A different secret on a baselined line is reported.
    write(
        dir.path(),
        "app/config.py",
        format!("TOKEN = '{T3}'\nSLACK = '{SLACK}'\n"),
    );
    let (code, found) = findings(dir.path(), &["--baseline", ".keyward-baseline.json"]);
    assert_eq!(code, 1);
    assert_eq!(secrets(&found), vec![T3]);

    // The same secret moved to another file is a new finding too: the path is in the
    // fingerprint.
    write(dir.path(), "app/other.py", format!("T = '{T1}'\n"));
    let (_, found) = findings(dir.path(), &["--baseline", ".keyward-baseline.json"]);
    assert!(
        found.iter().any(|f| f["path"] == "app/other.py"),
        "{found:#?}"
    );
}

#[test]
fn the_file_is_sorted_stable_and_has_no_timestamps() {
    let dir = TempDir::new().expect("tempdir");
    write(dir.path(), "z.env", format!("A={T1}\n"));
    write(dir.path(), "a.env", format!("B={T2}\nC={SLACK}\n"));
    keyward(dir.path(), &["baseline", "create", "-o", "first.json"]);
    keyward(dir.path(), &["baseline", "create", "-o", "second.json"]);
    let first = std::fs::read_to_string(dir.path().join("first.json")).expect("first");
    let second = std::fs::read_to_string(dir.path().join("second.json")).expect("second");
    assert_eq!(first, second, "regenerating gives the same bytes");
    let doc: Value = serde_json::from_str(&first).expect("json");
    assert_eq!(doc["keyward_baseline"], 1);
    let entries = doc["entries"].as_array().expect("entries");
    let keys: Vec<(String, String)> = entries
        .iter()
        .map(|e| (e["path"].to_string(), e["rule"].to_string()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    for e in entries {
        let fields: Vec<&String> = e.as_object().expect("object").keys().collect();
        assert_eq!(fields, ["fingerprint", "path", "rule"], "{e}");
    }
    assert!(!first.contains("20"), "no dates or times: {first}");
}

#[test]
fn prune_drops_entries_that_match_nothing() {
    let dir = TempDir::new().expect("tempdir");
    write(dir.path(), "a.py", format!("A = '{T1}'\nB = '{T2}'\n"));
    keyward(dir.path(), &["baseline", "create"]);
    write(
        dir.path(),
        "a.py",
        format!("A = '{T1}'\nB = os.environ['B']\n"),
    );
    let out = keyward(dir.path(), &["baseline", "prune"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("1 of 2 entries dropped"),
        "{}",
        out.stderr
    );
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".keyward-baseline.json")).expect("baseline"),
    )
    .expect("json");
    assert_eq!(doc["entries"].as_array().map(Vec::len), Some(1));
    // What is left still silences the remaining secret.
    let (code, _) = findings(dir.path(), &["--baseline", ".keyward-baseline.json"]);
    assert_eq!(code, 0);
}

#[test]
fn the_config_names_the_baseline_and_report_ignored_lists_baselined_findings() {
    let dir = TempDir::new().expect("tempdir");
    write(
        dir.path(),
        ".keyward.yaml",
        "baseline: security/baseline.json\n",
    );
    write(dir.path(), "a.py", format!("A = '{T1}'\n"));
    std::fs::create_dir_all(dir.path().join("security")).expect("mkdir");
    let out = keyward(dir.path(), &["baseline", "create"]);
    assert!(
        out.stderr.contains("security/baseline.json"),
        "{}",
        out.stderr
    );
    let (code, found) = findings(dir.path(), &[]);
    assert_eq!((code, found.len()), (0, 0));

    let out = keyward(
        dir.path(),
        &["scan", "-q", "--format", "json", "--report-ignored", "."],
    );
    let doc = out.json();
    let ignored = doc["ignored"].as_array().expect("ignored");
    assert_eq!(ignored.len(), 1);
    assert_eq!(ignored[0]["ignored_by"]["kind"], "baseline");
    assert_eq!(doc["stats"]["suppressed"]["baseline"], 1);
}

#[test]
fn a_missing_or_malformed_baseline_is_an_error_naming_the_file() {
    let dir = TempDir::new().expect("tempdir");
    write(dir.path(), "a.py", format!("A = '{T1}'\n"));
    let out = keyward(dir.path(), &["scan", "--baseline", "nope.json", "."]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("nope.json"), "{}", out.stderr);
    write(
        dir.path(),
        "bad.json",
        "{\"keyward_baseline\": 1, \"entries\": [{\"path\": 3}]}",
    );
    let out = keyward(dir.path(), &["scan", "--baseline", "bad.json", "."]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("bad.json:1:"), "{}", out.stderr);
}

#[test]
fn a_baseline_from_a_history_report_silences_history_findings() {
    let repo = Repo::new();
    repo.write("old.txt", &format!("{T1}\n"));
    repo.commit("old secret");
    let out = keyward(
        repo.path(),
        &[
            "history",
            "-q",
            "--format",
            "json",
            "-o",
            "report.json",
            ".",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let out = keyward(
        repo.path(),
        &["baseline", "create", "--from-report", "report.json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = keyward(
        repo.path(),
        &["history", "-q", "--baseline", ".keyward-baseline.json", "."],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);

    repo.write("new.txt", &format!("{T2}\n"));
    repo.commit("new secret");
    let out = keyward(
        repo.path(),
        &[
            "history",
            "-q",
            "--format",
            "json",
            "--show-secrets",
            "--baseline",
            ".keyward-baseline.json",
            ".",
        ],
    );
    assert_eq!(out.code, 1);
    assert_eq!(
        secrets(out.json()["findings"].as_array().expect("findings")),
        vec![T2]
    );
}
