//! Unconfidential clients end to end: exposure, severity, remediation, decoding, JWTs and the
//! OAuth hygiene checks, through the built binary.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// A Google OAuth client secret of the current format (random).
const GOOGLE: &str = "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";
/// A Slack bot token (random).
const SLACK: &str = "xoxb-263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1";

fn write(dir: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, content).expect("write");
}

fn findings(root: &Path, extra: &[&str]) -> Vec<Value> {
    let out = Command::cargo_bin("keyward")
        .expect("binary")
        .args(["scan", "--format", "json", "--show-secrets", "-q"])
        .args(extra)
        .arg(root)
        .output()
        .expect("run");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json report");
    doc["findings"].as_array().cloned().unwrap_or_default()
}

fn at<'a>(findings: &'a [Value], path: &str) -> &'a Value {
    findings
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("no finding in {path}: {findings:#?}"))
}

/// A small monorepo: a React frontend, an Android app, an Electron app, a backend.
fn monorepo() -> TempDir {
    let dir = TempDir::new().expect("tempdir");
    let d = dir.path();
    write(
        d,
        "web/package.json",
        r#"{"dependencies": {"react": "^18.3.1", "vite": "^5"}}"#,
    );
    write(
        d,
        "web/src/auth/config.ts",
        format!("export const googleClientSecret = '{GOOGLE}';\n"),
    );
    write(
        d,
        "web/src/auth/config.test.ts",
        format!("const secret = '{GOOGLE}';\n"),
    );
    write(
        d,
        "web/.env",
        format!("VITE_SLACK_TOKEN={SLACK}\nSLACK_SIGNING={SLACK}\n"),
    );
    write(
        d,
        "android/app/src/main/AndroidManifest.xml",
        "<manifest/>\n",
    );
    write(
        d,
        "android/app/src/main/res/values/strings.xml",
        format!(
            "<resources>\n  <string name=\"google_client_secret\">{GOOGLE}</string>\n</resources>\n"
        ),
    );
    write(
        d,
        "android/local.properties",
        format!("slack.token={SLACK}\n"),
    );
    write(
        d,
        "desktop/package.json",
        r#"{"devDependencies": {"electron": "^31"}}"#,
    );
    write(
        d,
        "desktop/src/main.js",
        format!("const SLACK_TOKEN = '{SLACK}';\n"),
    );
    write(
        d,
        "api/app/settings.py",
        format!("GOOGLE_CLIENT_SECRET = '{GOOGLE}'\n"),
    );
    dir
}

#[test]
fn client_code_is_critical_with_its_exposure_and_reason() {
    let dir = monorepo();
    let f = findings(dir.path(), &[]);
    for (path, exposure) in [
        ("web/src/auth/config.ts", "web-frontend"),
        ("web/.env", "web-frontend"),
        ("android/app/src/main/res/values/strings.xml", "mobile"),
        ("android/local.properties", "mobile"),
        ("desktop/src/main.js", "desktop"),
    ] {
        let x = at(&f, path);
        assert_eq!(x["exposure"], exposure, "{path}: {x:#}");
        assert_eq!(x["severity"], "critical", "{path}: {x:#}");
        let why = x["severity_reason"].as_str().unwrap_or_default();
        assert!(
            why.contains("anyone who downloads the app"),
            "{path}: {why}"
        );
    }
    // The same secret on a server is not critical, and the Google note says why PKCE.
    let backend = at(&f, "api/app/settings.py");
    assert_eq!(backend["exposure"], "backend");
    assert_eq!(backend["severity"], "high");
    let web = at(&f, "web/src/auth/config.ts");
    assert!(
        web["severity_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("PKCE"),
        "{web:#}"
    );
    // Test code is lowered, not dropped.
    let test = at(&f, "web/src/auth/config.test.ts");
    assert_eq!(
        (test["exposure"].as_str(), test["severity"].as_str()),
        (Some("test"), Some("medium"))
    );
}

#[test]
fn env_variables_are_classified_one_by_one() {
    let dir = monorepo();
    let f = findings(dir.path(), &[]);
    let env: Vec<&Value> = f.iter().filter(|x| x["path"] == "web/.env").collect();
    assert_eq!(env.len(), 2, "{env:#?}");
    let line = |n: u64| {
        env.iter()
            .find(|x| x["line"] == n)
            .expect("finding on line")
    };
    assert_eq!(
        line(1)["exposure"],
        "web-frontend",
        "VITE_ variables are bundled"
    );
    assert_eq!(
        line(2)["exposure"],
        "backend",
        "a variable without a public prefix is not"
    );
}

#[test]
fn remediation_follows_the_playbook() {
    let dir = monorepo();
    let f = findings(dir.path(), &[]);
    let web = at(&f, "web/src/auth/config.ts")["remediation"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(web.to_lowercase().contains("delete"), "{web}");
    assert!(web.contains("PKCE"), "client code advice: {web}");
    assert!(web.contains("regularly"), "{web}");
    let backend = at(&f, "api/app/settings.py")["remediation"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        !backend.contains("public client"),
        "no client-code advice on a server: {backend}"
    );
    let slack = at(&f, "desktop/src/main.js")["remediation"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(slack.to_lowercase().contains("revoke"), "{slack}");
}

#[test]
fn any_client_secret_literal_counts_in_client_code_only() {
    let dir = TempDir::new().expect("tempdir");
    let d = dir.path();
    write(d, "web/package.json", r#"{"dependencies": {"vue": "^3"}}"#);
    // Low entropy, a UUID, base64 ciphertext: all reported in client code…
    write(d, "web/src/a.js", "const clientSecret = 'frogpond';\n");
    write(
        d,
        "web/src/b.js",
        "const clientSecret = 'd9e874c9-abef-421a-8f7e-24bfb5317a02';\n",
    );
    write(
        d,
        "web/src/c.js",
        "const oauthClientSecret = 'U2FsdGVkX1+AbCdEf==';\n",
    );
    // …but not on a server, and a bare UUID with no such name is nothing anywhere.
    write(d, "server/app.py", "client_secret = 'frogpond'\n");
    write(
        d,
        "web/src/d.js",
        "const requestId = 'd9e874c9-abef-421a-8f7e-24bfb5317a02';\n",
    );
    let f = findings(d, &[]);
    for p in ["web/src/a.js", "web/src/b.js", "web/src/c.js"] {
        assert_eq!(at(&f, p)["severity"], "critical", "{p}");
    }
    assert!(
        !f.iter()
            .any(|x| x["path"] == "server/app.py" || x["path"] == "web/src/d.js"),
        "{f:#?}"
    );
}

#[test]
fn encoded_secrets_are_found_and_located() {
    let dir = TempDir::new().expect("tempdir");
    let b64 = "eG94Yi0yNjM1OTQyMDY1NjQtMjM0MzU5NDIwNjU3NC1GR3FkZE1GOHQwOHY4TjdPcTRpNTd2czE=";
    write(
        dir.path(),
        "k8s/secret.yaml",
        format!("apiVersion: v1\nkind: Secret\ndata:\n  SLACK: {b64}\n"),
    );
    write(
        dir.path(),
        "web/index.html",
        "<a href=\"https://x.example/?t=xoxb%2D263594206564%2D2343594206574%2DFGqddMF8t08v8N7Oq4i57vs1\">x</a>\n",
    );
    let f = findings(dir.path(), &[]);
    let k = at(&f, "k8s/secret.yaml");
    assert_eq!(
        (
            k["rule"].as_str(),
            k["encoding"].as_str(),
            k["line"].as_u64()
        ),
        (Some("slack-bot-token"), Some("base64"), Some(4))
    );
    assert_eq!(k["secret"], SLACK);
    let h = at(&f, "web/index.html");
    assert_eq!(
        (h["rule"].as_str(), h["encoding"].as_str()),
        (Some("slack-bot-token"), Some("percent"))
    );
    // --no-decode turns it off.
    let plain = findings(dir.path(), &["--no-decode"]);
    assert!(
        !plain.iter().any(|x| x["rule"] == "slack-bot-token"),
        "{plain:#?}"
    );
}

#[test]
fn jwts_are_decoded_and_expired_ones_lowered() {
    // {"alg":"HS256","typ":"JWT"} . {"sub":"42","scope":"admin","exp":1000000000} . sig
    let expired = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsInNjb3BlIjoiYWRtaW4iLCJleHAiOjEwMDAwMDAwMDB9.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU";
    // {"alg":"none"} . {"sub":"42"} .
    let unsigned =
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiI0MiIsImlzcyI6Imh0dHBzOi8vaWQuZXhhbXBsZS5jb20ifQ.";
    let dir = TempDir::new().expect("tempdir");
    write(
        dir.path(),
        "a/expired.txt",
        format!("Authorization: Bearer {expired}\n"),
    );
    write(dir.path(), "b/unsigned.txt", format!("token: {unsigned}\n"));
    let f = findings(dir.path(), &[]);
    let e = at(&f, "a/expired.txt");
    assert_eq!(e["jwt"]["alg"], "HS256", "{e:#}");
    assert_eq!(e["jwt"]["expired"], true);
    assert_eq!(e["jwt"]["kind"], "access");
    assert!(
        e["severity_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("expired"),
        "{e:#}"
    );
    let u = at(&f, "b/unsigned.txt");
    let warnings = u["jwt"]["warnings"].to_string();
    assert!(
        warnings.contains("alg none") && warnings.contains("no expiry"),
        "{u:#}"
    );
}

#[test]
fn hygiene_checks_are_opt_in() {
    let dir = TempDir::new().expect("tempdir");
    write(
        dir.path(),
        "web/package.json",
        r#"{"dependencies": {"react": "^18"}}"#,
    );
    write(
        dir.path(),
        "web/src/login.js",
        "const u = `${base}/authorize?client_id=${id}&response_type=token`;\nlocalStorage.setItem('access_token', t);\n",
    );
    assert!(findings(dir.path(), &[]).is_empty());
    let f = findings(dir.path(), &["--hygiene"]);
    let rules: Vec<&str> = f.iter().filter_map(|x| x["rule"].as_str()).collect();
    assert!(
        rules.contains(&"oauth-implicit-grant") && rules.contains(&"oauth-token-in-web-storage"),
        "{rules:?}"
    );
    assert!(f.iter().all(|x| x["category"] == "oauth-hygiene"));
}

#[test]
fn the_text_report_ends_with_an_incident_summary() {
    let dir = monorepo();
    let out = Command::cargo_bin("keyward")
        .expect("binary")
        .args(["scan", "--color", "never"])
        .arg(dir.path())
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = text
        .split("Incident summary")
        .nth(1)
        .unwrap_or_else(|| panic!("no summary:\n{text}"));
    assert!(
        summary.contains("client credentials") && summary.contains("Google:"),
        "{summary}"
    );
    assert!(
        summary.contains("Revoke these tokens") && summary.contains("Slack:"),
        "{summary}"
    );
    assert!(summary.contains("PKCE"), "{summary}");
    assert!(!text.contains(GOOGLE) && !text.contains(SLACK), "redacted");
}
