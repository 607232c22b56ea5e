//! `keyward history` end to end, on real repositories built with the `git` command in
//! temporary directories. Each test asserts which commit introduced each secret.

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;
use tempfile::TempDir;

/// GitHub classic tokens with valid checksums (the built-in rule verifies them).
const T1: &str = "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";
const T2: &str = "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";
const T3: &str = "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";
const T4: &str = "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";

/// A repository in a temporary directory, with commits dated one minute apart.
struct Repo {
    dir: TempDir,
    clock: std::cell::Cell<u64>,
}

impl Repo {
    fn new() -> Repo {
        let repo = Repo {
            dir: TempDir::new().expect("temp dir"),
            clock: std::cell::Cell::new(0),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) -> String {
        git_in(self.path(), args, &self.env())
    }

    fn env(&self) -> Vec<(String, String)> {
        let t = 1_700_000_000 + 60 * self.clock.get();
        vec![
            ("GIT_AUTHOR_DATE".into(), format!("{t} +0000")),
            ("GIT_COMMITTER_DATE".into(), format!("{t} +0000")),
        ]
    }

    fn write(&self, path: &str, content: &str) {
        let full = self.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(full, content).expect("write");
    }

    /// Stages everything and commits; returns the commit id.
    fn commit(&self, message: &str) -> String {
        self.commit_as(message, "Ada Lovelace", "ada@example.com")
    }

    fn commit_as(&self, message: &str, name: &str, email: &str) -> String {
        self.clock.set(self.clock.get() + 1);
        self.git(&["add", "-A"]);
        let mut env = self.env();
        env.push(("GIT_AUTHOR_NAME".into(), name.into()));
        env.push(("GIT_AUTHOR_EMAIL".into(), email.into()));
        git_in(
            self.path(),
            &["commit", "-q", "--allow-empty", "-m", message],
            &env,
        );
        self.git(&["rev-parse", "HEAD"])
    }
}

fn git_in(dir: &Path, args: &[&str], env: &[(String, String)]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// What `keyward history` said.
struct Run {
    code: i32,
    json: Value,
    stderr: String,
}

impl Run {
    fn findings(&self) -> &[Value] {
        self.json["findings"].as_array().map_or(&[], Vec::as_slice)
    }

    /// The one finding of `secret`.
    fn finding(&self, secret: &str) -> &Value {
        let all: Vec<&Value> = self
            .findings()
            .iter()
            .filter(|f| f["secret"] == secret)
            .collect();
        assert_eq!(all.len(), 1, "one finding for {secret} in {:#}", self.json);
        all[0]
    }

    fn has(&self, secret: &str) -> bool {
        self.findings().iter().any(|f| f["secret"] == secret)
    }
}

fn history(repo: &Path, args: &[&str]) -> Run {
    let out = Command::cargo_bin("keyward")
        .expect("binary")
        .arg("history")
        .arg(repo)
        .args(["--format", "json", "--show-secrets"])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("keyward runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    Run {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn occurrences(f: &Value) -> Vec<(String, String)> {
    f["occurrences"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|o| {
                    (
                        o["commit"].as_str().unwrap_or("").to_string(),
                        o["path"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn secret_added_then_removed_is_found_at_its_commit_and_not_at_head() {
    let repo = Repo::new();
    repo.write("README", "hello\n");
    repo.commit("start");
    repo.write("config.py", &format!("TOKEN = \"{T1}\"\n"));
    let added = repo.commit_as("add config", "Mallory", "mallory@example.com");
    repo.write("config.py", "TOKEN = os.environ['TOKEN']\n");
    repo.commit("use the environment");

    let run = history(repo.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let f = run.finding(T1);
    assert_eq!(f["commit"], added.as_str());
    assert_eq!(f["path"], "config.py");
    assert_eq!(f["line"], 1);
    assert_eq!(f["author"], "Mallory");
    assert_eq!(f["email"], "mallory@example.com");
    assert_eq!(f["date"], "2023-11-14T22:15:20+00:00");
    assert_eq!(f["in_head"], false);
    assert_eq!(f["unreachable"], false);
    assert_eq!(occurrences(f), [(added, "config.py".to_string())]);
    assert_eq!(run.json["stats"]["history"]["commits"], 3);
}

#[test]
fn secret_on_an_unmerged_branch_is_found_and_branch_limits_the_scan() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.commit("start");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("feature.js", &format!("const token = '{T1}';\n"));
    let on_branch = repo.commit("feature work");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("a.txt", "b\n");
    repo.commit("main work");

    let run = history(repo.path(), &[]);
    assert_eq!(run.finding(T1)["commit"], on_branch.as_str());
    assert_eq!(run.finding(T1)["in_head"], false);

    let main_only = history(repo.path(), &["--branch", "main"]);
    assert_eq!(main_only.code, 0, "{}", main_only.stderr);
    assert!(main_only.findings().is_empty());
    let feature = history(repo.path(), &["--branch", "feature"]);
    assert_eq!(feature.finding(T1)["commit"], on_branch.as_str());
}

#[test]
fn merge_conflict_resolution_is_attributed_to_the_merge_and_plain_merges_are_not() {
    let repo = Repo::new();
    repo.write("settings.ini", "key = none\n");
    repo.commit("start");
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.write("settings.ini", "key = topic\n");
    repo.write("topic.txt", &format!("{T2}\n"));
    let topic = repo.commit("topic");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("settings.ini", "key = main\n");
    repo.commit("main");
    // The merge conflicts on settings.ini; the resolution writes a secret nobody had.
    let out = Command::new("git")
        .args(["merge", "-q", "topic"])
        .current_dir(repo.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git merge runs");
    assert!(!out.status.success(), "the merge must conflict");
    repo.write("settings.ini", &format!("key = \"{T1}\"\n"));
    let merge = repo.commit("merge topic");

    let run = history(repo.path(), &[]);
    let resolved = run.finding(T1);
    assert_eq!(resolved["commit"], merge.as_str());
    assert_eq!(resolved["path"], "settings.ini");
    assert_eq!(resolved["in_head"], true);
    // topic.txt came in with the merge, but the topic commit introduced it.
    let brought = run.finding(T2);
    assert_eq!(brought["commit"], topic.as_str());
    assert_eq!(occurrences(brought), [(topic, "topic.txt".to_string())]);
}

#[test]
fn a_renamed_file_reports_the_first_path_with_both_as_occurrences() {
    let repo = Repo::new();
    repo.write("src/old.rs", &format!("const T: &str = \"{T1}\";\n"));
    let added = repo.commit("add");
    repo.git(&["mv", "src/old.rs", "src/new.rs"]);
    let renamed = repo.commit("rename");

    let run = history(repo.path(), &[]);
    let f = run.finding(T1);
    assert_eq!(f["commit"], added.as_str());
    assert_eq!(f["path"], "src/old.rs");
    assert_eq!(f["in_head"], true);
    assert_eq!(
        occurrences(f),
        [
            (added, "src/old.rs".to_string()),
            (renamed, "src/new.rs".to_string())
        ]
    );
}

#[test]
fn a_commit_only_a_tag_reaches_is_found() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.commit("start");
    repo.git(&["checkout", "-q", "--detach"]);
    repo.write("release.env", &format!("GITHUB_TOKEN={T1}\n"));
    let tagged = repo.commit("release build");
    repo.git(&["tag", "-a", "v1.0", "-m", "release"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);

    let run = history(repo.path(), &[]);
    let f = run.finding(T1);
    assert_eq!(f["commit"], tagged.as_str());
    assert_eq!(f["unreachable"], false);
    assert_eq!(f["in_head"], false);
}

#[test]
fn a_blob_no_commit_reaches_is_reported_unreachable() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.commit("start");
    repo.write("leak.txt", &format!("{T1}\n"));
    repo.commit("oops");
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);

    let run = history(repo.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let f = run.finding(T1);
    assert_eq!(f["unreachable"], true);
    assert!(f.get("commit").is_none());
    assert_eq!(f["blob"].as_str().map(str::len), Some(40));
    assert!(occurrences(f).is_empty());
}

#[test]
fn a_commit_dropped_by_a_reset_is_found_through_the_reflog_with_its_author() {
    let repo = Repo::new();
    repo.write("a.txt", "a\n");
    repo.commit("start");
    repo.write(
        "deploy.sh",
        &format!("curl -H 'Authorization: token {T1}' https://example.com\n"),
    );
    let dropped = repo.commit_as("deploy script", "Eve Example", "eve@example.com");
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);

    let run = history(repo.path(), &[]);
    let f = run.finding(T1);
    assert_eq!(f["commit"], dropped.as_str());
    assert_eq!(f["author"], "Eve Example");
    assert_eq!(f["email"], "eve@example.com");
    assert_eq!(f["unreachable"], false);
}

#[test]
fn the_same_secret_in_two_files_is_one_finding_with_two_occurrences() {
    let repo = Repo::new();
    repo.write("a.env", &format!("TOKEN={T1}\n"));
    repo.write("b.env", &format!("\nGH={T1}\n"));
    let c = repo.commit("two files");

    let run = history(repo.path(), &[]);
    let f = run.finding(T1);
    assert_eq!(
        occurrences(f),
        [(c.clone(), "a.env".to_string()), (c, "b.env".to_string())]
    );
    assert_eq!(f["occurrences"][1]["line"], 2);
}

#[test]
fn the_same_blob_copied_to_a_second_path_is_an_occurrence() {
    let repo = Repo::new();
    repo.write("config/dev.env", &format!("TOKEN={T1}\n"));
    let first = repo.commit("dev config");
    repo.write("config/prod.env", &format!("TOKEN={T1}\n"));
    let copy = repo.commit("prod config");
    let blob = repo.git(&["rev-parse", "HEAD:config/prod.env"]);
    assert_eq!(
        blob,
        repo.git(&["rev-parse", "HEAD:config/dev.env"]),
        "one blob, two paths"
    );

    let run = history(repo.path(), &[]);
    let f = run.finding(T1);
    assert_eq!(f["commit"], first.as_str());
    assert_eq!(
        occurrences(f),
        [
            (first, "config/dev.env".to_string()),
            (copy, "config/prod.env".to_string())
        ]
    );
}

#[test]
fn a_shallow_clone_is_scanned_and_said_to_be_shallow() {
    let origin = Repo::new();
    origin.write("token.txt", &format!("{T1}\n"));
    origin.commit("old secret");
    for i in 0..3 {
        origin.write("log.txt", &format!("{i}\n"));
        origin.commit("more");
    }
    let dir = TempDir::new().expect("temp dir");
    let clone = dir.path().join("clone");
    let url = format!("file://{}", origin.path().display());
    git_in(
        dir.path(),
        &["clone", "-q", "--depth", "1", &url, "clone"],
        &[],
    );
    let tip = git_in(&clone, &["rev-parse", "HEAD"], &[]);

    let run = history(&clone, &[]);
    both_modes_agree(&clone);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("shallow"), "{}", run.stderr);
    assert_eq!(run.json["stats"]["history"]["shallow"], true);
    let f = run.finding(T1);
    assert_eq!(
        f["commit"],
        tip.as_str(),
        "attributed to the shallow boundary"
    );
    assert_eq!(f["shallow_boundary"], true);
}

/// The path of a loose object's file.
fn loose_object(repo: &Path, id: &str) -> PathBuf {
    repo.join(".git/objects").join(&id[..2]).join(&id[2..])
}

#[test]
fn a_corrupt_object_is_named_and_counted_and_the_rest_still_scanned() {
    let repo = Repo::new();
    repo.write("secret.txt", &format!("{T1}\n"));
    repo.write("other.txt", "just some text\n");
    repo.commit("start");
    let other = repo.git(&["rev-parse", "HEAD:other.txt"]);
    let file = loose_object(repo.path(), &other);
    let mut perms = std::fs::metadata(&file)
        .expect("object exists")
        .permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&file, perms).expect("writable");
    std::fs::write(&file, b"this is not zlib data").expect("corrupt it");

    let run = history(repo.path(), &[]);
    assert_eq!(run.code, 1, "findings win over the error: {}", run.stderr);
    assert!(run.has(T1));
    assert!(
        run.stderr.contains(&other),
        "names the object: {}",
        run.stderr
    );
    assert_eq!(run.json["stats"]["history"]["unreadable_objects"], 1);

    // Nothing found and an object unreadable: never a clean pass.
    std::fs::remove_file(loose_object(
        repo.path(),
        &repo.git(&["rev-parse", "HEAD:secret.txt"]),
    ))
    .expect("rm");
    let run = history(repo.path(), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("could not be read"), "{}", run.stderr);
}

#[test]
fn a_corrupt_pack_entry_is_named_and_the_rest_of_the_pack_scanned() {
    let repo = Repo::new();
    repo.write("secret.txt", &format!("{T1}\n"));
    let filler: String = (0..2000)
        .map(|i| format!("line {i} of an ordinary file\n"))
        .collect();
    repo.write("big.txt", &filler);
    repo.commit("start");
    repo.git(&["repack", "-q", "-adf"]);
    let big = repo.git(&["rev-parse", "HEAD:big.txt"]);
    // Overwrite the middle of big.txt's compressed data in the pack.
    let idx = std::fs::read_dir(repo.path().join(".git/objects/pack"))
        .expect("pack dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .expect("a pack");
    let verify = git_in(
        repo.path(),
        &[
            "verify-pack",
            "-v",
            &idx.with_extension("idx").to_string_lossy(),
        ],
        &[],
    );
    let line = verify
        .lines()
        .find(|l| l.starts_with(&big))
        .expect("big.txt is in the pack");
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (size, offset): (usize, usize) = (
        fields[3].parse().expect("size"),
        fields[4].parse().expect("offset"),
    );
    let mut bytes = std::fs::read(&idx).expect("read pack");
    for b in &mut bytes[offset + size / 2..offset + size / 2 + 16] {
        *b ^= 0x55;
    }
    let mut perms = std::fs::metadata(&idx).expect("pack").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&idx, perms).expect("writable");
    std::fs::write(&idx, bytes).expect("corrupt the pack");

    let run = history(repo.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.has(T1));
    assert!(
        run.stderr.contains(&big),
        "names the object: {}",
        run.stderr
    );
}

#[test]
fn loose_and_packed_objects_are_both_scanned_once() {
    let repo = Repo::new();
    let lines: String = (0..200).map(|i| format!("value_{i} = {i}\n")).collect();
    repo.write("app/settings.py", &format!("{lines}TOKEN = \"{T1}\"\n"));
    let first = repo.commit("settings");
    for i in 0..5 {
        repo.write(
            "app/settings.py",
            &format!("{lines}TOKEN = \"{T1}\"\nEXTRA_{i} = {i}\n"),
        );
        repo.commit("tweak");
    }
    repo.git(&["repack", "-q", "-adf"]);
    repo.write(
        "app/settings.py",
        &format!("{lines}TOKEN = \"{T1}\"\nOTHER = \"{T2}\"\n"),
    );
    let loose = repo.commit("more settings");
    // Packed again later, and loose copies of the same objects kept: each blob once.
    repo.git(&["repack", "-q", "-a"]);
    repo.write("app/more.py", &format!("X = \"{T3}\"\n"));
    let last = repo.commit("loose only");

    let run = history(repo.path(), &[]);
    both_modes_agree(repo.path());
    assert_eq!(run.finding(T1)["commit"], first.as_str());
    assert_eq!(
        occurrences(run.finding(T1)).len(),
        1,
        "edits that keep the secret are not occurrences"
    );
    assert_eq!(run.finding(T2)["commit"], loose.as_str());
    assert_eq!(run.finding(T3)["commit"], last.as_str());
    let stats = &run.json["stats"]["history"];
    assert!(stats["packs"].as_u64() >= Some(1));
    assert!(stats["loose_objects"].as_u64() >= Some(1));
}

#[test]
fn a_range_reports_only_what_its_commits_introduced() {
    let repo = Repo::new();
    repo.write("f.py", &format!("OLD = \"{T1}\"\n"));
    let base = repo.commit("old secret");
    repo.write("f.py", &format!("OLD = \"{T1}\"\nMORE = 1\n"));
    repo.write("g.py", &format!("NEW = \"{T2}\"\n"));
    let added = repo.commit("new secret, old one still there");
    repo.git(&["mv", "f.py", "renamed.py"]);
    repo.commit("rename: nothing new");
    repo.write("h.py", &format!("A = \"{T3}\"\n"));
    let transient = repo.commit("added");
    repo.write("h.py", "A = None\n");
    repo.commit("and removed inside the range");

    for args in [
        vec!["--range", &format!("{base}..HEAD")],
        vec!["--since-commit", &base],
    ] {
        let run = history(
            repo.path(),
            &args.iter().map(|s| &**s).collect::<Vec<&str>>(),
        );
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            !run.has(T1),
            "the older secret is not reported again: {:#}",
            run.json
        );
        assert_eq!(run.finding(T2)["commit"], added.as_str());
        assert_eq!(run.finding(T2)["in_head"], true);
        assert_eq!(run.finding(T3)["commit"], transient.as_str());
        assert_eq!(run.finding(T3)["in_head"], false);
        assert_eq!(run.json["stats"]["history"]["commits"], 4);
    }
    let clean = history(repo.path(), &["--range", "HEAD~1..HEAD"]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
}

#[test]
fn not_a_repository_is_an_error() {
    let dir = TempDir::new().expect("temp dir");
    let run = history(dir.path(), &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("not a git repository"),
        "{}",
        run.stderr
    );
}

#[test]
fn lfs_pointers_binary_and_large_blobs_are_skipped_and_counted_and_gitlinks_noted() {
    let repo = Repo::new();
    repo.write(
        "model.bin",
        &format!("version https://git-lfs.github.com/spec/v1\noid sha256:{T4}\nsize 12345\n"),
    );
    repo.write("image.png", &format!("\u{0}PNG {T2}"));
    repo.write("big.txt", &format!("{}{T3}\n", "x".repeat(2000)));
    repo.write("ok.txt", &format!("{T1}\n"));
    repo.git(&["add", "-A"]);
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        "160000,1111111111111111111111111111111111111111,vendor/lib",
    ]);
    // Commit the index as it is: `add -A` would drop the gitlink (no checkout of it here).
    repo.git(&["commit", "-q", "-m", "assets"]);

    let run = history(repo.path(), &["--max-blob-size", "1000"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.has(T1));
    for skipped in [T2, T3, T4] {
        assert!(!run.has(skipped), "{skipped} is in a skipped blob");
    }
    let stats = &run.json["stats"];
    assert_eq!(stats["skipped"]["lfs_pointer"], 1);
    assert_eq!(stats["skipped"]["binary"], 1);
    assert_eq!(stats["skipped"]["too_large"], 1);
    assert_eq!(stats["history"]["gitlinks"], 1);
}

#[test]
fn a_non_utf8_path_is_reported_lossily() {
    use std::os::unix::ffi::OsStrExt;
    let repo = Repo::new();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::write(repo.path().join(name), format!("{T1}\n")).expect("write");
    repo.commit("latin-1 name");

    let run = history(repo.path(), &[]);
    assert_eq!(run.finding(T1)["path"], "caf\u{fffd}.txt");
}

#[test]
fn text_output_names_commit_author_and_head_state_and_redacts() {
    let repo = Repo::new();
    repo.write("a.txt", &format!("{T1}\n"));
    let c = repo.commit("add");
    let out = Command::cargo_bin("keyward")
        .expect("binary")
        .args(["history", "--quiet"])
        .arg(repo.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("a.txt:1:1"), "{text}");
    assert!(text.contains(&c[..12]), "{text}");
    assert!(text.contains("Ada Lovelace <ada@example.com>"), "{text}");
    assert!(text.contains("still at HEAD"), "{text}");
    assert!(!text.contains(T1), "secrets are redacted: {text}");
    assert!(
        out.stderr.is_empty(),
        "--quiet: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_linked_worktree_and_a_bare_clone_see_the_same_history() {
    let repo = Repo::new();
    repo.write("a.txt", &format!("{T1}\n"));
    let added = repo.commit("add");
    let dir = TempDir::new().expect("temp dir");
    let worktree = dir.path().join("wt");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "side",
        &worktree.to_string_lossy(),
    ]);
    std::fs::write(worktree.join("b.txt"), format!("{T2}\n")).expect("write");
    git_in(&worktree, &["add", "-A"], &[]);
    git_in(&worktree, &["commit", "-q", "-m", "side work"], &repo.env());
    let side = git_in(&worktree, &["rev-parse", "HEAD"], &[]);
    let bare = dir.path().join("bare.git");
    let url = format!("file://{}", repo.path().display());
    git_in(
        dir.path(),
        &["clone", "-q", "--bare", &url, &bare.to_string_lossy()],
        &[],
    );

    for place in [repo.path(), worktree.as_path(), bare.as_path()] {
        let run = history(place, &[]);
        assert_eq!(run.code, 1, "{}: {}", place.display(), run.stderr);
        assert_eq!(
            run.finding(T1)["commit"],
            added.as_str(),
            "{}",
            place.display()
        );
        assert_eq!(
            run.finding(T2)["commit"],
            side.as_str(),
            "{}",
            place.display()
        );
    }
}

#[test]
fn lock_file_paths_drop_generic_findings_per_occurrence() {
    let line = "OAUTH_CLIENT_SECRET=\"q7Xk2LmN9pRt4vWz8bYc3dFh\"\n";
    let repo = Repo::new();
    repo.write("web/package-lock.json", line);
    repo.commit("a lock file");
    repo.write("app.env", line);
    let env = repo.commit("an env file");

    let run = history(repo.path(), &[]);
    let f = run.finding("q7Xk2LmN9pRt4vWz8bYc3dFh");
    assert_eq!(
        f["commit"],
        env.as_str(),
        "the lock-file occurrence does not count"
    );
    assert_eq!(occurrences(f), [(env, "app.env".to_string())]);

    let only_lock = Repo::new();
    only_lock.write("web/package-lock.json", line);
    only_lock.commit("a lock file");
    assert_eq!(history(only_lock.path(), &[]).code, 0);
}

#[test]
fn objects_borrowed_from_an_alternate_are_scanned() {
    let origin = Repo::new();
    origin.write("a.txt", &format!("{T1}\n"));
    let first = origin.commit("add");
    origin.git(&["repack", "-q", "-adf"]);
    let dir = TempDir::new().expect("temp dir");
    let clone = dir.path().join("shared");
    git_in(
        dir.path(),
        &[
            "clone",
            "-q",
            "--shared",
            &origin.path().to_string_lossy(),
            "shared",
        ],
        &[],
    );
    assert!(clone.join(".git/objects/info/alternates").is_file());
    std::fs::write(clone.join("b.txt"), format!("{T2}\n")).expect("write");
    git_in(&clone, &["add", "-A"], &[]);
    git_in(&clone, &["commit", "-q", "-m", "local"], &origin.env());
    let local = git_in(&clone, &["rev-parse", "HEAD"], &[]);

    let run = history(&clone, &[]);
    both_modes_agree(&clone);
    assert_eq!(run.finding(T1)["commit"], first.as_str());
    assert_eq!(run.finding(T2)["commit"], local.as_str());
}

/// Every (rule, secret, commit, path) a run reports, unreachable blobs included.
fn sightings(run: &Run) -> std::collections::BTreeSet<(String, String, String, String)> {
    let mut out = std::collections::BTreeSet::new();
    for f in run.findings() {
        let rule = f["rule"].as_str().unwrap_or("").to_string();
        let secret = f["secret"].as_str().unwrap_or("").to_string();
        for (commit, path) in occurrences(f) {
            out.insert((rule.clone(), secret.clone(), commit, path));
        }
        if f["unreachable"] == true {
            let blob = f["blob"].as_str().unwrap_or("").to_string();
            out.insert((rule.clone(), secret.clone(), String::new(), blob));
        }
    }
    out
}

/// Runs both blob passes and asserts they report the same sightings; returns the
/// pack-aware run.
fn both_modes_agree(repo: &Path) -> Run {
    let whole = history(repo, &["--exhaustive"]);
    let aware = history(repo, &["--pack-aware", "-v"]);
    assert_eq!(whole.code, aware.code, "{}", aware.stderr);
    assert!(!whole.findings().is_empty(), "{}", whole.stderr);
    assert_eq!(sightings(&whole), sightings(&aware), "{}", aware.stderr);
    aware
}

/// Deterministic base64 text, `lines` lines of 64 characters.
fn key_body(seed: u64, lines: usize) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x = seed;
    let mut out = String::new();
    for _ in 0..lines {
        for _ in 0..64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            out.push(B64[(x >> 58) as usize] as char);
        }
        out.push('\n');
    }
    out
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A history made for deltas: a long file edited many times, where secrets arrive in
/// inserted lines, survive in copied ones, appear when a prefix is deleted in front of a
/// token, a private key block is edited in its middle (farther from its first line than
/// the short rules reach), and an encoded token is added to a Kubernetes Secret kilobytes
/// after the keyword that starts decoding.
fn delta_history(repo: &Repo) -> Vec<(String, String)> {
    let filler = |from: usize, to: usize| -> String {
        (from..to)
            .map(|i| format!("setting_{i:04} = \"value number {i} of the configuration\"\n"))
            .collect()
    };
    let pem = |seed: u64| {
        format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}-----END RSA PRIVATE KEY-----\n",
            key_body(seed, 48)
        )
    };
    let secret = |extra: &str| {
        let values: String = (0..60)
            .map(|i| {
                let value = format!("value number {i} of the configuration");
                format!("  k{i:02}: {}\n", base64(value.as_bytes()))
            })
            .collect();
        format!("apiVersion: v1\nkind: Secret\ndata:\n{values}{extra}")
    };
    let mut commits = Vec::new();
    let mut note = |what: &str, id: String| commits.push((what.to_string(), id));
    let (head, tail) = (filler(0, 300), filler(300, 600));
    repo.write("conf/app.cfg", &format!("{head}{tail}"));
    repo.write(
        "keys/deploy.pem",
        &format!("# deploy key\n{}", filler(0, 40)),
    );
    repo.write("deploy/secret.yaml", &secret(""));
    note("base", repo.commit("base"));
    repo.write("conf/app.cfg", &format!("{head}token = \"{T1}\"\n{tail}"));
    note("t1", repo.commit("add T1"));
    for i in 0..6 {
        repo.write(
            "conf/app.cfg",
            &format!("{head}token = \"{T1}\"\n{tail}{}", filler(600, 610 + i)),
        );
        repo.commit("grow");
    }
    // The token was there all along behind a prefix that disables the rule's match.
    repo.write(
        "conf/app.cfg",
        &format!("{head}token = \"{T1}\"\nother = \"TODO_{T2}\"\n{tail}"),
    );
    repo.commit("disabled T2");
    repo.write(
        "conf/app.cfg",
        &format!("{head}token = \"{T1}\"\nother = \"{T2}\"\n{tail}"),
    );
    note("t2", repo.commit("enable T2"));
    repo.write(
        "keys/deploy.pem",
        &format!("# deploy key\n{}{}", pem(7), filler(0, 40)),
    );
    note("pem", repo.commit("add key"));
    // The same key block with one line changed in its middle: a new key.
    let edited = pem(7).replacen(&key_body(7, 48)[1950..2014], &key_body(99, 1)[..64], 1);
    repo.write(
        "keys/deploy.pem",
        &format!("# deploy key\n{edited}{}", filler(0, 40)),
    );
    note("pem2", repo.commit("rotate part of the key"));
    let encoded = format!("  gh: {}\n", base64(T4.as_bytes()));
    repo.write("deploy/secret.yaml", &secret(&encoded));
    note("b64", repo.commit("add an encoded token"));
    repo.write(
        "deploy/secret.yaml",
        &secret(&format!("{encoded}  more: eA==\n")),
    );
    repo.commit("one more value");
    repo.write("conf/app.cfg", &format!("{head}{tail}T3 = {T3}\n"));
    note("t3", repo.commit("remove T1 and T2, add T3"));
    for i in 0..4 {
        repo.write(
            "conf/app.cfg",
            &format!("{}{tail}T3 = {T3}\n", filler(i, 300)),
        );
        repo.commit("shrink");
    }
    commits
}

#[test]
fn pack_aware_and_exhaustive_agree_on_a_repacked_history() {
    let repo = Repo::new();
    let commits = delta_history(&repo);
    repo.git(&["repack", "-q", "-adf"]);
    let run = both_modes_agree(repo.path());
    let at = |what: &str| {
        commits
            .iter()
            .find(|(w, _)| w == what)
            .map(|(_, c)| c.clone())
    };
    assert_eq!(run.finding(T1)["commit"], at("t1").expect("t1").as_str());
    assert_eq!(run.finding(T2)["commit"], at("t2").expect("t2").as_str());
    assert_eq!(run.finding(T3)["commit"], at("t3").expect("t3").as_str());
    let keys: Vec<&Value> = run
        .findings()
        .iter()
        .filter(|f| f["rule"] == "pem-rsa-private-key")
        .collect();
    assert_eq!(keys.len(), 2, "{:#}", run.json);
    assert_eq!(run.finding(T4)["commit"], at("b64").expect("b64").as_str());
    assert!(
        windowed(&run) > 0,
        "some deltas were windowed: {}",
        run.stderr
    );
}

/// How many blobs a `-v` run matched around changes only.
fn windowed(run: &Run) -> u64 {
    run.stderr
        .split("keyward: ")
        .find(|l| l.contains("matched only around their delta's changes"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn versions_stored_whole_are_matched_against_each_other_as_whole_scans_are() {
    // Loose objects, then a pack that stores every version whole (no delta window), as
    // `git fast-import` packs mostly do: the pass pairs versions itself.
    for pack in [false, true] {
        let repo = Repo::new();
        let commits = delta_history(&repo);
        if pack {
            repo.git(&["repack", "-q", "-adf", "--window=0"]);
        }
        let run = both_modes_agree(repo.path());
        let at = |what: &str| {
            commits
                .iter()
                .find(|(w, _)| w == what)
                .map(|(_, c)| c.clone())
        };
        assert_eq!(run.finding(T1)["commit"], at("t1").expect("t1").as_str());
        assert_eq!(run.finding(T3)["commit"], at("t3").expect("t3").as_str());
        assert_eq!(run.finding(T4)["commit"], at("b64").expect("b64").as_str());
        assert!(windowed(&run) > 0, "pack {pack}: {}", run.stderr);
    }
}

#[test]
fn pack_aware_handles_ref_deltas_several_packs_loose_objects_and_a_multi_pack_index() {
    let repo = Repo::new();
    delta_history(&repo);
    // Ref deltas instead of offset deltas.
    repo.git(&[
        "-c",
        "repack.useDeltaBaseOffset=false",
        "repack",
        "-q",
        "-adf",
    ]);
    both_modes_agree(repo.path());
    // A second pack, loose objects on top, and a multi-pack index over the packs.
    repo.write("conf/extra.cfg", &format!("key = \"{T4}\"\n"));
    repo.commit("extra");
    repo.git(&["repack", "-q", "-d"]);
    repo.write("conf/extra.cfg", &format!("key = \"{T4}\"\nmore = 1\n"));
    repo.commit("loose");
    repo.git(&["multi-pack-index", "write"]);
    let run = both_modes_agree(repo.path());
    assert!(run.has(T4));
    let stats = &run.json["stats"]["history"];
    assert!(stats["packs"].as_u64() >= Some(2), "{stats:#}");
    assert!(stats["loose_objects"].as_u64() >= Some(1), "{stats:#}");
}

/// A token inside a long base64 value, two kilobytes after the keyword (`api_key`) whose
/// window starts its decoding, in a version git stores as a delta of the one without it:
/// found, at the commit that added it.
#[test]
fn a_token_deep_in_a_long_encoded_value_is_found_at_its_commit() {
    let repo = Repo::new();
    let words = "the quick brown fox jumps over the lazy dog while seven wizards hum";
    let plain: String = words.repeat(60)[..3000].to_string();
    let token = format!("{:<42}", format!(" {T1} "));
    let filler: String = (0..60)
        .map(|i| format!("line {i} of nothing in particular\n"))
        .collect();
    let blob = |p: &str, tail: &str| format!("{filler}api_key: {}\n{tail}", base64(p.as_bytes()));
    let with = format!("{}{token}{}", &plain[..1500], &plain[1542..]);
    repo.write("data.txt", &blob(&with, &filler[..filler.len() - 200]));
    let added = repo.commit("with the token");
    repo.write("data.txt", &blob(&plain, &filler));
    repo.commit("without");
    repo.git(&["repack", "-q", "-adf"]);
    let run = history(repo.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.finding(T1)["commit"], added.as_str());
    assert_eq!(run.finding(T1)["in_head"], false);
}

/// A repository with a custom rule: keyword `abc`, forty hex digits, the given window
/// after the keyword; and a run of hex digits with `abc` every 61 bytes, `len` long.
fn hex_tile_repo(after: usize, seed: u64, len: usize) -> (Repo, String) {
    let repo = Repo::new();
    repo.write(
        "rules/tile.yaml",
        &format!(
            "rules:\n  - id: 'hex-tile'\n    name: 'hex tile'\n    provider: 'test'\n    \
             category: 'api_key'\n    confidence: 'high'\n    keywords: [abc]\n    \
             pattern: '([0-9a-f]{{40}})'\n    placeholder_check: false\n    \
             window: {{before: 10, after: {after}}}\n"
        ),
    );
    repo.write(".keyward.yaml", "rules:\n  paths: [rules]\n");
    let mut x = seed;
    let mut run = String::new();
    while run.len() < len {
        for _ in 0..58 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            run.push(b"0123456789def"[(x >> 33) as usize % 13] as char);
        }
        run.push_str("abc");
    }
    (repo, run)
}

// The review probes below each describe how an earlier version of the pack-aware pass
// failed on their input; the pass now agrees with `--exhaustive` on all of them.

/// Review probe: a short-reach rule whose keyword hits chain into one merged window that
/// starts farther from an edit than the regions reach. A whole scan tiles the window's
/// matches from the chain's start; the restricted scan starts the window at the first
/// keyword inside the regions, so the matches near the edit differ.
#[test]
fn review_chained_short_windows_past_the_regions() {
    let (repo, run) = hex_tile_repo(100, 5, 2400);
    let filler = "zz zz zz zz zz zz zz zz zz zz zz zz zz zz\n".repeat(60);
    repo.write("data.txt", &format!("#\n{run}\n{filler}"));
    repo.commit("one");
    let mut edited = run.clone().into_bytes();
    edited[1700] = if edited[1700] == b'e' { b'f' } else { b'e' };
    let edited = String::from_utf8(edited).expect("ascii");
    repo.write("data.txt", &format!("#\n{edited}\n{filler}"));
    repo.commit("two");
    repo.git(&["repack", "-q", "-adf"]);
    both_modes_agree(repo.path());
}

/// Review probe: the decoded-bytes budget is per scan. A whole scan spends it on the first
/// encoded regions; the restricted scan of a delta decodes only the regions near its edit,
/// with a fresh budget, and so reports secrets a whole scan does not.
#[test]
fn review_decode_budget_spent_differently() {
    let repo = Repo::new();
    repo.write(
        "rules/zzk.yaml",
        "rules:\n  - id: 'zzk'\n    name: 'zzk'\n    provider: 'test'\n    \
         category: 'api_key'\n    confidence: 'high'\n    keywords: [zzk_]\n    \
         pattern: 'zzk_([a-z0-9]{20})'\n    placeholder_check: false\n    \
         window: {before: 4, after: 40}\ndecoders:\n  max_decoded_bytes: 200\n",
    );
    repo.write(".keyward.yaml", "rules:\n  paths: [rules]\n");
    let line = |i: usize| {
        let value = format!("zzk_{i:04}abcdefgh{:08}", i * 7919);
        format!(
            "password: {}\n# ------------------------------\n",
            base64(value.as_bytes())
        )
    };
    let lines: Vec<String> = (0..300).map(line).collect();
    repo.write("vals.txt", &lines.concat());
    repo.commit("one");
    let mut more = lines.clone();
    more.insert(250, line(1000));
    repo.write("vals.txt", &more.concat());
    repo.commit("two");
    repo.git(&["repack", "-q", "-adf"]);
    both_modes_agree(repo.path());
}

/// Review probe: a long-reach rule's chain of merged windows, with a keyword added in front
/// of the chain's head. The whole scan's window starts earlier, so every match along the
/// chain moves; the pack-aware pass recomputes the group but keeps only the findings near
/// the edit and carries the base's stale ones for the rest.
#[test]
fn review_new_head_of_a_long_chain() {
    let (repo, run) = hex_tile_repo(600, 9, 3000);
    let filler = "zz zz zz zz zz zz zz zz zz zz zz zz zz zz\n".repeat(25);
    repo.write("data.txt", &format!("#\n{filler}{run}\n"));
    repo.commit("one");
    repo.write("data.txt", &format!("#\n{filler}abc1234567{run}\n"));
    repo.commit("two");
    repo.git(&["repack", "-q", "-adf"]);
    both_modes_agree(repo.path());
}

/// Review probe, with the built-in rules: a token inside a long base64 value, two kilobytes
/// after the keyword (`api_key`) whose short window starts its decoding. The version with
/// the token is stored as a delta of the one without; no keyword lies near the edit, so the
/// pack-aware pass never decodes the run and misses the token.
#[test]
fn review_edit_deep_in_a_long_encoded_value() {
    let repo = Repo::new();
    let words = "the quick brown fox jumps over the lazy dog while seven wizards hum";
    let plain: String = words.repeat(60)[..3000].to_string();
    let token = format!("{:<42}", format!(" {T1} "));
    let filler: String = (0..60)
        .map(|i| format!("line {i} of nothing in particular\n"))
        .collect();
    let blob = |p: &str, tail: &str| format!("{filler}api_key: {}\n{tail}", base64(p.as_bytes()));
    let with = format!("{}{token}{}", &plain[..1500], &plain[1542..]);
    repo.write("data.txt", &blob(&with, &filler[..filler.len() - 200]));
    repo.commit("with the token");
    repo.write("data.txt", &blob(&plain, &filler));
    repo.commit("without");
    repo.git(&["repack", "-q", "-adf"]);
    both_modes_agree(repo.path());
}

/// A version that differs from the next only inside a base64 value, a few hundred bytes
/// after the keyword (`api_key`) whose short window starts its decoding: the cut run is
/// decoded again around the edit, and the token is found at its commit as a whole scan
/// finds it.
#[test]
fn pack_aware_decodes_again_a_run_cut_past_its_window() {
    let repo = Repo::new();
    let words = "the quick brown fox jumps over the lazy dog while seven wizards hum";
    let plain: String = words.repeat(10)[..450].to_string();
    let token = format!("{:<42}", format!(" {T1} "));
    let filler: String = (0..80)
        .map(|i| format!("line {i} of nothing in particular\n"))
        .collect();
    let blob = |p: &str| format!("{filler}api_key: {}\n{filler}", base64(p.as_bytes()));
    let with = format!("{}{token}{}", &plain[..200], &plain[242..]);
    repo.write("data.txt", &blob(&with));
    let added = repo.commit("with the token");
    repo.write("data.txt", &blob(&plain));
    repo.commit("without");
    repo.git(&["repack", "-q", "-adf"]);
    let run = both_modes_agree(repo.path());
    assert_eq!(run.finding(T1)["commit"], added.as_str());
}

/// The same for a tracked decoder trigger (`data:`, whose window reaches eight kilobytes):
/// an edit sixteen kilobytes past the window's end, in the run the window takes whole.
#[test]
fn pack_aware_decodes_again_a_long_run_cut_far_past_its_window() {
    let repo = Repo::new();
    let words = "the quick brown fox jumps over the lazy dog while seven wizards hum ";
    let plain: String = words.repeat(400)[..24_000].to_string();
    let token = format!("{:<42}", format!(" {T1} "));
    let filler: String = (0..80)
        .map(|i| format!("line {i} of nothing in particular\n"))
        .collect();
    let blob = |p: &str| format!("{filler}data: {}\n{filler}", base64(p.as_bytes()));
    let with = format!("{}{token}{}", &plain[..18_000], &plain[18_042..]);
    repo.write("data.txt", &blob(&with));
    let added = repo.commit("with the token");
    repo.write("data.txt", &blob(&plain));
    repo.commit("without");
    repo.git(&["repack", "-q", "-adf"]);
    let run = both_modes_agree(repo.path());
    assert_eq!(run.finding(T1)["commit"], added.as_str());
}

/// Three rules whose findings overlap in a chain: A's overlaps B's, B's overlaps C's, and
/// C ranks above B above A. A whole scan drops A for B and then B for C, so only C is
/// reported. In the version stored as a delta, A's keyword is the only change, far from B
/// and C: the pass must still drop A, as a whole scan does.
#[test]
fn pack_aware_removes_a_chain_of_overlaps_as_a_whole_scan_does() {
    let repo = Repo::new();
    let rule = |id: &str, confidence: &str, keyword: &str, pattern: &str, window: &str| {
        format!(
            "  - id: '{id}'\n    name: '{id}'\n    provider: 'test'\n    category: 'api_key'\n    \
             confidence: '{confidence}'\n    keywords: ['{keyword}']\n    pattern: '{pattern}'\n    \
             placeholder_check: false\n    window: {window}\n"
        )
    };
    repo.write(
        "rules/chain.yaml",
        &format!(
            "rules:\n{}{}{}",
            rule(
                "chain-a",
                "low",
                "zqa",
                "zqa[^\\n]{297}([^\\n]{20})",
                "{before: 0, after: 400}"
            ),
            rule(
                "chain-b",
                "medium",
                "zqb",
                "zqb-([0-9a-f]{20})",
                "{before: 0, after: 40}"
            ),
            rule(
                "chain-c",
                "high",
                "zqc",
                "([0-9a-f]{8})-zqc",
                "{before: 40, after: 10}"
            ),
        ),
    );
    repo.write(".keyward.yaml", "rules:\n  paths: [rules]\n");
    let filler: String = (0..60)
        .map(|i| format!("line {i} of nothing in particular\n"))
        .collect();
    // Digits in no pattern git's delta encoder could copy from elsewhere.
    let mut x = 7u64;
    let gap: String = (0..297)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from(b'0' + (x >> 59) as u8 % 10)
        })
        .collect();
    let line = |keyword: &str| format!("{keyword}{gap}.....zqb-4f0c2a9e71b5d3c86e0f9a2b-zqc\n");
    repo.write("chain.txt", &format!("{filler}{}{filler}", line("zqa")));
    repo.commit("with A's keyword");
    repo.write("chain.txt", &format!("{filler}{}{filler}", line("zqx")));
    repo.commit("without");
    repo.git(&["repack", "-q", "-adf"]);
    let run = both_modes_agree(repo.path());
    let rules: Vec<&str> = run
        .findings()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(rules, ["chain-c"], "{:#}", run.json);
}

/// Lines of digits from a linear congruential generator: text git's delta encoder finds
/// nothing to copy from elsewhere in, so an edit stays one clean event.
fn digit_lines(seed: u64, lines: usize) -> Vec<String> {
    let mut x = seed;
    (0..lines)
        .map(|i| {
            let digits: String = (0..50)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    char::from(b'0' + (x >> 59) as u8 % 10)
                })
                .collect();
            format!("{i:03} {digits}\n")
        })
        .collect()
}

/// Review probe: a token that ends its blob, where `\b` matches at the end of the input.
/// The older version (a delta of the newer) drops some lines far above and adds a letter
/// right after the token, so `\b` no longer matches there and a whole scan finds nothing.
/// The token's need (group ± reach, clipped at the base's end) lies in one copy, so the
/// base's hit is carried; the event that ends the copy touches it but carrying ignores
/// events.
#[test]
fn review2_token_at_the_end_of_the_base_gains_a_letter() {
    let repo = Repo::new();
    let lines = digit_lines(11, 80);
    let newer = format!("{}token = {T1}", lines.concat());
    let older = format!(
        "{}{}token = {T1}x\n",
        lines[..10].concat(),
        lines[30..].concat()
    );
    repo.write("data.txt", &older);
    repo.commit("older, the token glued to a letter");
    repo.write("data.txt", &newer);
    repo.commit("newer, the token at the end");
    repo.git(&["repack", "-q", "-adf"]);
    both_modes_agree(repo.path());
}

/// Review probe: the same at the start of the blob, where `\b` matches before the first
/// byte. The older version starts with a letter glued to the token.
#[test]
fn review2_token_at_the_start_of_the_base_gains_a_letter() {
    let repo = Repo::new();
    let lines = digit_lines(12, 80);
    let newer = format!("{T1} token\n{}", lines.concat());
    let older = format!(
        "x{T1} token\n{}{}",
        lines[..50].concat(),
        lines[70..].concat()
    );
    repo.write("data.txt", &older);
    repo.commit("older, a letter glued to the token");
    repo.write("data.txt", &newer);
    repo.commit("newer, the token at the start");
    repo.git(&["repack", "-q", "-adf"]);
    both_modes_agree(repo.path());
}

/// Words picked by a linear congruential generator: text with no long repeats.
fn lcg_words(seed: u64, len: usize) -> String {
    const WORDS: [&str; 16] = [
        "river", "stone", "maple", "quiet", "ember", "lantern", "harbor", "violet", "meadow",
        "copper", "willow", "signal", "orchard", "cinder", "falcon", "prairie",
    ];
    let mut x = seed;
    let mut out = String::new();
    while out.len() < len {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.push_str(WORDS[(x >> 60) as usize]);
        out.push(' ');
    }
    out.truncate(len);
    out
}

/// Review probe, with the built-in rules: a base64 decoder takes a run that *began before*
/// its window whole (`base64_regions` backs up to the run's start). Here the keyword
/// (`token`) follows a three-kilobyte base64 value, and the older version (a delta of the
/// newer) has a token encoded near the value's start. The edit lies far before the window:
/// no keyword is within two short reaches of it, and the record's runs only say how far a
/// run reaches *past* a window, so the pass never decodes the value again and misses the
/// token a whole scan finds.
#[test]
fn review2_run_reaching_back_before_its_window() {
    let repo = Repo::new();
    let plain = lcg_words(21, 2250);
    let with = format!("{} {T1} {}", &plain[..60], &plain[102..]);
    let lines = digit_lines(13, 30);
    let blob = |p: &str| {
        format!(
            "{}value = {} token\n{}",
            lines[..15].concat(),
            base64(p.as_bytes()),
            lines[15..].concat()
        )
    };
    repo.write("data.txt", &blob(&with));
    let added = repo.commit("older, a token in the value");
    repo.write("data.txt", &blob(&plain));
    repo.commit("newer, without");
    repo.git(&["repack", "-q", "-adf"]);
    let whole = history(repo.path(), &["--exhaustive"]);
    assert_eq!(whole.finding(T1)["commit"], added.as_str());
    both_modes_agree(repo.path());
}

/// Review probe, with the built-in rules: the percent decoder takes the whole token around
/// a `%` marker in its window, back to the previous blank or quote, however far. Here a
/// three-kilobyte URL path ends with the only keyword (`%2F`), and the older version (a
/// delta of the newer) has `%20`, a token and `%20` near the path's start. The edit is more
/// than the trigger's reach before the keyword's window, so `long_hits_near` does not count
/// the keyword, and the pass never decodes the token again.
#[test]
fn review2_percent_token_reaching_back_before_its_window() {
    let repo = Repo::new();
    let path = lcg_words(22, 3000).replace(' ', "/");
    let with = format!("{}%20{T1}%20{}", &path[..100], &path[146..]);
    let lines = digit_lines(14, 30);
    let blob = |p: &str| {
        format!(
            "{}link=https://example.com/{p}%2Fend\n{}",
            lines[..15].concat(),
            lines[15..].concat()
        )
    };
    repo.write("data.txt", &blob(&with));
    let added = repo.commit("older, a token in the path");
    repo.write("data.txt", &blob(&path));
    repo.commit("newer, without");
    repo.git(&["repack", "-q", "-adf"]);
    let whole = history(repo.path(), &["--exhaustive"]);
    assert_eq!(whole.finding(T1)["commit"], added.as_str());
    both_modes_agree(repo.path());
}

/// Review probe, with the built-in rules: the escapes decoder takes the whole quoted string
/// around a `\` marker, spaces included, but a decoder group's reach is counted only to the
/// first blank past its window (`blank_from`). Here a `\x2F` keyword opens a quoted string
/// of words, and the older version (a delta of the newer) has `\t` and a token a kilobyte
/// further in the same string: a whole scan decodes the string and finds the token; the
/// pass does not count the keyword and misses it.
#[test]
fn review2_escaped_string_reaching_past_the_first_blank() {
    let repo = Repo::new();
    let words = lcg_words(23, 2000);
    let with = format!("{} \\t{T1} {}", &words[..1500], &words[1544..]);
    let lines = digit_lines(15, 30);
    let blob = |w: &str| {
        format!(
            "{}msg = \"\\x2Fstart {w} end\"\n{}",
            lines[..15].concat(),
            lines[15..].concat()
        )
    };
    repo.write("data.txt", &blob(&with));
    let added = repo.commit("older, a token in the string");
    repo.write("data.txt", &blob(&words));
    repo.commit("newer, without");
    repo.git(&["repack", "-q", "-adf"]);
    let whole = history(repo.path(), &["--exhaustive"]);
    assert_eq!(whole.finding(T1)["commit"], added.as_str());
    both_modes_agree(repo.path());
}

/// Review probe: the decoded-bytes budget check counts only the bytes of runs *past*
/// decoder windows (`runs`), but a whole scan spends the budget on every decoded region,
/// most of which lie inside their windows. With a budget of 200 bytes, the newer version
/// decodes eight values of 24 bytes (192, not exhausted, no decoded finding); the older
/// version (a delta of the newer) adds a ninth at the end, which a whole scan no longer has
/// the budget for. The pass decodes only the values near the edit, with a fresh budget, and
/// reports the ninth value's secret. (The values are spaced so their windows do not merge.)
#[test]
fn review2_budget_spent_inside_windows() {
    let repo = Repo::new();
    repo.write(
        "rules/zzk.yaml",
        "rules:\n  - id: 'zzk'\n    name: 'zzk'\n    provider: 'test'\n    \
         category: 'api_key'\n    confidence: 'high'\n    keywords: [zzk_]\n    \
         pattern: 'zzk_([a-z0-9]{20})'\n    placeholder_check: false\n    \
         window: {before: 4, after: 40}\ndecoders:\n  max_decoded_bytes: 200\n",
    );
    repo.write(".keyward.yaml", "rules:\n  paths: [rules]\n");
    let line = |value: String| {
        format!(
            "password: {}\n{}\n",
            base64(value.as_bytes()),
            "; ".repeat(50)
        )
    };
    let values: String = (0..8)
        .map(|i| line(format!("plain words {i:04} {:08}", i * 7919)))
        .collect();
    let ninth = line("zzk_0008abcdefgh00063352".to_string());
    let comment = "; ; ; ; ; ; ; ; ; ; ; ; ; ; ; ; ; ; ; ; ; ; ; ; ; ; ; ; ;\n".repeat(4);
    let head = format!("token = {T1}\n{comment}");
    repo.write("vals.txt", &format!("{head}{values}{ninth}"));
    repo.commit("older, a ninth value");
    repo.write("vals.txt", &format!("{head}{comment}{values}"));
    repo.commit("newer, eight values");
    repo.git(&["repack", "-q", "-adf"]);
    let whole = history(repo.path(), &["--exhaustive"]);
    assert!(!whole.has("zzk_0008abcdefgh00063352"), "{:#}", whole.json);
    both_modes_agree(repo.path());
}

/// Review probe: the same for a tracked decoder trigger (`data:`, counted by
/// `long_hits_near`): a twelve-kilobyte base64 value followed by `data:`, with the token
/// encoded near the value's start, more than the trigger's reach before its window.
#[test]
fn review2_long_run_reaching_back_before_a_tracked_window() {
    let repo = Repo::new();
    let plain = lcg_words(24, 9000);
    let with = format!("{} {T1} {}", &plain[..60], &plain[102..]);
    let lines = digit_lines(16, 30);
    let blob = |p: &str| {
        format!(
            "{}value = {} data: x\n{}",
            lines[..15].concat(),
            base64(p.as_bytes()),
            lines[15..].concat()
        )
    };
    repo.write("data.txt", &blob(&with));
    let added = repo.commit("older, a token in the value");
    repo.write("data.txt", &blob(&plain));
    repo.commit("newer, without");
    repo.git(&["repack", "-q", "-adf"]);
    let whole = history(repo.path(), &["--exhaustive"]);
    assert_eq!(whole.finding(T1)["commit"], added.as_str());
    both_modes_agree(repo.path());
}

/// Review probe: the escapes decoder pairs a `\` with the byte after it, starting at the
/// first marker it looks at, and a later window of the same trigger starts where the
/// earlier one stopped (`done`). Here a string ends in `zqq\\"` and a second string
/// follows it. A whole scan's first window (keyword `\x2F` at the start of the string)
/// pairs `\\` and stops at the quote; the second window (its `\x2F` 255 bytes past the
/// quote, so the window starts on the second `\`) begins at that quote. The edit, a
/// kilobyte past the second string on the same line, makes only the second window count:
/// the pass decodes it alone from its start, pairs `\"`, takes both strings as one and
/// finds `zqq\"` and a secret that no whole scan decodes.
#[test]
fn review3_escaped_quote_paired_from_a_window_start() {
    let repo = Repo::new();
    repo.write(
        "rules/zqq.yaml",
        "rules:\n  - id: 'zqq'\n    name: 'zqq'\n    provider: 'test'\n    \
         category: 'api_key'\n    confidence: 'high'\n    keywords: [zqq]\n    \
         pattern: 'zqq\\\\\"([0-9a-f]{20})'\n    placeholder_check: false\n    \
         window: {before: 4, after: 40}\n",
    );
    repo.write(".keyward.yaml", "rules:\n  paths: [rules]\n");
    let secret = "7c1e9a04b5d23f68e0a1";
    let words1 = lcg_words(31, 800);
    let words2 = lcg_words(32, 254 - secret.len() - 1);
    let tail = lcg_words(33, 1500);
    let lines = digit_lines(17, 30);
    let blob = |tail: &str| {
        format!(
            "token = {T1}\n{}msg = \"\\x2F{words1}zqq\\\\\"{secret} {words2}\\x2Fend\" {tail}\n{}",
            lines[..15].concat(),
            lines[15..].concat()
        )
    };
    let older = format!("{}{}", &tail[..1000], &tail[1012..]);
    repo.write("data.txt", &blob(&older));
    repo.commit("older, a word less in the tail");
    repo.write("data.txt", &blob(&tail));
    repo.commit("newer");
    repo.git(&["repack", "-q", "-adf"]);
    let whole = history(repo.path(), &["--exhaustive"]);
    assert!(!whole.has(secret), "{:#}", whole.json);
    both_modes_agree(repo.path());
}

/// Review probe: two versions stored whole, the older one a suffix of the newer (the newer
/// adds a key pair before it). The pass pairs them and matches the older as a delta of the
/// newer: its secret key, which two rules match at the same place (the key after its key
/// ID, and the key assigned by name), is then reported under the other rule than a whole
/// scan reports it under.
#[test]
fn a_version_paired_as_a_suffix_of_the_next_keeps_the_whole_scans_rule() {
    let body: String = (0..40)
        .map(|i| format!("value_{i} = {}\n", i * 7919))
        .collect();
    let pair = "aws_access_key_id = AKIALNUE3QGE72BXYRPH\n\
                aws_secret_access_key = \"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\"\n";
    let tail: String = (0..100)
        .map(|i| format!("line_{i} = {}\n", i * 31))
        .collect();
    let old = format!("{body}{pair}{tail}");
    let added = "aws_access_key_id = AKIA2LXBP3OCUTDPBVFF\n\
                 aws_secret_access_key = \"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\"\n\n";
    let repo = Repo::new();
    repo.write("f.txt", &old);
    repo.commit("one");
    repo.write("f.txt", &format!("{added}{old}"));
    repo.commit("two");
    repo.git(&["repack", "-q", "-adf", "--window=0"]);
    repo.git(&["prune-packed"]);
    // One worker: the newer version (first in the pack) is then always the older's base.
    let whole = history(repo.path(), &["--exhaustive", "-j", "1"]);
    let aware = history(repo.path(), &["--pack-aware", "-j", "1", "-v"]);
    assert!(!whole.findings().is_empty(), "{}", whole.stderr);
    assert_eq!(sightings(&whole), sightings(&aware), "{}", aware.stderr);
}
