//! `keyward scan` end to end, through the built binary.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use tempfile::TempDir;

/// A GitHub classic token with a valid checksum (random, not a live credential).
const GITHUB: &str = "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";
/// A Slack bot token (random).
const SLACK: &str = "xoxb-263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1";

fn keyward() -> Command {
    Command::cargo_bin("keyward").expect("binary")
}

fn write(dir: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, content).expect("write");
}

fn stdout_of(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("run");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn exit_codes_clean_findings_error() {
    let dir = TempDir::new().expect("tempdir");
    write(dir.path(), "clean/readme.md", "nothing secret here\n");
    write(dir.path(), "dirty/.env", format!("GITHUB_TOKEN={GITHUB}\n"));

    keyward()
        .args(["scan"])
        .arg(dir.path().join("clean"))
        .assert()
        .code(0);
    keyward()
        .args(["scan"])
        .arg(dir.path().join("dirty"))
        .assert()
        .code(1);
    let (code, _, err) = stdout_of(keyward().args(["scan"]).arg(dir.path().join("missing")));
    assert_eq!(code, 2);
    assert!(err.contains("missing"), "{err}");
}

#[test]
fn findings_name_path_line_column_and_rule() {
    let dir = TempDir::new().expect("tempdir");
    write(
        dir.path(),
        "src/config.py",
        format!("# settings\n\nTOKEN = '{GITHUB}'\n"),
    );
    let (code, out, _) = stdout_of(keyward().args(["scan", "--color", "never"]).arg(dir.path()));
    assert_eq!(code, 1);
    assert!(
        out.starts_with(
            "src/config.py (1 finding)\n  src/config.py:3:10  github-pat-classic  high  ghp_…"
        ),
        "{out}"
    );
}

#[test]
fn secrets_are_redacted_in_every_format_unless_asked() {
    let dir = TempDir::new().expect("tempdir");
    write(
        dir.path(),
        "a.env",
        format!("GITHUB_TOKEN={GITHUB}\nSLACK={SLACK}\n"),
    );
    for format in ["text", "json", "jsonl"] {
        let (code, out, err) = stdout_of(
            keyward()
                .args(["scan", "-v", "--format", format])
                .arg(dir.path()),
        );
        assert_eq!(code, 1);
        for secret in [GITHUB, SLACK] {
            assert!(
                !out.contains(secret) && !err.contains(secret),
                "{format} leaks {secret}"
            );
            // Not even a long prefix: at most a quarter, at most 4 characters.
            assert!(
                !out.contains(&secret[..8]),
                "{format} shows too much of {secret}"
            );
        }
        let (_, shown, _) = stdout_of(
            keyward()
                .args(["scan", "--show-secrets", "--format", format])
                .arg(dir.path()),
        );
        assert!(
            shown.contains(GITHUB) && shown.contains(SLACK),
            "{format} --show-secrets: {shown}"
        );
    }
}

#[test]
fn json_report_has_the_schema_and_stats() {
    let dir = TempDir::new().expect("tempdir");
    write(dir.path(), "web/.env", format!("GITHUB_TOKEN={GITHUB}\n"));
    let report = dir.path().join("report.json");
    keyward()
        .args(["scan", "--format", "json", "--output"])
        .arg(&report)
        .arg(dir.path().join("web"))
        .assert()
        .code(1);
    let doc: serde_json::Value =
        serde_json::from_slice(&fs::read(&report).expect("report")).expect("json");
    let f = &doc["findings"][0];
    for key in [
        "rule",
        "name",
        "category",
        "severity",
        "path",
        "line",
        "column",
        "secret",
        "fingerprint",
    ] {
        assert!(!f[key].is_null(), "missing {key}: {f}");
    }
    assert_eq!(f["path"], ".env");
    assert_eq!(f["secret"], "ghp_…");
    assert_eq!(doc["stats"]["files_scanned"], 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&report)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "report files may hold secrets");
    }
}

#[test]
fn fingerprint_survives_lines_inserted_above() {
    let dir = TempDir::new().expect("tempdir");
    let fp = |content: String| {
        write(dir.path(), "app.env", content);
        let (_, out, _) = stdout_of(
            keyward()
                .args(["scan", "--format", "jsonl"])
                .arg(dir.path()),
        );
        let v: serde_json::Value =
            serde_json::from_str(out.lines().next().expect("a finding")).expect("json");
        (
            v["fingerprint"].as_str().expect("fingerprint").to_string(),
            v["line"].as_u64(),
        )
    };
    let (a, line_a) = fp(format!("T={GITHUB}\n"));
    let (b, line_b) = fp(format!("# one\n# two\nT={GITHUB}\n"));
    assert_eq!(a, b);
    assert_ne!(line_a, line_b);
}

#[test]
fn stdin_is_scanned() {
    let (code, out, _) = stdout_of(
        keyward()
            .args(["scan", "-", "--color", "never"])
            .write_stdin(format!("x = '{SLACK}'\n")),
    );
    assert_eq!(code, 1);
    assert!(out.contains("\n  -:1:6  slack-bot-token"), "{out}");
    keyward()
        .args(["scan", "-"])
        .write_stdin("nothing here\n")
        .assert()
        .code(0);
}

#[test]
fn binary_large_and_unreadable_files_are_skipped_and_counted() {
    let dir = TempDir::new().expect("tempdir");
    let mut binary = format!("GITHUB_TOKEN={GITHUB}\n").into_bytes();
    binary.insert(3, 0);
    write(dir.path(), "image.bin", binary);
    write(
        dir.path(),
        "big.txt",
        format!("{}\nGITHUB_TOKEN={GITHUB}\n", "x".repeat(4096)),
    );
    write(dir.path(), "latin1.txt", b"caf\xe9 ok\n");
    let (code, _, err) = stdout_of(
        keyward()
            .args([
                "scan",
                "-v",
                "--format",
                "json",
                "--max-file-size",
                "1KiB",
                "-o",
            ])
            .arg(dir.path().join("r.json"))
            .arg(dir.path()),
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("skipped (binary): image.bin"), "{err}");
    assert!(err.contains("skipped (too_large): big.txt"), "{err}");
    let doc: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("r.json")).expect("r")).expect("json");
    assert_eq!(doc["stats"]["skipped"]["binary"], 1);
    assert_eq!(doc["stats"]["skipped"]["too_large"], 1);
    assert_eq!(
        doc["stats"]["files_non_utf8"], 1,
        "non-UTF-8 text is scanned as bytes and counted"
    );

    #[cfg(unix)]
    {
        // Symlinks are not followed by default; with --follow a loop and a dangling link are
        // skipped and counted, never fatal.
        std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).expect("symlink");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("dangling"))
            .expect("symlink");
        let (code, _, err) = stdout_of(
            keyward()
                .args(["scan", "-v", "--follow", "--max-file-size", "1KiB"])
                .arg(dir.path()),
        );
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("symlink_loop"), "{err}");
        assert!(err.contains("broken_symlink"), "{err}");

        use std::os::unix::fs::PermissionsExt;
        let locked = dir.path().join("locked.env");
        fs::write(&locked, format!("T={GITHUB}\n")).expect("write");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).expect("chmod");
        if fs::read(&locked).is_err() {
            let (code, _, err) = stdout_of(
                keyward()
                    .args(["scan", "-v", "--max-file-size", "1KiB"])
                    .arg(dir.path()),
            );
            assert_eq!(code, 0, "{err}");
            assert!(err.contains("skipped (unreadable): locked.env"), "{err}");
        } else {
            // Running as root: permissions do not stop reads, so the file is scanned.
            keyward()
                .args(["scan", "--max-file-size", "1KiB"])
                .arg(&locked)
                .assert()
                .code(1);
        }
    }
}

#[test]
fn git_dir_is_skipped_and_gitignore_is_opt_in() {
    let dir = TempDir::new().expect("tempdir");
    write(dir.path(), ".git/config", format!("token = {GITHUB}\n"));
    write(dir.path(), ".gitignore", "ignored.env\n");
    write(dir.path(), "ignored.env", format!("T={GITHUB}\n"));
    let (_, out, _) = stdout_of(keyward().args(["scan", "--color", "never"]).arg(dir.path()));
    assert!(
        out.contains("ignored.env") && !out.contains(".git/config"),
        "{out}"
    );
    keyward()
        .args(["scan", "--gitignore"])
        .arg(dir.path())
        .assert()
        .code(0);
}

#[test]
fn lock_files_get_no_generic_findings() {
    let dir = TempDir::new().expect("tempdir");
    let line = "  \"password\": \"Tq8kLz2Wp7xR4vN9\",\n";
    write(dir.path(), "package-lock.json", line);
    write(dir.path(), "settings.json", line);
    let (_, out, _) = stdout_of(keyward().args(["scan", "--color", "never"]).arg(dir.path()));
    assert!(
        out.contains("settings.json") && !out.contains("package-lock.json"),
        "{out}"
    );
}

#[test]
fn user_rules_extend_and_replace_builtins() {
    let dir = TempDir::new().expect("tempdir");
    write(
        dir.path(),
        "rules/acme.yaml",
        "rules:\n  - id: acme-key\n    name: ACME key\n    category: api_key\n    keywords: [acme_]\n    pattern: '\\b(acme_[a-z0-9]{16})\\b'\n",
    );
    write(
        dir.path(),
        "src/a.txt",
        format!("k = acme_q8w2e7r4t1y6u3i9\nt = {GITHUB}\n"),
    );
    let rules = dir.path().join("rules");
    let (code, out, _) = stdout_of(
        keyward()
            .args(["scan", "--color", "never", "--rules"])
            .arg(&rules)
            .arg(dir.path().join("src")),
    );
    assert_eq!(code, 1);
    assert!(
        out.contains("acme-key") && out.contains("github-pat-classic"),
        "{out}"
    );
    let (_, out, _) = stdout_of(
        keyward()
            .args(["scan", "--color", "never", "--no-builtin", "--rules"])
            .arg(&rules)
            .arg(dir.path().join("src")),
    );
    assert!(
        out.contains("acme-key") && !out.contains("github-pat-classic"),
        "{out}"
    );
}

#[test]
fn a_malformed_rule_file_names_file_line_and_rule() {
    let dir = TempDir::new().expect("tempdir");
    write(
        dir.path(),
        "rules/bad.yaml",
        "rules:\n  - id: good\n    name: Good\n    category: api_key\n    keywords: [good_]\n    pattern: 'good_([a-z]{8})'\n  - id: broken\n    name: Broken\n    category: api_key\n    keywords: [brk_]\n    pattern: 'brk_([a-z]{8}'\n",
    );
    let rules = dir.path().join("rules");
    let (code, _, err) = stdout_of(
        keyward()
            .args(["scan", "--rules"])
            .arg(&rules)
            .arg(dir.path()),
    );
    assert_eq!(code, 2);
    assert!(err.contains("bad.yaml:7: rule broken: pattern:"), "{err}");
    let (code, _, err) = stdout_of(keyward().args(["rules", "check"]).arg(&rules));
    assert_eq!(code, 2);
    assert!(err.contains("bad.yaml:7: rule broken: pattern:"), "{err}");

    write(
        dir.path(),
        "rules/bad.yaml",
        "rules:\n  - id: x\n    nmae: typo\n",
    );
    let (code, _, err) = stdout_of(keyward().args(["rules", "check"]).arg(&rules));
    assert_eq!(code, 2);
    assert!(err.contains("bad.yaml:3:") && err.contains("nmae"), "{err}");
}

#[test]
fn rules_check_runs_examples() {
    let dir = TempDir::new().expect("tempdir");
    write(
        dir.path(),
        "r.yaml",
        "rules:\n  - id: acme\n    name: ACME\n    category: api_key\n    keywords: [acme_]\n    pattern: '\\b(acme_[a-z0-9]{16})\\b'\n    examples: ['k = acme_q8w2e7r4t1y6u3i9', 'k = acme_short']\n    negative_examples: ['k = acme_z8x2c7v4b1n6m3k9']\n",
    );
    let (code, _, err) = stdout_of(
        keyward()
            .args(["rules", "check"])
            .arg(dir.path().join("r.yaml")),
    );
    assert_eq!(code, 2);
    assert!(err.contains("rule acme: example 2 is not matched"), "{err}");
    assert!(
        err.contains("rule acme: negative example 1 is matched"),
        "{err}"
    );
    keyward().args(["rules", "check"]).assert().code(0);
    let (code, out, _) = stdout_of(keyward().args(["rules", "list"]));
    assert_eq!(code, 0);
    assert!(
        out.lines().count() >= 200,
        "{} rules listed",
        out.lines().count()
    );
}
