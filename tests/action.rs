//! The GitHub Action's script (hooks/github-action.py), run with fake event payloads against
//! repositories in temporary directories: a bare "origin", a clone where commits are made
//! and pushed, and a checkout like actions/checkout's (often shallow). Nothing leaves the
//! machine: the remote is a local path.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::{SLACK, T1, T2, T3, T4, git, keyward_bin};
use tempfile::TempDir;

const ZERO: &str = "0000000000000000000000000000000000000000";

/// A bare origin and a working clone of it.
struct Origin {
    dir: TempDir,
}

impl Origin {
    fn new() -> Origin {
        let o = Origin {
            dir: TempDir::new().expect("tempdir"),
        };
        git(
            o.dir.path(),
            &["init", "-q", "--bare", "-b", "main", "origin.git"],
        );
        git(o.dir.path(), &["clone", "-q", &o.url(), "work"]);
        o.work_git(&["checkout", "-q", "-b", "main"]);
        o
    }

    fn url(&self) -> String {
        format!("file://{}", self.dir.path().join("origin.git").display())
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn work_git(&self, args: &[&str]) -> String {
        git(&self.work(), args)
    }

    fn write(&self, rel: &str, content: &str) {
        support::write(&self.work(), rel, content);
    }

    /// Commits everything in the work clone; returns the commit id.
    fn commit(&self, message: &str) -> String {
        self.work_git(&["add", "-A"]);
        self.work_git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.work_git(&["rev-parse", "HEAD"])
    }

    fn push(&self, branch: &str) {
        self.work_git(&["push", "-q", "origin", &format!("HEAD:refs/heads/{branch}")]);
    }

    /// A checkout of `branch` as actions/checkout makes it (depth 1 unless `full`).
    fn checkout(&self, name: &str, branch: &str, full: bool) -> PathBuf {
        let mut args = vec!["clone", "-q", "--branch", branch];
        if !full {
            args.extend(["--depth", "1"]);
        }
        let url = self.url();
        args.extend([url.as_str(), name]);
        git(self.dir.path(), &args);
        self.dir.path().join(name)
    }
}

/// What the script did.
struct ActionRun {
    code: i32,
    stdout: String,
    stderr: String,
    summary: String,
    outputs: HashMap<String, String>,
}

impl ActionRun {
    /// The uploaded SARIF's results.
    fn results(&self) -> Vec<Value> {
        let path = &self.outputs["sarif"];
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("sarif")).expect("json");
        doc["runs"][0]["results"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// (path, line) of each uploaded result.
    fn locations(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = self
            .results()
            .iter()
            .map(|r| {
                let loc = &r["locations"][0]["physicalLocation"];
                (
                    loc["artifactLocation"]["uri"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                    loc["region"]["startLine"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        out.sort();
        out
    }

    fn log(&self) -> String {
        format!(
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs the script in `workspace` for `event` with `payload`, and the action `inputs`.
fn action(workspace: &Path, event: &str, payload: Value, inputs: &[(&str, &str)]) -> ActionRun {
    let tmp = TempDir::new().expect("tempdir");
    let event_path = tmp.path().join("event.json");
    std::fs::write(&event_path, payload.to_string()).expect("payload");
    let summary = tmp.path().join("summary.md");
    let outputs = tmp.path().join("outputs");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks/github-action.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script)
        .current_dir(workspace)
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_EVENT_PATH", &event_path)
        .env("GITHUB_WORKSPACE", workspace)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .env("RUNNER_TEMP", tmp.path())
        .env("GITHUB_SERVER_URL", "https://github.example")
        .env("GITHUB_REPOSITORY", "acme/app")
        .env("KEYWARD", keyward_bin())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_AUTHOR_NAME")
        .env_remove("GIT_COMMITTER_NAME");
    for (k, v) in inputs {
        cmd.env(format!("INPUT_{k}"), v);
    }
    let out = cmd
        .output()
        .expect("python3 runs (the Action needs it, and CI machines have it)");
    let outputs: HashMap<String, String> = std::fs::read_to_string(&outputs)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let sarif = outputs.get("sarif").cloned().unwrap_or_default();
    // Keep the report: the temp dir goes away with this function.
    let kept = if sarif.is_empty() {
        String::new()
    } else {
        let keep = workspace.join("..").join(format!(
            "{}.sarif",
            workspace
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("run")
        ));
        std::fs::copy(&sarif, &keep).expect("copy sarif");
        keep.to_string_lossy().into_owned()
    };
    let mut outputs = outputs;
    outputs.insert("sarif".into(), kept);
    ActionRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
        outputs,
    }
}

#[test]
fn push_scans_the_pushed_range_only() {
    let o = Origin::new();
    o.write("old.py", &format!("OLD = '{T1}'\n"));
    let before = o.commit("old secret");
    o.push("main");
    o.write("b.py", &format!("import os\nB = '{T2}'\n"));
    o.commit("b");
    o.write(
        "c.py",
        &format!("C = '{T3}'  # keyward:allow reason=\"revoked\"\n"),
    );
    let after = o.commit("c");
    o.push("main");
    let checkout = o.checkout("checkout", "main", true);
    let payload = json!({ "ref": "refs/heads/main", "before": before, "after": after });

    let run = action(&checkout, "push", payload.clone(), &[]);
    assert_eq!(run.code, 1, "{}", run.log());
    assert_eq!(
        run.locations(),
        vec![("b.py".to_string(), 2)],
        "{}",
        run.log()
    );
    assert_eq!(run.outputs["findings"], "1");
    assert!(
        run.stdout
            .contains("::error file=b.py,line=2,col=6,title=keyward%3A github-pat-classic::"),
        "{}",
        run.log()
    );
    assert!(
        run.summary.contains("## keyward: 1 finding"),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains("push to refs/heads/main: 2 commits"),
        "{}",
        run.summary
    );
    assert!(
        run.summary
            .contains("| high | `github-pat-classic` | `b.py:2` | [`"),
        "{}",
        run.summary
    );
    assert!(
        run.summary
            .contains("https://github.example/acme/app/commit/"),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains("Suppressed in this run"),
        "{}",
        run.summary
    );
    // Secrets stay redacted in the log, the summary and the report.
    let sarif = std::fs::read_to_string(&run.outputs["sarif"]).expect("sarif");
    for text in [&run.stdout, &run.stderr, &run.summary, &sarif] {
        assert!(
            !text.contains(T2) && !text.contains(&T2[..10]),
            "leak: {text}"
        );
    }
    // GitHub ignores SARIF suppressions: the uploaded report has only what is reported.
    assert!(!sarif.contains("\"suppressions\""), "{sarif}");

    let run = action(&checkout, "push", payload, &[("FAIL_ON_FINDINGS", "false")]);
    assert_eq!(run.code, 0, "{}", run.log());
    assert_eq!(run.outputs["findings"], "1");
}

#[test]
fn a_new_branch_is_checked_for_the_commits_no_other_branch_has() {
    let o = Origin::new();
    o.write("main.py", &format!("M = '{T1}'\n"));
    let main = o.commit("main");
    o.push("main");
    o.work_git(&["checkout", "-q", "-b", "other"]);
    o.write("other.py", &format!("O = '{T3}'\n"));
    o.commit("other");
    o.push("other");
    // main moves on, and feature merges other into it: two boundaries, main and other.
    o.work_git(&["checkout", "-q", "main"]);
    o.write("later.txt", "later\n");
    o.commit("later");
    o.push("main");
    o.work_git(&["checkout", "-q", "-b", "feature"]);
    o.work_git(&["merge", "-q", "--no-ff", "--no-edit", "other"]);
    o.write("feature.py", &format!("F = '{T2}'\n"));
    let after = o.commit("feature");
    o.push("feature");
    let checkout = o.checkout("checkout", "feature", false);

    let payload = json!({
        "ref": "refs/heads/feature", "before": ZERO, "after": after, "created": true,
    });
    let run = action(&checkout, "push", payload, &[]);
    assert_eq!(run.code, 1, "{}", run.log());
    // main's and other's secrets are on other branches already.
    assert_eq!(
        run.locations(),
        vec![("feature.py".to_string(), 1)],
        "{}",
        run.log()
    );
    assert!(
        run.summary
            .contains("new branch feature: 2 commits no other branch has"),
        "{}",
        run.summary
    );

    // A new branch with nothing new: nothing to report.
    o.work_git(&["checkout", "-q", "-b", "copy", &main]);
    o.push("copy");
    let copy = o.checkout("copy-checkout", "copy", false);
    let payload = json!({ "ref": "refs/heads/copy", "before": ZERO, "after": main });
    let run = action(&copy, "push", payload, &[]);
    assert_eq!(run.code, 0, "{}", run.log());
    assert_eq!(run.outputs["findings"], "0");
}

#[test]
fn a_pull_request_is_judged_by_the_base_branch_and_its_new_suppressions_are_listed() {
    let o = Origin::new();
    o.write(".keyward.yaml", "allowlist:\n  paths: ['docs/**']\n");
    o.write("README.md", "app\n");
    let base = o.commit("base");
    o.push("main");

    o.work_git(&["checkout", "-q", "-b", "feature"]);
    o.write(
        "src/a.py",
        &format!("A = '{T2}'  # keyward:allow reason=\"demo token\"\n"),
    );
    o.write("src/b.py", &format!("B = '{T3}'\n"));
    o.write("docs/setup.md", &format!("token: {T4}\n"));
    // The pull request tries to silence its own finding two more ways.
    o.write(
        ".keyward.yaml",
        "allowlist:\n  paths: ['docs/**', 'src/**']\n",
    );
    let out = Command::new(keyward_bin())
        .args(["baseline", "create", "--no-config"])
        .current_dir(o.work())
        .output()
        .expect("baseline");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let head = o.commit("feature");
    o.push("feature");
    // actions/checkout of a pull request: depth 1, here of the base branch.
    let checkout = o.checkout("checkout", "main", false);

    let payload = json!({
        "action": "opened",
        "number": 7,
        "pull_request": {
            "number": 7,
            "base": { "ref": "main", "sha": base },
            "head": { "ref": "feature", "sha": head },
        },
    });
    let run = action(&checkout, "pull_request", payload, &[]);
    assert_eq!(run.code, 1, "{}", run.log());
    // The base branch's config: src/** is not allowlisted, the new baseline is not used.
    assert_eq!(
        run.locations(),
        vec![("src/b.py".to_string(), 1)],
        "{}",
        run.log()
    );
    let s = &run.summary;
    assert!(s.contains("pull request #7: 1 commit"), "{s}");
    assert!(s.contains("### Suppressions this pull request adds"), "{s}");
    assert!(
        s.contains("- directive `src/a.py:1`: keyward:allow reason=\"demo token\""),
        "{s}"
    );
    assert!(
        s.contains("- baseline entry `.keyward-baseline.json`: github-pat-classic in "),
        "{s}"
    );
    assert!(s.contains("`.keyward.yaml` is changed"), "{s}");
    // What was suppressed in this run, and why.
    assert!(
        s.contains("at `src/a.py:1`: keyward:allow on line 1, reason"),
        "{s}"
    );
    assert!(s.contains("at `docs/setup.md:1`: allowlisted path"), "{s}");
    assert!(
        run.stdout.contains("::warning file=src/a.py,line=1,title=keyward%3A suppression added::This pull request adds keyward:allow"),
        "{}",
        run.log()
    );
    assert!(
        run.stdout.contains("fetching"),
        "the shallow checkout lacked the head: {}",
        run.log()
    );
}

#[test]
fn a_shallow_checkout_is_deepened_to_the_pushed_range() {
    let o = Origin::new();
    o.write("a.py", &format!("A = '{T1}'\n"));
    let before = o.commit("a");
    for i in 0..3 {
        o.write(&format!("n{i}.txt"), "nothing\n");
        o.commit(&format!("n{i}"));
    }
    o.write("b.env", &format!("SLACK={SLACK}\n"));
    o.commit("b");
    for i in 3..6 {
        o.write(&format!("n{i}.txt"), "nothing\n");
        o.commit(&format!("n{i}"));
    }
    let after = o.work_git(&["rev-parse", "HEAD"]);
    o.push("main");
    let checkout = o.checkout("checkout", "main", false);
    assert_eq!(
        git(&checkout, &["rev-parse", "--is-shallow-repository"]),
        "true"
    );

    let payload = json!({ "ref": "refs/heads/main", "before": before, "after": after });
    let run = action(&checkout, "push", payload, &[]);
    assert_eq!(run.code, 1, "{}", run.log());
    assert_eq!(
        run.locations(),
        vec![("b.env".to_string(), 1)],
        "{}",
        run.log()
    );
    assert!(
        run.stdout.contains("shallow checkout"),
        "it says so: {}",
        run.log()
    );
    assert!(run.summary.contains("7 commits"), "{}", run.summary);
}

#[test]
fn a_scheduled_run_scans_the_whole_history_of_a_shallow_checkout() {
    let o = Origin::new();
    o.write("config.py", &format!("TOKEN = '{T1}'\n"));
    let added = o.commit("add a token");
    o.write("config.py", "TOKEN = os.environ['TOKEN']\n");
    o.commit("read it from the environment");
    o.push("main");
    let checkout = o.checkout("checkout", "main", false);

    let run = action(
        &checkout,
        "schedule",
        json!({ "schedule": "0 3 * * 1" }),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.log());
    let results = run.results();
    assert_eq!(results.len(), 1, "{}", run.log());
    assert_eq!(results[0]["properties"]["commit"], added.as_str());
    assert_eq!(results[0]["properties"]["inHead"], false);
    assert!(
        run.stdout
            .contains("shallow checkout: fetching the whole history"),
        "{}",
        run.log()
    );
    assert!(
        run.summary.contains("Scanned: whole history."),
        "{}",
        run.summary
    );
}

#[test]
fn a_deleted_branch_has_nothing_to_scan_and_a_bad_repository_is_an_error() {
    let o = Origin::new();
    o.write("a.txt", "a\n");
    let sha = o.commit("a");
    o.push("main");
    let checkout = o.checkout("checkout", "main", true);
    let payload =
        json!({ "ref": "refs/heads/gone", "before": sha, "after": ZERO, "deleted": true });
    let run = action(&checkout, "push", payload, &[]);
    assert_eq!(run.code, 0, "{}", run.log());
    assert_eq!(run.outputs["findings"], "0");

    let not_a_repo = TempDir::new().expect("tempdir");
    let run = action(not_a_repo.path(), "schedule", json!({}), &[]);
    assert_eq!(run.code, 2, "{}", run.log());
    assert!(
        run.stdout.contains("::error title=keyward::git"),
        "{}",
        run.log()
    );
}

#[test]
fn action_yml_is_a_composite_action_that_passes_every_input_to_the_script() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("action.yml")).expect("action.yml");
    let action: Value = serde_yaml::from_str(&text).expect("action.yml is YAML");
    assert_eq!(action["runs"]["using"], "composite");
    let inputs: Vec<&str> = action["inputs"]
        .as_object()
        .expect("inputs")
        .keys()
        .map(String::as_str)
        .collect();
    let steps = action["runs"]["steps"].as_array().expect("steps");
    let scan = steps
        .iter()
        .find(|s| s["id"] == "scan")
        .expect("the scan step");
    assert!(
        scan["run"]
            .as_str()
            .is_some_and(|r| r.contains("hooks/github-action.py"))
    );
    let script = std::fs::read_to_string(root.join("hooks/github-action.py")).expect("script");
    for input in inputs.iter().filter(|i| **i != "upload-sarif") {
        let var = format!("INPUT_{}", input.to_uppercase().replace('-', "_"));
        assert_eq!(
            scan["env"][&var],
            format!("${{{{ inputs.{input} }}}}"),
            "{input} is passed as {var}"
        );
        assert!(script.contains(&var), "the script reads {var}");
    }
    // The upload runs even when the scan step fails the job on findings.
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif"))
        })
        .expect("upload step");
    assert!(
        upload["if"]
            .as_str()
            .is_some_and(|c| c.starts_with("always()"))
    );
}
