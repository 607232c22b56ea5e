//! The no-leak guarantee: known secrets of several kinds are planted in a real repository
//! (committed, in the work tree and staged), every command and report format runs over them,
//! and no standard output, standard error or report file may hold any of them, nor any long
//! piece of one, unless `--show-secrets` was given. With it, they must appear: the check
//! below is the one that would catch a leak.

mod hook_support;

use std::path::Path;

use hook_support::{Fixture, Output, T1, T3};

/// A Slack bot token, an AWS access key id and a Stripe live key (random, not live).
const SLACK: &str = "xoxb-263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1";
const AWS: &str = "AKIAZ7QR4MXKD2PLW6NB";
const STRIPE: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc9Zx2Lm";
/// `T3`, base64-encoded, as a Kubernetes Secret holds it.
const T3_BASE64: &str = "Z2hwX214Z0pUZUtkTm5GUklCWHVETDdEeHRwWWxTWHBmSzBJWVllaw==";
/// A JWT: {"alg":"HS256","typ":"JWT"} . {"sub":"svc-7f3a","scope":"admin","exp":4102444800} . sig
const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdmMtN2YzYSIsInNjb3BlIjoiYWRtaW4iLCJleHAiOjQxMDI0NDQ4MDB9.Qm9Z3kWv1xT8pLrN2sYcHdGfJaUeRiOb5nMq7tXwVzA";

/// The secrets as the scanner reports them (the base64 one decoded).
const FOUND: [&str; 6] = [T1, SLACK, AWS, STRIPE, T3, JWT];

/// How long a piece of a secret may not appear anywhere. Redaction shows at most four
/// characters; the JWT's header (`eyJhbGciOiJIUzI1NiIs…`) is the same in every HS256 token,
/// so only its claims and signature count.
const PIECE: usize = 10;

/// Every `PIECE`-long window of every planted secret (and of the encoded forms).
fn pieces() -> Vec<&'static str> {
    let jwt_body = &JWT[JWT.find('.').expect("a JWT") + 1..];
    let mut out = Vec::new();
    for s in [T1, SLACK, AWS, STRIPE, T3, T3_BASE64, jwt_body] {
        for i in 0..=s.len() - PIECE {
            out.push(&s[i..i + PIECE]);
        }
    }
    out
}

/// Panics when `text` holds a piece of a planted secret.
fn assert_clean(what: &str, text: &str) {
    for piece in pieces() {
        assert!(!text.contains(piece), "{what} leaks {piece:?}:\n{text}");
    }
}

/// Panics unless the run printed something and leaked nothing.
fn check(what: &str, out: &Output) {
    assert!(
        !out.stderr.contains("panicked"),
        "{what} panicked:\n{}",
        out.stderr
    );
    assert_clean(&format!("{what} (stdout)"), &out.stdout);
    assert_clean(&format!("{what} (stderr)"), &out.stderr);
}

/// A report file: owner-only, and clean.
fn check_file(what: &str, path: &Path) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(!text.is_empty(), "{what}: empty report");
    assert_clean(what, &text);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{what}: report files may hold secrets");
    }
}

/// A repository with the secrets committed (one of them only in history), pushed once
/// clean, with more staged, and a pre-push hook installed.
fn planted() -> Fixture {
    let f = Fixture::pushed();
    f.write("src/settings.py", &format!("TOKEN = '{T1}'\n"));
    f.write(
        ".env",
        &format!("SLACK_BOT={SLACK}\nAWS_ACCESS_KEY_ID={AWS}\nSTRIPE={STRIPE}\n"),
    );
    f.write(
        "deploy/secret.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: gh\ndata:\n  token: {T3_BASE64}\n"
        ),
    );
    f.write("web/client.js", &format!("const auth = 'Bearer {JWT}';\n"));
    f.write("old/legacy.py", &format!("OLD = '{STRIPE}'\n"));
    f.commit("add settings");
    f.remove("old/legacy.py");
    f.commit("drop legacy");
    // Staged, for the pre-commit hook.
    f.write("src/staged.py", &format!("T = '{T1}'\nS = '{SLACK}'\n"));
    f.git(&["add", "src/staged.py"]);
    f
}

/// Every format of `scan` and `history`, to standard output and to a file, verbose and with
/// suppressed findings listed.
#[test]
fn scan_and_history_leak_nothing_in_any_format() {
    let f = planted();
    let reports = tempfile::TempDir::new().expect("temp dir");
    for command in ["scan", "history"] {
        for format in ["text", "json", "jsonl", "sarif"] {
            let what = format!("{command} -f {format}");
            let out = f.keyward(&[command, "-f", format, "--color", "always", "."]);
            assert_eq!(out.code, Some(1), "{what}: {}", out.stderr);
            check(&what, &out);
            let out = f.keyward(&[command, "-f", format, "-v", "--report-ignored", "."]);
            assert_eq!(out.code, Some(1), "{what} -v: {}", out.stderr);
            check(&format!("{what} -v --report-ignored"), &out);

            let file = reports.path().join(format!("{command}.{format}"));
            // An existing, world-readable file is narrowed to its owner too.
            std::fs::write(&file, "old").expect("write");
            let out = f.keyward(&[
                command,
                "-f",
                format,
                "-o",
                file.to_str().expect("utf-8"),
                ".",
            ]);
            assert_eq!(out.code, Some(1), "{what} -o: {}", out.stderr);
            check(&format!("{what} -o"), &out);
            check_file(&format!("{what} -o FILE"), &file);
        }
    }
    // Standard input.
    let out = f.keyward_stdin(
        &["scan", "-f", "json", "-"],
        &format!("a = {T1}\nb = {JWT}\n"),
        &[],
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    check("scan -", &out);
}

#[test]
fn hooks_leak_nothing() {
    let f = planted();
    let out = f.keyward(&["hook", "pre-commit"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    check("hook pre-commit", &out);
    let out = f.keyward(&["hook", "pre-commit", "-v"]);
    check("hook pre-commit -v", &out);

    // The real thing: git runs the installed pre-push hook, which blocks the push.
    f.git(&["commit", "-q", "-m", "staged"]);
    let out = f.push(&["origin", "main"]);
    assert!(!out.ok, "the push went through");
    assert!(out.stderr.contains("push blocked"), "{}", out.stderr);
    check("git push (pre-push hook)", &out);
    let line = format!(
        "refs/heads/main {} refs/heads/main {}\n",
        f.rev("HEAD"),
        f.remote_ref("refs/heads/main")
    );
    let out = f.keyward_stdin(&["hook", "pre-push", "-v", "origin", "x"], &line, &[]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    check("hook pre-push -v", &out);
}

/// The baseline holds fingerprints (hashes), never secrets; it is meant to be committed, so
/// it keeps the usual file mode.
#[test]
fn baselines_leak_nothing() {
    let f = planted();
    let out = f.keyward(&["baseline", "create", "-o", "base.json", "."]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    check("baseline create", &out);
    let out = f.keyward(&["history", "-f", "json", "-o", "history.json", "."]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let out = f.keyward(&[
        "baseline",
        "create",
        "--from-report",
        "history.json",
        "-o",
        "from-history.json",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    check("baseline create --from-report", &out);
    f.remove(".env");
    let out = f.keyward(&["baseline", "prune", "--baseline", "base.json", "."]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    check("baseline prune", &out);
    for file in ["base.json", "from-history.json"] {
        let text = std::fs::read_to_string(f.path().join(file)).expect("baseline");
        assert!(text.contains("fingerprint"), "{text}");
        assert_clean(file, &text);
    }
}

#[test]
fn errors_leak_nothing() {
    let f = planted();
    // A rule file that does not load, with a secret among its examples.
    f.write(
        "rules/bad.yaml",
        &format!(
            "rules:\n  - id: mine\n    name: M\n    category: api_key\n    keywords: [xoxb]\n    pattern: '(xoxb-[0-9-]+'\n    examples: ['{SLACK}']\n"
        ),
    );
    f.write(
        "rules/torn.yaml",
        &format!("rules:\n  - id: t\n    examples: ['{T1}\n"),
    );
    for file in ["rules/bad.yaml", "rules/torn.yaml"] {
        for command in ["scan", "history"] {
            let out = f.keyward(&[command, "--rules", file, "."]);
            assert_eq!(
                out.code,
                Some(2),
                "{command} --rules {file}: {}",
                out.stderr
            );
            assert!(out.stderr.contains(file), "{}", out.stderr);
            check(&format!("{command} --rules {file}"), &out);
        }
    }
    // A config whose allowlist regex, which holds a secret, does not compile; and a config
    // that is not YAML.
    f.write(
        "bad-config.yaml",
        &format!("allowlist:\n  secrets: ['{STRIPE}(']\n"),
    );
    f.write(
        "torn-config.yaml",
        &format!("allowlist:\n  secrets: ['{AWS}\n"),
    );
    for file in ["bad-config.yaml", "torn-config.yaml"] {
        for command in ["scan", "history"] {
            let out = f.keyward(&[command, "--config", file, "."]);
            assert_eq!(
                out.code,
                Some(2),
                "{command} --config {file}: {}",
                out.stderr
            );
            assert!(out.stderr.contains(file), "{}", out.stderr);
            check(&format!("{command} --config {file}"), &out);
        }
        let out = f.keyward(&["hook", "pre-commit", "--config", file]);
        check(&format!("hook pre-commit --config {file}"), &out);
    }

    // A loose object replaced by plain text that holds a secret (git writes them
    // zlib-compressed, so keyward must not print what it could not inflate).
    let blob = f.git(&["rev-parse", "HEAD:src/settings.py"]);
    let object = f
        .path()
        .join(".git/objects")
        .join(&blob[..2])
        .join(&blob[2..]);
    let _ = std::fs::remove_file(&object);
    std::fs::write(&object, format!("blob 99\0{SLACK} {T1}\n")).expect("corrupt");
    for format in ["text", "json", "sarif"] {
        let out = f.keyward(&["history", "-f", format, "-v", "."]);
        assert!(
            out.code == Some(1) || out.code == Some(2),
            "history on a corrupt object: {:?}\n{}",
            out.code,
            out.stderr
        );
        check(&format!("history -f {format} (corrupt object)"), &out);
    }
    let out = f.keyward(&["hook", "pre-commit", "-v"]);
    check("hook pre-commit (corrupt object)", &out);
}

/// The other side: with `--show-secrets` every planted secret is printed, so the checks
/// above look at output that would hold them.
#[test]
fn show_secrets_shows_them() {
    let f = planted();
    let contains_all = |what: &str, text: &str| {
        for s in FOUND {
            assert!(text.contains(s), "{what} does not show {s}:\n{text}");
        }
    };
    for format in ["text", "json", "jsonl", "sarif"] {
        let out = f.keyward(&["scan", "-f", format, "--show-secrets", "."]);
        contains_all(&format!("scan -f {format} --show-secrets"), &out.stdout);
        let out = f.keyward(&["history", "-f", format, "--show-secrets", "."]);
        contains_all(&format!("history -f {format} --show-secrets"), &out.stdout);
    }
    let out = f.keyward(&["hook", "pre-commit", "--show-secrets"]);
    assert!(
        out.stderr.contains(T1) && out.stderr.contains(SLACK),
        "{}",
        out.stderr
    );
    f.git(&["commit", "-q", "-m", "staged"]);
    let line = format!(
        "refs/heads/main {} refs/heads/main {}\n",
        f.rev("HEAD"),
        f.remote_ref("refs/heads/main")
    );
    let out = f.keyward_stdin(
        &["hook", "pre-push", "--show-secrets", "origin", "x"],
        &line,
        &[],
    );
    contains_all("hook pre-push --show-secrets", &out.stderr);
}
