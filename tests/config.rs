//! `.keyward.yaml` end to end, thresholds, `--exit-code`, completions and the man page.

mod support;

use serde_json::Value;
use support::{Repo, SLACK, T1, T2, T3, keyward, write};
use tempfile::TempDir;

fn reported(out: &support::Output) -> Vec<String> {
    out.json()["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["secret"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_config_at_the_repository_root_applies_to_a_scan_of_a_subfolder() {
    let repo = Repo::new();
    repo.write(
        ".keyward.yaml",
        "allowlist:\n  paths: ['fixtures/**']\n  secrets: ['^ghp_oOOL']\nstopwords: [NOTREAL]\n",
    );
    repo.write("web/fixtures/a.env", &format!("A={T1}\n"));
    repo.write("web/src/b.env", &format!("B={T2}\nC={T3}\n"));
    repo.write(
        "web/src/c.env",
        "D=ghp_notrealnotrealnotrealnotrealnotreal0\n",
    );
    let out = keyward(
        repo.path(),
        &[
            "scan",
            "-q",
            "--format",
            "json",
            "--show-secrets",
            "--report-ignored",
            "web",
        ],
    );
    assert_eq!(reported(&out), vec![T3]);
    let doc = out.json();
    let kinds: Vec<&str> = doc["ignored"]
        .as_array()
        .expect("ignored")
        .iter()
        .filter_map(|i| i["ignored_by"]["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"allowlist_path") && kinds.contains(&"allowlist_secret"),
        "{kinds:?}"
    );

    // --no-config and --config override the discovered file.
    let out = keyward(
        repo.path(),
        &[
            "scan",
            "-q",
            "--format",
            "json",
            "--show-secrets",
            "--no-config",
            "web",
        ],
    );
    assert_eq!(reported(&out).len(), 3, "{}", out.stdout);
    write(repo.path(), "other.yaml", "stopwords: [oOOL8dKL]\n");
    let out = keyward(
        repo.path(),
        &[
            "scan",
            "-q",
            "--format",
            "json",
            "--show-secrets",
            "--config",
            "other.yaml",
            "web",
        ],
    );
    assert_eq!(reported(&out), vec![T1.to_string(), T3.to_string()]);
}

#[test]
fn config_disables_rules_adds_rule_folders_and_sets_format_and_size() {
    let dir = TempDir::new().expect("tempdir");
    write(
        dir.path(),
        ".keyward.yaml",
        "rules:\n  disable: [slack-bot-token]\n  paths: [my-rules]\nformat: jsonl\nmax_file_size: 100\n",
    );
    write(
        dir.path(),
        "my-rules/internal.yaml",
        "rules:\n  - id: acme-internal-key\n    name: ACME internal key\n    category: api_key\n    \
         keywords: [acme_]\n    pattern: '\\b(acme_[a-z0-9]{24})\\b'\n    \
         examples: ['acme_q8w7e6r5t4y3u2i1o9p8a7s6']\n",
    );
    write(
        dir.path(),
        "a.env",
        format!("S={SLACK}\nK=acme_q8w7e6r5t4y3u2i1o9p8a7s6\n"),
    );
    write(
        dir.path(),
        "big.env",
        format!("{}\nT={T1}\n", "#".repeat(200)),
    );
    let out = keyward(dir.path(), &["scan", "-q", "."]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl"))
        .collect();
    let rules: Vec<&str> = lines.iter().filter_map(|f| f["rule"].as_str()).collect();
    assert_eq!(
        rules,
        vec!["acme-internal-key"],
        "slack disabled, big.env over 100 bytes"
    );

    // The command line wins over the config.
    let out = keyward(
        dir.path(),
        &[
            "scan",
            "-q",
            "--format",
            "json",
            "--max-file-size",
            "1MiB",
            ".",
        ],
    );
    let doc = out.json();
    assert!(
        doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["path"] == "big.env")
    );
}

#[test]
fn an_unknown_key_is_an_error_naming_file_line_and_key() {
    let dir = TempDir::new().expect("tempdir");
    write(
        dir.path(),
        ".keyward.yaml",
        "format: text\nallowlist:\n  path: ['x']\n",
    );
    write(dir.path(), "a.env", format!("A={T1}\n"));
    let out = keyward(dir.path(), &["scan", "."]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains(".keyward.yaml:3:3: allowlist: unknown key `path`"),
        "{}",
        out.stderr
    );
    let out = keyward(dir.path(), &["config", "check"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("unknown key `path`"), "{}", out.stderr);
}

#[test]
fn config_check_prints_the_settings() {
    let dir = TempDir::new().expect("tempdir");
    write(
        dir.path(),
        ".keyward.yaml",
        "rules:\n  paths: [rules]\nexposure:\n  - glob: 'apps/desktop/**'\n    exposure: desktop\nbaseline: b.json\nfail_open: true\n",
    );
    let out = keyward(dir.path(), &["config", "check", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    // Relative to the config file.
    let rules = doc["rules"]["paths"][0].as_str().expect("rules path");
    assert!(rules.ends_with("/rules"), "{rules}");
    let baseline = doc["baseline"].as_str().expect("baseline");
    assert!(baseline.ends_with("/b.json"), "{baseline}");
    assert_eq!(doc["exposure"][0]["exposure"], "desktop");
    assert_eq!(doc["fail_open"], true);
}

#[test]
fn thresholds_and_exit_code() {
    let dir = TempDir::new().expect("tempdir");
    // A rule of low severity and low confidence beside a GitHub token (high, high).
    write(dir.path(), ".keyward.yaml", "rules:\n  paths: [rules]\n");
    write(
        dir.path(),
        "rules/weak.yaml",
        "rules:\n  - id: acme-weak\n    name: ACME weak key\n    category: api_key\n    \
         keywords: [acmeweak_]\n    pattern: '\\b(acmeweak_[a-z0-9]{20})\\b'\n    \
         severity: low\n    confidence: low\n",
    );
    write(
        dir.path(),
        "a.py",
        format!("W = 'acmeweak_q8w7e6r5t4y3u2i1o9p8'\nT = '{T1}'\n"),
    );
    let all = keyward(
        dir.path(),
        &["scan", "-q", "--format", "json", "--show-secrets", "."],
    );
    assert_eq!(reported(&all).len(), 2, "{}{}", all.stdout, all.stderr);
    let high = keyward(
        dir.path(),
        &[
            "scan",
            "-q",
            "--format",
            "json",
            "--show-secrets",
            "--min-severity",
            "high",
            ".",
        ],
    );
    assert_eq!(reported(&high), vec![T1]);
    assert_eq!(high.json()["stats"]["suppressed"]["below_min_severity"], 1);
    let sure = keyward(
        dir.path(),
        &[
            "scan",
            "-q",
            "--format",
            "json",
            "--show-secrets",
            "--min-confidence",
            "high",
            ".",
        ],
    );
    assert_eq!(reported(&sure), vec![T1]);

    assert_eq!(
        keyward(dir.path(), &["scan", "-q", "--exit-code", "42", "."]).code,
        42
    );
    assert_eq!(
        keyward(dir.path(), &["scan", "-q", "--exit-code", "0", "."]).code,
        0
    );
    let clean = TempDir::new().expect("tempdir");
    assert_eq!(
        keyward(clean.path(), &["scan", "-q", "--exit-code", "42", "."]).code,
        0
    );
    // Errors keep exit code 2.
    assert_eq!(
        keyward(
            clean.path(),
            &["scan", "-q", "--exit-code", "42", "missing"]
        )
        .code,
        2
    );
}

#[test]
fn completions_and_man_page_come_from_the_clap_definitions() {
    let dir = TempDir::new().expect("tempdir");
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef keyward"),
        ("fish", "complete -c keyward"),
    ] {
        let out = keyward(dir.path(), &["completions", shell]);
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(
            out.stdout.contains(marker),
            "{shell}: {}",
            &out.stdout[..out.stdout.len().min(300)]
        );
        assert!(
            out.stdout.contains("report-ignored"),
            "{shell} completes new options"
        );
    }
    let man = keyward(dir.path(), &["man"]);
    assert_eq!(man.code, 0);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH keyward"),
        "{}",
        &man.stdout[..200]
    );
    assert!(man.stdout.contains("baseline"), "subcommands are listed");
}
