//! Signals and pipes, with the real binary: Ctrl-C (SIGINT, sent with `kill`) in the middle
//! of `keyward history` stops it and leaves nothing behind (no partial `--output` file, no
//! temporary files, nothing written into the repository); output to a pipe that the reader
//! closed (`keyward scan | head -1`) ends quietly, without a panic or a "Broken pipe" message.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{Repo, keyward_bin};

/// A repository with `commits` commits, each adding a 32 KiB file of distinct, code-like
/// text (and every 50th a token), built in one `git fast-import` run.
fn big_history(commits: usize) -> Repo {
    let repo = Repo::new();
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(repo.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import");
    let mut input = std::io::BufWriter::new(child.stdin.take().expect("stdin"));
    // A small linear congruential generator: deterministic, distinct text per file.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut word = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        format!("v{:x}", state >> 40)
    };
    for n in 0..commits {
        let mut text = String::with_capacity(33 * 1024);
        while text.len() < 32 * 1024 {
            text.push_str(&format!("let {} = call({}, {});\n", word(), word(), word()));
        }
        if n % 50 == 0 {
            text.push_str(&format!("token = '{}'\n", support::T1));
        }
        let when = 1_700_000_000 + n;
        write!(
            input,
            "commit refs/heads/main\ncommitter A <a@example.com> {when} +0000\ndata 1\nc\n"
        )
        .and_then(|()| {
            // Each commit continues the branch; no `from` needed within one stream.
            write!(
                input,
                "M 100644 inline src/f{n}.rs\ndata {}\n{text}\n",
                text.len()
            )
        })
        .expect("write to fast-import");
    }
    input.flush().expect("flush");
    drop(input);
    assert!(child.wait().expect("wait").success(), "git fast-import");
    repo.git(&["checkout", "-q", "main"]);
    repo
}

/// Every path under `dir`, sorted.
fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() && !path.is_symlink() {
                todo.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Waits for `child` to end; panics (after killing it) if it is still running after a
/// minute, which only a hang would explain.
fn wait_bounded(child: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("keyward did not stop");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ctrl_c_during_history_leaves_nothing_behind() {
    let repo = big_history(4000);
    let tmp = tempfile::TempDir::new().expect("temp dir");
    let out_dir = tempfile::TempDir::new().expect("temp dir");
    let report = out_dir.path().join("report.json");
    let before = listing(repo.path());

    let mut child = Command::new(keyward_bin())
        .args(["history", "-f", "json", "-o"])
        .arg(&report)
        .arg(repo.path())
        .env("TMPDIR", tmp.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("keyward runs");
    // Let it get into the scan, then press Ctrl-C.
    std::thread::sleep(Duration::from_millis(250));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -INT failed: keyward ended too early");
    let status = wait_bounded(&mut child);
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut stderr).expect("stderr");
    }

    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(2),
            "not ended by SIGINT: {status:?}\n{stderr}"
        );
    }
    assert!(!status.success(), "{status:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !report.exists(),
        "a partial report was left behind ({} bytes)",
        std::fs::metadata(&report).map_or(0, |m| m.len())
    );
    assert_eq!(listing(out_dir.path()), Vec::<PathBuf>::new());
    assert_eq!(
        listing(tmp.path()),
        Vec::<PathBuf>::new(),
        "temporary files left behind"
    );
    assert_eq!(listing(repo.path()), before, "the repository changed");

    // The same run, left alone, finishes and writes the report: the interruption above did
    // cut a run that would have produced one.
    let done = Command::new(keyward_bin())
        .args(["history", "-q", "-f", "json", "-o"])
        .arg(&report)
        .arg(repo.path())
        .env("TMPDIR", tmp.path())
        .status()
        .expect("keyward runs");
    assert_eq!(done.code(), Some(1));
    let text = std::fs::read_to_string(&report).expect("report");
    assert!(text.contains("github-pat-classic"), "{text}");
}

/// Runs keyward with `args` in `dir`, reads one line of its output and closes the pipe, as
/// `keyward … | head -1` does; returns the exit code and standard error.
fn read_one_line_then_close(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(keyward_bin())
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("keyward runs");
    let mut line = String::new();
    {
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        reader.read_line(&mut line).expect("read a line");
    } // The reader, and with it the pipe, is gone.
    let status = wait_bounded(&mut child);
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut stderr).expect("stderr");
    }
    (status.code(), line, stderr)
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    // 4,000 findings: half a megabyte of report, far more than a pipe holds.
    let repo = Repo::new();
    for i in 0..20 {
        let lines: String = (0..200)
            .map(|j| format!("KEY_{j}=AKIAZ7QR4MXKD2PLW6NB\n"))
            .collect();
        repo.write(&format!("conf/f{i}.env"), &lines);
    }
    repo.commit("keys");
    for args in [
        &["scan", "."][..],
        &["scan", "-f", "jsonl", "."],
        &["scan", "-f", "json", "--show-secrets", "."],
        &["history", "."],
        &["history", "-f", "sarif", "."],
    ] {
        let (code, line, stderr) = read_one_line_then_close(repo.path(), args);
        assert!(!line.is_empty(), "{args:?}: no output");
        // Whatever was found, the run ends normally (not by a signal, not with an error).
        assert!(matches!(code, Some(0 | 1)), "{args:?}: {code:?} {stderr}");
        assert!(
            !stderr.to_lowercase().contains("broken pipe") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("error"), "{args:?}: {stderr}");
    }
}
