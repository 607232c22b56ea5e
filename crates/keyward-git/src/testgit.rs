//! Unit-test helper: runs the real `git` in a temporary repository.

use std::path::Path;
use std::process::Command;

/// Runs `git ARGS` in `dir` with a fixed author and committer; panics if it fails.
pub(crate) fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .status()
        .expect("git")
        .success();
    assert!(ok, "git {args:?}");
}
