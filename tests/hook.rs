//! The hooks end to end: real repositories in temporary directories, a local bare remote,
//! hooks installed by `keyward install`, and real `git push` / `git commit` calls that the
//! hook must reject or let through. The server-side hook is in `tests/pre_receive.rs`.

mod hook_support;

use hook_support::{Fixture, T1, T2, T3};

/// A push that the hook must block: git fails, the remote's ref did not move, and the
/// message names the file, line, rule and commit, with the secret redacted.
fn assert_blocked(f: &Fixture, out: &hook_support::Output, remote_ref: &str, before: &str) {
    assert!(!out.ok, "the push went through:\n{}", out.stderr);
    assert!(
        out.stderr.contains("push blocked"),
        "no keyward message:\n{}",
        out.stderr
    );
    assert_eq!(f.remote_ref(remote_ref), before, "the remote ref moved");
    for secret in [T1, T2, T3] {
        assert!(
            !out.stderr.contains(secret),
            "a secret was printed in full:\n{}",
            out.stderr
        );
    }
    assert!(out.stderr.contains("github-pat-classic"), "{}", out.stderr);
    assert!(out.stderr.contains("ghp_…"), "{}", out.stderr);
    assert!(
        out.stderr.contains("git push --no-verify"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("KEYWARD_SKIP=1"), "{}", out.stderr);
    assert!(out.stderr.contains("keyward:allow"), "{}", out.stderr);
    assert!(out.stderr.contains("git commit --amend"), "{}", out.stderr);
    assert!(out.stderr.contains("rotate or"), "{}", out.stderr);
}

fn assert_pushed(f: &Fixture, out: &hook_support::Output, remote_ref: &str, expected: &str) {
    assert!(out.ok, "the push was refused:\n{}", out.stderr);
    assert_eq!(f.remote_ref(remote_ref), expected);
}

fn short(id: &str) -> &str {
    &id[..12]
}

#[test]
fn clean_pushes_go_through() {
    let f = Fixture::with_remote();
    f.write("src/app.py", "print('hello')\n");
    f.commit("first");
    let out = f.push(&["origin", "main"]);
    assert_pushed(&f, &out, "refs/heads/main", &f.rev("HEAD"));
    f.write("src/app.py", "print('hello, world')\n");
    let tip = f.commit("second");
    let out = f.push(&["origin", "main"]);
    assert_pushed(&f, &out, "refs/heads/main", &tip);
    assert!(
        out.stderr.is_empty() || !out.stderr.contains("keyward"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_secret_in_the_newest_commit_is_blocked_with_an_actionable_message() {
    let f = Fixture::pushed();
    let before = f.rev("HEAD");
    f.write(
        "config/settings.py",
        &format!("DEBUG = False\nTOKEN = '{T1}'\n"),
    );
    let c = f.commit("add settings");
    let out = f.push(&["origin", "main"]);
    assert_blocked(&f, &out, "refs/heads/main", &before);
    assert!(
        out.stderr.contains("config/settings.py:2:10"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(short(&c)),
        "the commit is named:\n{}",
        out.stderr
    );
    assert!(out.stderr.contains("to origin"), "{}", out.stderr);

    // The emergency exits.
    let out = f.push_env(&["origin", "main"], &[("KEYWARD_SKIP", "1")]);
    assert_pushed(&f, &out, "refs/heads/main", &c);
    assert!(out.stderr.contains("KEYWARD_SKIP"), "{}", out.stderr);
}

#[test]
fn a_secret_in_a_middle_commit_or_added_and_removed_within_the_push_is_blocked() {
    let f = Fixture::pushed();
    let before = f.rev("HEAD");
    f.write("a.txt", "one\n");
    f.commit("one");
    f.write("b.env", &format!("GITHUB_TOKEN={T1}\n"));
    let middle = f.commit("two");
    f.write("a.txt", "one\nthree\n");
    f.commit("three");
    let out = f.push(&["origin", "main"]);
    assert_blocked(&f, &out, "refs/heads/main", &before);
    assert!(out.stderr.contains("b.env:1:14"), "{}", out.stderr);
    assert!(out.stderr.contains(short(&middle)), "{}", out.stderr);

    // Removing it in a later commit does not help: the commit that added it is pushed too.
    f.remove("b.env");
    f.commit("remove the token");
    let out = f.push(&["origin", "main"]);
    assert_blocked(&f, &out, "refs/heads/main", &before);
    assert!(out.stderr.contains(short(&middle)), "{}", out.stderr);
}

#[test]
fn every_ref_of_a_multi_ref_push_is_checked() {
    let f = Fixture::pushed();
    let before = f.rev("HEAD");
    f.write("main.txt", "more\n");
    f.commit("main moves on");
    f.git(&["checkout", "-q", "-b", "feature"]);
    f.write(
        "deploy.sh",
        &format!("curl -H 'Authorization: token {T2}' example.com\n"),
    );
    let c = f.commit("deploy script");
    f.git(&["checkout", "-q", "main"]);
    let out = f.push(&["origin", "main", "feature"]);
    assert!(!out.ok, "{}", out.stderr);
    assert!(out.stderr.contains("deploy.sh:1"), "{}", out.stderr);
    assert!(out.stderr.contains(short(&c)), "{}", out.stderr);
    assert_eq!(
        f.remote_ref("refs/heads/main"),
        before,
        "no ref of the push moved"
    );
    assert_eq!(f.remote_ref("refs/heads/feature"), "");
}

#[test]
fn a_new_branch_that_adds_a_secret_is_blocked() {
    let f = Fixture::pushed();
    f.git(&["checkout", "-q", "-b", "topic"]);
    f.write("notes.md", "clean\n");
    f.commit("notes");
    f.write("app.js", &format!("const token = \"{T3}\";\n"));
    f.commit("wire the client");
    let out = f.push(&["origin", "topic"]);
    assert!(!out.ok, "{}", out.stderr);
    assert!(out.stderr.contains("app.js:1:16"), "{}", out.stderr);
    assert_eq!(f.remote_ref("refs/heads/topic"), "");
}

#[test]
fn old_pushed_secrets_block_nothing_new_branches_tags_renames_and_deletions() {
    let f = Fixture::pushed();
    // A secret that the remote already has (pushed before the hook, or with --no-verify).
    f.write("legacy.cfg", &format!("token={T1}\n"));
    let old = f.commit("legacy");
    let out = f.push(&["--no-verify", "origin", "main"]);
    assert_pushed(&f, &out, "refs/heads/main", &old);

    // A new branch off that main checks only its own commits.
    f.git(&["checkout", "-q", "-b", "topic"]);
    f.write("feature.txt", "x\n");
    let topic = f.commit("feature");
    let out = f.push(&["origin", "topic"]);
    assert_pushed(&f, &out, "refs/heads/topic", &topic);

    // A rename of the file that holds it introduces nothing new.
    f.git(&["mv", "legacy.cfg", "legacy-renamed.cfg"]);
    let moved = f.commit("move config");
    let out = f.push(&["origin", "topic"]);
    assert_pushed(&f, &out, "refs/heads/topic", &moved);

    // Tags of pushed commits, lightweight and annotated.
    f.git(&["tag", "v1", &old]);
    f.git(&["tag", "-a", "-m", "release", "v1-annotated", &old]);
    let out = f.push(&["origin", "v1", "v1-annotated"]);
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(f.remote_ref("refs/tags/v1"), old);

    // Deleting a branch sends nothing.
    let out = f.push(&["origin", "--delete", "topic"]);
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(f.remote_ref("refs/heads/topic"), "");
}

#[test]
fn a_force_push_checks_only_what_the_remote_does_not_have() {
    let f = Fixture::pushed();
    f.write("a.txt", "one\n");
    let pushed = f.commit("one");
    assert!(f.push(&["origin", "main"]).ok);
    // Rewritten: the amended commit adds a secret in another file.
    f.write("b.yml", &format!("token: {T3}\n"));
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "--amend", "-m", "one, amended"]);
    let out = f.push(&["--force", "origin", "main"]);
    assert_blocked(&f, &out, "refs/heads/main", &pushed);
    assert!(out.stderr.contains("b.yml:1:8"), "{}", out.stderr);
    f.remove("b.yml");
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "--amend", "-m", "one, amended"]);
    let rewritten = f.rev("HEAD");
    let out = f.push(&["--force", "origin", "main"]);
    assert_pushed(&f, &out, "refs/heads/main", &rewritten);
}

#[test]
fn a_first_push_of_a_long_history_goes_to_the_history_engine() {
    let f = Fixture::with_remote();
    // 2,100 commits (more than the range engine takes), the 1,000th adding a secret.
    let mut stream = String::new();
    for i in 1..=2100 {
        let content = if i == 1000 {
            format!("token = '{T2}'\n")
        } else {
            format!("n = {i}\n")
        };
        let file = if i == 1000 { "secret.py" } else { "count.py" };
        stream.push_str(&format!(
            "commit refs/heads/main\nmark :{i}\ncommitter A <a@example.com> {} +0000\n\
             data 2\nc\n{}M 100644 inline {file}\ndata {}\n{content}\n",
            1_700_000_000 + i,
            if i > 1 {
                format!("from :{}\n", i - 1)
            } else {
                String::new()
            },
            content.len()
        ));
        if i == 1001 {
            stream.push_str("D secret.py\n");
        }
    }
    let out = hook_support::run(
        {
            let mut cmd =
                hook_support::command(std::path::Path::new("git"), &f.path(), f.home(), 0);
            cmd.args(["fast-import", "--quiet"]);
            cmd
        },
        Some(&stream),
    );
    assert!(out.ok, "fast-import: {}", out.stderr);
    f.git(&["reset", "-q", "--hard", "main"]);
    let secret = f.git(&[
        "log",
        "--format=%H",
        "--diff-filter=A",
        "main",
        "--",
        "secret.py",
    ]);
    let out = f.push(&["origin", "main"]);
    assert!(!out.ok, "{}", out.stderr);
    assert!(out.stderr.contains("secret.py:1:10"), "{}", out.stderr);
    assert_eq!(f.remote_ref("refs/heads/main"), "");
    assert!(
        out.stderr.contains(&secret[..12]),
        "the commit is named: {}",
        out.stderr
    );
}

#[test]
fn an_annotated_tag_on_a_new_commit_with_a_secret_is_blocked() {
    let f = Fixture::pushed();
    f.git(&["checkout", "-q", "-b", "release"]);
    f.write("release.env", &format!("TOKEN={T2}\n"));
    let c = f.commit("release config");
    f.git(&["tag", "-a", "-m", "v2", "v2"]);
    f.git(&["checkout", "-q", "main"]);
    let out = f.push(&["origin", "v2"]);
    assert!(!out.ok, "{}", out.stderr);
    assert!(out.stderr.contains("release.env:1:7"), "{}", out.stderr);
    assert!(out.stderr.contains(short(&c)), "{}", out.stderr);
    assert_eq!(f.remote_ref("refs/tags/v2"), "");
}

#[test]
fn a_secret_that_only_a_merge_resolution_adds_is_blocked_a_plain_merge_is_not() {
    let f = Fixture::pushed();
    f.write("settings.ini", "[auth]\nmode = none\n");
    f.commit("settings");
    f.push(&["origin", "main"]);
    // Already-pushed work on a branch, including a secret in another file.
    f.git(&["checkout", "-q", "-b", "side"]);
    f.write("settings.ini", "[auth]\nmode = basic\n");
    f.write("side.cfg", &format!("token={T3}\n"));
    f.commit("side settings");
    let out = f.push(&["--no-verify", "origin", "side"]);
    assert!(out.ok, "{}", out.stderr);
    f.git(&["checkout", "-q", "main"]);
    f.write("settings.ini", "[auth]\nmode = digest\n");
    let main_tip = f.commit("main settings");
    let out = f.push(&["origin", "main"]);
    assert_pushed(&f, &out, "refs/heads/main", &main_tip);

    // The conflict is resolved with a secret that neither side had.
    let merge = f.git_status(&["merge", "-q", "side", "-m", "merge side"]);
    assert!(!merge, "the merge conflicts");
    f.write(
        "settings.ini",
        &format!("[auth]\nmode = token\ntoken = {T1}\n"),
    );
    let m = f.commit("merge side");
    let out = f.push(&["origin", "main"]);
    assert_blocked(&f, &out, "refs/heads/main", &main_tip);
    assert!(out.stderr.contains("settings.ini:3:9"), "{}", out.stderr);
    assert!(
        out.stderr.contains(short(&m)),
        "the merge is named:\n{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("side.cfg"),
        "already pushed:\n{}",
        out.stderr
    );

    // Resolved without one, the merge of already-pushed work (with its secret) goes through.
    f.git(&["reset", "-q", "--hard", &main_tip]);
    assert!(!f.git_status(&["merge", "-q", "side", "-m", "merge side"]));
    f.write("settings.ini", "[auth]\nmode = basic\n");
    let m = f.commit("merge side");
    let out = f.push(&["origin", "main"]);
    assert_pushed(&f, &out, "refs/heads/main", &m);
}

#[test]
fn a_push_to_a_url_instead_of_a_remote_name_is_checked() {
    let f = Fixture::pushed();
    let url = f.remote_path().to_string_lossy().into_owned();
    let before = f.rev("HEAD");
    f.write("ci.yml", &format!("token: {T2}\n"));
    f.commit("ci");
    let out = f.push(&[&url, "main"]);
    assert_blocked(&f, &out, "refs/heads/main", &before);
    assert!(out.stderr.contains("ci.yml:1:8"), "{}", out.stderr);
    // What the remote has is known from the pushed ref's old value and every
    // remote-tracking ref: a clean commit on top of pushed history goes through.
    f.git(&["reset", "-q", "--hard", &before]);
    f.write("ok.txt", "fine\n");
    let c = f.commit("fine");
    let out = f.push(&[&url, "main"]);
    assert_pushed(&f, &out, "refs/heads/main", &c);
}

#[test]
fn an_inline_allow_or_the_config_baseline_lets_a_false_positive_through() {
    let f = Fixture::pushed();
    f.write(
        "docs/example.md",
        &format!("token = '{T1}'  # keyward:allow reason=\"documented sample\"\n"),
    );
    let c = f.commit("docs");
    let out = f.push(&["origin", "main"]);
    assert_pushed(&f, &out, "refs/heads/main", &c);

    // A baseline named in .keyward.yaml: findings recorded there are accepted.
    f.write("fixtures/token.txt", &format!("{T2}\n"));
    f.write(".keyward.yaml", "baseline: .keyward-baseline.json\n");
    let out = f.keyward(&["baseline", "create", "."]);
    assert!(out.ok, "{}", out.stderr);
    let c = f.commit("fixture with its baseline");
    let out = f.push(&["origin", "main"]);
    assert_pushed(&f, &out, "refs/heads/main", &c);
}

#[test]
fn an_existing_hook_is_chained_and_restored() {
    let f = Fixture::with_remote_no_hooks();
    let hooks = f.path().join(".git/hooks");
    std::fs::create_dir_all(&hooks).expect("hooks dir");
    let mine = "#!/bin/sh\necho \"$1\" >> \"$(git rev-parse --git-dir)/mine.log\"\ncat >> \"$(git rev-parse --git-dir)/mine.log\"\n";
    hook_support::write_executable(&hooks.join("pre-push"), mine);
    let out = f.keyward(&["install"]);
    assert!(out.ok, "{}", out.stderr);
    assert!(out.stderr.contains("keyward-chained"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-push.keyward-chained")).expect("kept"),
        mine
    );

    f.write("a.txt", "a\n");
    let c = f.commit("a");
    let out = f.push(&["origin", "main"]);
    assert_pushed(&f, &out, "refs/heads/main", &c);
    let log = std::fs::read_to_string(f.path().join(".git/mine.log")).expect("the old hook ran");
    assert!(
        log.contains("origin") && log.contains(&c),
        "it got the arguments and ref lines: {log}"
    );

    f.write("t.env", &format!("T={T3}\n"));
    f.commit("token");
    let out = f.push(&["origin", "main"]);
    assert_blocked(&f, &out, "refs/heads/main", &c);

    // A second install updates keyward's shim and keeps the chain.
    let out = f.keyward(&["install"]);
    assert!(out.ok && out.stderr.contains("updated"), "{}", out.stderr);
    let out = f.keyward(&["uninstall"]);
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-push")).expect("restored"),
        mine
    );
    assert!(!hooks.join("pre-push.keyward-chained").exists());
    // Uninstalling again leaves the user's hook alone.
    let out = f.keyward(&["uninstall"]);
    assert!(out.stderr.contains("left"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-push")).expect("kept"),
        mine
    );
}

#[test]
fn install_refuses_a_hook_it_cannot_chain_and_force_keeps_a_backup() {
    let f = Fixture::with_remote_no_hooks();
    let hooks = f.path().join(".git/hooks");
    std::fs::create_dir_all(&hooks).expect("hooks dir");
    std::fs::write(hooks.join("pre-push"), "#!/bin/sh\nexit 0\n").expect("write");
    // Not executable: git does not run it, so chaining it would change what runs.
    let out = f.keyward(&["install"]);
    assert!(!out.ok, "{}", out.stderr);
    assert!(
        out.stderr.contains("--force"),
        "says how to proceed: {}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-push")).expect("untouched"),
        "#!/bin/sh\nexit 0\n"
    );
    let out = f.keyward(&["install", "--force", "--pre-push", "--pre-commit"]);
    assert!(out.ok, "{}", out.stderr);
    assert!(hooks.join("pre-push.keyward-backup").exists());
    assert!(hooks.join("pre-commit").exists());
    let out = f.keyward(&["uninstall"]);
    assert!(out.ok, "{}", out.stderr);
    assert!(!hooks.join("pre-push").exists() && !hooks.join("pre-commit").exists());
    assert!(
        hooks.join("pre-push.keyward-backup").exists(),
        "the backup stays"
    );
}

#[test]
fn core_hooks_path_is_honoured() {
    let f = Fixture::with_remote_no_hooks();
    f.git(&["config", "core.hooksPath", ".githooks"]);
    let out = f.keyward(&["install", "--pre-push", "--pre-commit"]);
    assert!(out.ok, "{}", out.stderr);
    assert!(f.path().join(".githooks/pre-push").exists());
    assert!(!f.path().join(".git/hooks/pre-push").exists());
    f.write("k.txt", &format!("{T1}\n"));
    let committed = f.commit_status("token");
    assert!(!committed, "the pre-commit hook in core.hooksPath ran");
}

#[test]
fn the_hook_fails_closed_on_an_unreadable_object_unless_told_to_fail_open() {
    let f = Fixture::pushed();
    let before = f.rev("HEAD");
    f.write("big.txt", "some content that will go missing\n");
    let c = f.commit("content");
    let blob = f.git(&["rev-parse", "HEAD:big.txt"]);
    std::fs::remove_file(
        f.path()
            .join(".git/objects")
            .join(&blob[..2])
            .join(&blob[2..]),
    )
    .expect("remove the loose blob");
    let out = f.push(&["origin", "main"]);
    assert!(!out.ok);
    assert!(out.stderr.contains("could not check"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&blob),
        "names the object: {}",
        out.stderr
    );
    assert_eq!(f.remote_ref("refs/heads/main"), before);

    // The hook itself: exit 2 closed, exit 0 with a warning open (flag or config).
    let line = format!("refs/heads/main {c} refs/heads/main {before}\n");
    let url = f.remote_path().to_string_lossy().into_owned();
    let out = f.keyward_stdin(&["hook", "pre-push", "origin", &url], &line, &[]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let out = f.keyward_stdin(
        &["hook", "pre-push", "origin", &url, "--fail-open"],
        &line,
        &[],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("fail_open"), "{}", out.stderr);
    f.write(".keyward.yaml", "fail_open: true\n");
    let out = f.keyward_stdin(&["hook", "pre-push", "origin", &url], &line, &[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("warning"), "{}", out.stderr);
}

#[test]
fn the_pre_commit_framework_range_comes_from_its_environment() {
    let f = Fixture::pushed();
    let base = f.rev("HEAD");
    f.write("x.env", &format!("TOKEN={T1}\n"));
    let tip = f.commit("token");
    let env = [
        ("PRE_COMMIT_FROM_REF", base.as_str()),
        ("PRE_COMMIT_TO_REF", tip.as_str()),
        ("PRE_COMMIT_REMOTE_NAME", "origin"),
    ];
    let out = f.keyward_stdin(&["hook", "pre-push"], "", &env);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("x.env:1:7"), "{}", out.stderr);
    let env = [
        ("PRE_COMMIT_FROM_REF", base.as_str()),
        ("PRE_COMMIT_TO_REF", base.as_str()),
    ];
    let out = f.keyward_stdin(&["hook", "pre-push"], "", &env);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let out = f.keyward_stdin(&["hook", "pre-push"], "", &[]);
    assert_eq!(
        out.code,
        Some(2),
        "no range: an error, not a pass:\n{}",
        out.stderr
    );
}

// ---- pre-commit ----

#[test]
fn pre_commit_blocks_staged_secrets_including_the_first_commit() {
    let f = Fixture::local_with(&["install", "--pre-commit"]);
    f.write("README.md", "hello\n");
    f.write("app/.env", &format!("API=1\nGITHUB_TOKEN={T2}\n"));
    let out = f.commit_out("first");
    assert!(!out.ok, "{}", out.stderr);
    assert!(out.stderr.contains("commit blocked"), "{}", out.stderr);
    assert!(out.stderr.contains("app/.env:2:14"), "{}", out.stderr);
    assert!(
        out.stderr.contains("git commit --no-verify"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(T2), "{}", out.stderr);
    assert!(
        !f.git_status(&["rev-parse", "-q", "--verify", "HEAD"]),
        "nothing committed"
    );

    f.write("app/.env", "API=1\nGITHUB_TOKEN=${GITHUB_TOKEN}\n");
    assert!(
        f.commit_status("first"),
        "a clean first commit goes through"
    );
}

#[test]
fn pre_commit_lets_renames_deletions_binaries_and_old_secrets_through() {
    let f = Fixture::local_with(&["install", "--pre-commit"]);
    f.write("old.cfg", &format!("token={T1}\n"));
    f.write("keep.txt", "a\n");
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "--no-verify", "-m", "old secret"]);
    // Editing another line of a file that already holds a secret.
    f.write("old.cfg", &format!("# header\ntoken={T1}\n"));
    assert!(f.commit_status("edit"), "an old secret is not new");
    f.git(&["mv", "old.cfg", "moved.cfg"]);
    assert!(f.commit_status("rename"));
    f.remove("moved.cfg");
    assert!(f.commit_status("delete"));
    let mut binary = vec![0u8, 1, 2, 3];
    binary.extend_from_slice(format!("token={T3}").as_bytes());
    std::fs::write(f.path().join("blob.bin"), binary).expect("write");
    assert!(f.commit_status("binary"), "binary files are skipped");
}

#[test]
fn pre_commit_sees_what_git_commit_dash_a_stages() {
    let f = Fixture::local_with(&["install", "--pre-commit"]);
    f.write("tracked.py", "x = 1\n");
    assert!(f.commit_status("tracked"));
    f.write("tracked.py", &format!("x = 1\ntoken = '{T3}'\n"));
    // Not staged: only `commit -a` stages it, into a temporary index.
    let out = f.git_out(&["commit", "-a", "-m", "dash a"]);
    assert!(!out.ok, "{}", out.stderr);
    assert!(out.stderr.contains("tracked.py:2:10"), "{}", out.stderr);
    f.write("tracked.py", "x = 2\n");
    let out = f.git_out(&["commit", "-a", "-m", "dash a"]);
    assert!(out.ok, "{}", out.stderr);
}
