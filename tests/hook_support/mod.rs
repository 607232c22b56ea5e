//! Repositories for the hook tests: a work tree and a bare remote in a temporary
//! directory, git run with a clean environment (no user or system config, no variables
//! from an enclosing hook), commits dated one minute apart.

#![allow(dead_code)] // each test file uses a different part

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

/// GitHub classic tokens with valid checksums (the built-in rule verifies them).
pub const T1: &str = "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";
pub const T2: &str = "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";
pub const T3: &str = "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";

/// What a command did.
#[derive(Debug)]
pub struct Output {
    pub ok: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// The keyward binary under test.
pub fn keyward_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_keyward"))
}

/// Variables that would make git or keyward look elsewhere than the test says.
const SCRUB: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_QUARANTINE_PATH",
    "GIT_COMMON_DIR",
    "KEYWARD_SKIP",
    "KEYWARD_FAIL_OPEN",
    "KEYWARD",
    "PRE_COMMIT_FROM_REF",
    "PRE_COMMIT_TO_REF",
    "PRE_COMMIT_REMOTE_NAME",
    "PRE_COMMIT_REMOTE_URL",
    "PRE_COMMIT_LOCAL_BRANCH",
    "PRE_COMMIT_REMOTE_BRANCH",
];

/// A command with a clean environment, run in `dir`.
pub fn command(program: &Path, dir: &Path, home: &Path, clock: u64) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir);
    for v in SCRUB {
        cmd.env_remove(v);
    }
    let t = 1_700_000_000 + 60 * clock;
    cmd.env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", home.join("gitconfig"))
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", format!("{t} +0000"))
        .env("GIT_COMMITTER_DATE", format!("{t} +0000"))
        .env("NO_COLOR", "1");
    cmd
}

/// Runs `cmd` with `stdin`, capturing both outputs.
pub fn run(mut cmd: Command, stdin: Option<&str>) -> Output {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    if let Some(text) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait");
    Output {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs git in `dir` and returns its trimmed standard output; panics on failure.
pub fn git_in(dir: &Path, home: &Path, args: &[&str]) -> String {
    let mut cmd = command(Path::new("git"), dir, home, 0);
    cmd.args(args);
    let out = run(cmd, None);
    assert!(out.ok, "git {args:?} failed: {}", out.stderr);
    out.stdout.trim().to_string()
}

pub fn write_executable(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}

/// A work tree (`work/`) and, for most tests, a bare remote (`remote.git/`) named origin.
pub struct Fixture {
    dir: TempDir,
    clock: Cell<u64>,
}

impl Fixture {
    fn bare() -> Fixture {
        let f = Fixture {
            dir: TempDir::new().expect("temp dir"),
            clock: Cell::new(0),
        };
        std::fs::write(f.home().join("gitconfig"), "").expect("empty global config");
        std::fs::create_dir(f.path()).expect("work dir");
        f.git(&["init", "-q", "-b", "main"]);
        f
    }

    /// A work tree with a bare remote and keyward's pre-push hook installed.
    pub fn with_remote() -> Fixture {
        let f = Fixture::with_remote_no_hooks();
        let out = f.keyward(&["install"]);
        assert!(out.ok, "keyward install: {}", out.stderr);
        f
    }

    /// A work tree with a bare remote, no hooks yet.
    pub fn with_remote_no_hooks() -> Fixture {
        let f = Fixture::bare();
        git_in(
            f.home(),
            f.home(),
            &["init", "-q", "--bare", "-b", "main", "remote.git"],
        );
        f.git(&["remote", "add", "origin", "../remote.git"]);
        f
    }

    /// [`Fixture::with_remote`] with a first clean commit already pushed.
    pub fn pushed() -> Fixture {
        let f = Fixture::with_remote();
        f.write("README.md", "# project\n");
        f.commit("init");
        let out = f.push(&["origin", "main"]);
        assert!(out.ok, "first push: {}", out.stderr);
        f
    }

    /// A work tree without a remote, after `keyward ARGS`.
    pub fn local_with(args: &[&str]) -> Fixture {
        let f = Fixture::bare();
        let out = f.keyward(args);
        assert!(out.ok, "keyward {args:?}: {}", out.stderr);
        f
    }

    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// The work tree.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn remote_path(&self) -> PathBuf {
        self.dir.path().join("remote.git")
    }

    fn cmd(&self, program: &Path) -> Command {
        command(program, &self.path(), self.home(), self.clock.get())
    }

    pub fn git_out(&self, args: &[&str]) -> Output {
        let mut cmd = self.cmd(Path::new("git"));
        cmd.args(args);
        run(cmd, None)
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = self.git_out(args);
        assert!(out.ok, "git {args:?} failed: {}", out.stderr);
        out.stdout.trim().to_string()
    }

    pub fn git_status(&self, args: &[&str]) -> bool {
        self.git_out(args).ok
    }

    pub fn write(&self, path: &str, content: &str) {
        let full = self.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(full, content).expect("write");
    }

    pub fn remove(&self, path: &str) {
        std::fs::remove_file(self.path().join(path)).expect("remove");
    }

    /// Stages everything and commits (hooks run); the outcome.
    pub fn commit_out(&self, message: &str) -> Output {
        self.clock.set(self.clock.get() + 1);
        self.git(&["add", "-A"]);
        self.git_out(&["commit", "-q", "--allow-empty", "-m", message])
    }

    pub fn commit_status(&self, message: &str) -> bool {
        self.commit_out(message).ok
    }

    /// Stages everything and commits; returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        let out = self.commit_out(message);
        assert!(out.ok, "commit {message:?} failed: {}", out.stderr);
        self.rev("HEAD")
    }

    pub fn rev(&self, rev: &str) -> String {
        self.git(&["rev-parse", rev])
    }

    pub fn push(&self, args: &[&str]) -> Output {
        self.push_env(args, &[])
    }

    pub fn push_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.cmd(Path::new("git"));
        cmd.arg("push").arg("-q").args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(cmd, None)
    }

    /// What the remote's `name` points to ("" when it does not exist).
    pub fn remote_ref(&self, name: &str) -> String {
        let mut cmd = command(Path::new("git"), &self.remote_path(), self.home(), 0);
        cmd.args(["rev-parse", "-q", "--verify", name]);
        run(cmd, None).stdout.trim().to_string()
    }

    pub fn keyward(&self, args: &[&str]) -> Output {
        let mut cmd = self.cmd(&keyward_bin());
        cmd.args(args);
        run(cmd, None)
    }

    pub fn keyward_stdin(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
        let mut cmd = self.cmd(&keyward_bin());
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(cmd, Some(stdin))
    }
}
