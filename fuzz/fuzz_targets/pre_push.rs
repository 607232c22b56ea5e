//! The pre-push hook's reading of git's ref lines on arbitrary bytes, against a small real
//! repository (two commits and an annotated tag) made with `git` once per process.
#![no_main]

use std::process::Command;
use std::sync::OnceLock;

use keyward_git::Repository;
use libfuzzer_sys::fuzz_target;

fn repo() -> &'static Repository {
    static REPO: OnceLock<(tempfile::TempDir, Repository)> = OnceLock::new();
    &REPO
        .get_or_init(|| {
            let dir = tempfile::TempDir::new().expect("temp dir");
            for args in [
                &["init", "-q", "-b", "main"][..],
                &["commit", "-q", "--allow-empty", "-m", "one"],
                &["tag", "-a", "-m", "t", "v1"],
                &["commit", "-q", "--allow-empty", "-m", "two"],
            ] {
                let ok = Command::new("git")
                    .args(args)
                    .current_dir(dir.path())
                    .env("GIT_CONFIG_GLOBAL", "/dev/null")
                    .env("GIT_CONFIG_NOSYSTEM", "1")
                    .env("GIT_AUTHOR_NAME", "A")
                    .env("GIT_AUTHOR_EMAIL", "a@example.com")
                    .env("GIT_COMMITTER_NAME", "A")
                    .env("GIT_COMMITTER_EMAIL", "a@example.com")
                    .status()
                    .expect("git runs")
                    .success();
                assert!(ok, "git {args:?}");
            }
            let repo = Repository::open(dir.path()).expect("open the repository");
            (dir, repo)
        })
        .1
}

fuzz_target!(|data: &[u8]| keyward_cli::fuzzing::pre_push(repo(), data));
