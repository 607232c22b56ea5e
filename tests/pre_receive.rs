//! `keyward hook pre-receive` on a real bare repository receiving real pushes: the pushed
//! objects are read from git's quarantine, and the range is checked against the refs the
//! server already has. The client has no hooks, and `--no-verify` changes nothing.

mod hook_support;

use hook_support::{Fixture, T1, T2, T3, keyward_bin, write_executable};

/// A remote with a clean main and an old secret on it (pushed before the server hook was
/// installed), and the pre-receive hook in place.
fn server() -> Fixture {
    let f = Fixture::with_remote_no_hooks();
    f.write("README.md", "# project\n");
    f.commit("init");
    f.write("legacy.cfg", &format!("token={T1}\n"));
    f.commit("legacy secret, from before the hook");
    let out = f.push(&["origin", "main"]);
    assert!(out.ok, "{}", out.stderr);
    let script = format!(
        "#!/bin/sh\nexec '{}' hook pre-receive\n",
        keyward_bin().display()
    );
    write_executable(&f.remote_path().join("hooks").join("pre-receive"), &script);
    f
}

fn assert_rejected(f: &Fixture, out: &hook_support::Output, name: &str, before: &str) {
    assert!(!out.ok, "the server accepted the push:\n{}", out.stderr);
    assert!(out.stderr.contains("push rejected"), "{}", out.stderr);
    assert!(
        out.stderr.contains("--no-verify` does not skip it"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains(T2) && !out.stderr.contains(T3),
        "{}",
        out.stderr
    );
    assert_eq!(f.remote_ref(name), before, "the server's ref moved");
}

#[test]
fn the_server_rejects_new_secrets_and_nothing_else() {
    let f = server();
    let before = f.rev("HEAD");
    f.write("a.txt", "a\n");
    f.commit("clean");
    f.write("b.env", &format!("KEY={T2}\n"));
    let bad = f.commit("secret");
    f.remove("b.env");
    f.commit("removed again");
    let out = f.push(&["--no-verify", "origin", "main"]);
    assert_rejected(&f, &out, "refs/heads/main", &before);
    assert!(out.stderr.contains("b.env:1:5"), "{}", out.stderr);
    assert!(out.stderr.contains(&bad[..12]), "{}", out.stderr);

    // Without the secret, the same work goes through.
    f.git(&["reset", "-q", "--hard", &before]);
    f.write("a.txt", "a\n");
    let good = f.commit("clean");
    let out = f.push(&["origin", "main"]);
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(f.remote_ref("refs/heads/main"), good);
}

#[test]
fn branches_off_old_secrets_tags_and_deletions_go_through() {
    let f = server();
    let base = f.rev("HEAD");
    f.git(&["checkout", "-q", "-b", "topic"]);
    f.write("topic.txt", "t\n");
    let topic = f.commit("topic");
    let out = f.push(&["origin", "topic"]);
    assert!(out.ok, "a new branch off an old secret: {}", out.stderr);
    assert_eq!(f.remote_ref("refs/heads/topic"), topic);
    f.git(&["tag", "-a", "-m", "v1", "v1", &base]);
    let out = f.push(&["origin", "v1"]);
    assert!(out.ok, "a tag of pushed commits: {}", out.stderr);
    let out = f.push(&["origin", "--delete", "topic"]);
    assert!(out.ok, "a deletion: {}", out.stderr);
    assert_eq!(f.remote_ref("refs/heads/topic"), "");
}

#[test]
fn an_annotated_tag_on_a_new_commit_with_a_secret_is_rejected() {
    let f = server();
    f.git(&["checkout", "-q", "-b", "release"]);
    f.write("release.env", &format!("TOKEN={T3}\n"));
    f.commit("release");
    f.git(&["tag", "-a", "-m", "v2", "v2"]);
    let out = f.push(&["origin", "v2"]);
    assert_rejected(&f, &out, "refs/tags/v2", "");
    assert!(out.stderr.contains("release.env:1:7"), "{}", out.stderr);
}

#[test]
fn a_large_push_kept_as_a_pack_in_quarantine_is_read() {
    let f = server();
    let before = f.rev("HEAD");
    // More objects than receive.unpackLimit (100): git keeps the pack as it came.
    for i in 0..120 {
        f.write(&format!("gen/file{i}.txt"), &format!("content {i}\n"));
    }
    f.write("gen/zz.yml", &format!("token: {T2}\n"));
    f.commit("many files");
    let out = f.push(&["origin", "main"]);
    assert_rejected(&f, &out, "refs/heads/main", &before);
    assert!(out.stderr.contains("gen/zz.yml:1:8"), "{}", out.stderr);
    f.remove("gen/zz.yml");
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "--amend", "-m", "many files"]);
    let out = f.push(&["origin", "main"]);
    assert!(out.ok, "{}", out.stderr);
}

#[test]
fn a_multi_ref_push_is_rejected_as_a_whole() {
    let f = server();
    let before = f.rev("HEAD");
    f.write("ok.txt", "ok\n");
    f.commit("ok");
    f.git(&["checkout", "-q", "-b", "side"]);
    f.write("side.ini", &format!("token = {T3}\n"));
    f.commit("side");
    f.git(&["checkout", "-q", "main"]);
    let out = f.push(&["--atomic", "origin", "main", "side"]);
    assert_rejected(&f, &out, "refs/heads/main", &before);
    assert!(out.stderr.contains("side.ini:1:9"), "{}", out.stderr);
    assert_eq!(f.remote_ref("refs/heads/side"), "");
}
