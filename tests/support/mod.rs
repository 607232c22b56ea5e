//! Helpers shared by the end-to-end tests of reports, suppression and the Action: running
//! the built binary, and git repositories in temporary directories.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// GitHub classic tokens with valid checksums (random, not live credentials).
pub const T1: &str = "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";
pub const T2: &str = "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";
pub const T3: &str = "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";
pub const T4: &str = "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";
/// A Slack bot token (random).
pub const SLACK: &str = "xoxb-263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1";

/// The built keyward binary.
pub fn keyward_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("keyward")
}

/// What a run printed, and how it ended.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Standard output as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

/// Runs keyward with `args` in `dir`, with git's user configuration out of the way.
pub fn keyward(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(keyward_bin())
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("NO_COLOR")
        .output()
        .expect("keyward runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Writes `content` to `rel` under `dir`, creating folders.
pub fn write(dir: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, content).expect("write");
}

/// Runs git in `dir`; panics with its stderr when it fails. Returns trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", "1700000000 +0000")
        .env("GIT_COMMITTER_DATE", "1700000000 +0000")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A git repository in a temporary directory, on branch `main`.
pub struct Repo {
    pub dir: TempDir,
}

impl Repo {
    pub fn new() -> Repo {
        let repo = Repo {
            dir: TempDir::new().expect("temp dir"),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(self.path(), args)
    }

    pub fn write(&self, rel: &str, content: &str) {
        write(self.path(), rel, content);
    }

    /// Stages everything and commits; returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }
}
