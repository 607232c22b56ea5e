//! Hostile and broken repositories and inputs: damaged packs and objects, cyclic and
//! dangling trees, a very long history, huge, numerous and oddly named files, symbolic links
//! out of the tree, submodules, unborn and empty repositories. Each is built with real git
//! (and file surgery where git will not make the damage) and run through the real binary:
//! no panic, a clear message, the right exit code, and a secret planted elsewhere still
//! found.
//!
//! Covered elsewhere: a loose object that is not zlib data, a pack entry with flipped
//! bytes, a shallow clone (a push from one is here), LFS pointers, gitlinks and non-UTF-8
//! paths in history (`tests/history.rs`); a missing blob in a pushed commit and a first push
//! of 2,100 commits (`tests/hook.rs`); binary, oversized and unreadable files and symlink
//! loops in `scan` (`tests/scan.rs`).

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use support::{Output, Repo, T1, T2, T3, git, keyward, keyward_bin, write};
use tempfile::TempDir;

/// `keyward history REPO --format json --show-secrets ARGS`.
fn history(repo: &Path, args: &[&str]) -> Output {
    let repo = repo.to_string_lossy();
    let mut all = vec!["history", &*repo, "--format", "json", "--show-secrets"];
    all.extend_from_slice(args);
    keyward(Path::new("."), &all)
}

/// The secrets a JSON report holds (they are shown in full: `--show-secrets`).
fn secrets(out: &Output) -> Vec<String> {
    out.json()["findings"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|f| f["secret"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `keyward ARGS` in `dir` with `stdin`, git's configuration out of the way.
fn keyward_stdin(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(keyward_bin())
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("KEYWARD_SKIP")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("keyward runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `keyward hook pre-push` for one new ref `tip` (the remote has `old`, or nothing).
fn pre_push(repo: &Path, tip: &str, old: Option<&str>) -> Output {
    let zero = "0".repeat(40);
    let line = format!(
        "refs/heads/main {tip} refs/heads/main {}\n",
        old.unwrap_or(&zero)
    );
    keyward_stdin(repo, &["hook", "pre-push", "origin", "nowhere"], &line)
}

/// No panic message, no raw terminal control character, in what a run printed.
fn assert_sane(out: &Output) {
    for text in [&out.stdout, &out.stderr] {
        assert!(
            !text.contains("panicked") && !text.contains("RUST_BACKTRACE"),
            "a panic:\n{text}"
        );
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "a raw control character:\n{text:?}"
        );
    }
}

/// Makes a file of the object database writable (git writes them read-only).
fn writable(path: &Path) {
    let mut perms = std::fs::metadata(path).expect("exists").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(path, perms).expect("chmod");
}

fn loose_object(repo: &Path, id: &str) -> PathBuf {
    repo.join(".git/objects").join(&id[..2]).join(&id[2..])
}

/// The one pack of a repository.
fn the_pack(repo: &Path) -> PathBuf {
    std::fs::read_dir(repo.join(".git/objects/pack"))
        .expect("pack dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .expect("a pack")
}

/// (offset, size in the pack) of an object, from `git verify-pack -v`.
fn pack_entry(repo: &Path, pack: &Path, id: &str) -> (usize, usize) {
    let verify = git(
        repo,
        &[
            "verify-pack",
            "-v",
            &pack.with_extension("idx").to_string_lossy(),
        ],
    );
    let line = verify
        .lines()
        .find(|l| l.starts_with(id))
        .expect("the object is in the pack");
    let fields: Vec<&str> = line.split_whitespace().collect();
    (
        fields[4].parse().expect("offset"),
        fields[3].parse().expect("size"),
    )
}

/// Writes a loose object file holding exactly `raw` (header included) under the id `id`,
/// whatever `raw` hashes to: zlib with stored (uncompressed) deflate blocks, by hand, since
/// git will not write a broken object.
fn plant_loose(repo: &Path, id: &str, raw: &[u8]) {
    let mut z = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = raw.chunks(0xffff).collect();
    for (k, chunk) in chunks.iter().enumerate() {
        z.push(u8::from(k + 1 == chunks.len()));
        let len = chunk.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(chunk);
    }
    if raw.is_empty() {
        z.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in raw {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let target = loose_object(repo, id);
    std::fs::create_dir_all(target.parent().expect("dir")).expect("mkdir");
    if target.exists() {
        writable(&target);
    }
    std::fs::write(&target, z).expect("plant");
}

// ---- damaged object databases ----

#[test]
fn a_truncated_pack_names_what_is_lost_and_the_rest_is_scanned() {
    let repo = Repo::new();
    let filler: String = (0..3000).map(|i| format!("row {i} of filler\n")).collect();
    for i in 0..4 {
        repo.write(&format!("data/{i}.txt"), &format!("{i}\n{filler}"));
    }
    repo.commit("packed");
    repo.git(&["repack", "-q", "-adf"]);
    repo.write("app.env", &format!("GITHUB_TOKEN={T1}\n"));
    let loose = repo.commit("loose secret");
    let pack = the_pack(repo.path());
    writable(&pack);
    let len = std::fs::metadata(&pack).expect("pack").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&pack)
        .expect("open")
        .set_len(len / 2)
        .expect("truncate");

    let out = history(repo.path(), &[]);
    assert_sane(&out);
    assert_eq!(out.code, 1, "findings win over the damage: {}", out.stderr);
    assert_eq!(secrets(&out), [T1]);
    assert_eq!(out.json()["findings"][0]["commit"], loose.as_str());
    assert!(
        out.stderr.contains("cannot read"),
        "the damage is named: {}",
        out.stderr
    );
    assert!(out.json()["stats"]["history"]["unreadable_objects"].as_u64() > Some(0));

    // With nothing found, an incomplete scan is an error, never a clean pass.
    std::fs::remove_file(loose_object(
        repo.path(),
        &repo.git(&["rev-parse", "HEAD:app.env"]),
    ))
    .expect("rm");
    let out = history(repo.path(), &[]);
    assert_sane(&out);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("could not be read"), "{}", out.stderr);
}

#[test]
fn bad_checksums_in_a_pack_lose_only_the_damaged_entry() {
    let repo = Repo::new();
    repo.write("secret.env", &format!("TOKEN={T1}\n"));
    let filler: String = (0..2000).map(|i| format!("line {i} of text\n")).collect();
    repo.write("big.txt", &filler);
    repo.commit("start");
    repo.git(&["repack", "-q", "-adf"]);
    let pack = the_pack(repo.path());
    let idx = pack.with_extension("idx");
    let secret = repo.git(&["rev-parse", "HEAD:secret.env"]);
    let big = repo.git(&["rev-parse", "HEAD:big.txt"]);

    let (offset, _) = pack_entry(repo.path(), &pack, &secret);
    let (big_at, big_len) = pack_entry(repo.path(), &pack, &big);
    // The CRC32 the index keeps of the secret's entry: git checks it only when it copies
    // the entry into another pack, so reading it must still work.
    let mut index = std::fs::read(&idx).expect("idx");
    let n = u32::from_be_bytes(index[8 + 255 * 4..8 + 256 * 4].try_into().expect("4")) as usize;
    let ids = 8 + 256 * 4;
    let position = (0..n)
        .find(|&i| hex(&index[ids + 20 * i..ids + 20 * i + 20]) == secret)
        .expect("listed");
    let crc = ids + 20 * n + 4 * position;
    index[crc] ^= 0xff;
    writable(&idx);
    std::fs::write(&idx, index).expect("write idx");
    // The zlib checksum (Adler-32, the last 4 bytes of the compressed stream) of big.txt.
    let mut data = std::fs::read(&pack).expect("pack");
    data[big_at + big_len - 1] ^= 0xff;
    writable(&pack);
    std::fs::write(&pack, data).expect("write pack");
    assert!(offset != big_at);

    let out = history(repo.path(), &[]);
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(secrets(&out), [T1]);
    assert!(out.stderr.contains(&big), "names the entry: {}", out.stderr);
    assert_eq!(out.json()["stats"]["history"]["unreadable_objects"], 1);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn loose_objects_with_garbage_inside_valid_zlib_are_named() {
    let repo = Repo::new();
    repo.write("ok.env", &format!("TOKEN={T1}\n"));
    repo.write("a.txt", "first\n");
    repo.write("b.txt", "second\n");
    repo.commit("start");
    let a = repo.git(&["rev-parse", "HEAD:a.txt"]);
    let b = repo.git(&["rev-parse", "HEAD:b.txt"]);
    // An unknown object type, and a header whose size lies.
    plant_loose(repo.path(), &a, b"bogus 5\0hello");
    plant_loose(repo.path(), &b, b"blob 999999\0short");

    let out = history(repo.path(), &[]);
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(secrets(&out), [T1]);
    for id in [&a, &b] {
        assert!(
            out.stderr.contains(id.as_str()),
            "names {id}: {}",
            out.stderr
        );
    }

    // The pre-commit hook reads the staged blob: it fails closed, naming it.
    repo.write("c.txt", "third\n");
    repo.git(&["add", "c.txt"]);
    let c = repo.git(&["rev-parse", ":c.txt"]);
    plant_loose(repo.path(), &c, b"blob 3\0\xff\xfe\xfd\xfc\xfb\xfa");
    let out = keyward_stdin(repo.path(), &["hook", "pre-commit"], "");
    assert_sane(&out);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains(&c), "names the blob: {}", out.stderr);
}

// ---- damaged trees ----

/// A repository whose `dir/` subtree is replaced, on disk, by a tree that lists `dir/loop`
/// as itself (the object's content no longer hashes to its name) next to a secret, and a
/// second commit that adds a secret at the top. Returns (repo, the tree's id).
fn cyclic_tree_repo() -> (Repo, String) {
    let repo = Repo::new();
    repo.write("dir/keep.txt", "placeholder\n");
    repo.commit("start");
    let sub = repo.git(&["rev-parse", "HEAD:dir"]);
    repo.write("dir/inner.env", &format!("TOKEN={T2}\n"));
    repo.git(&["add", "-A"]);
    let inner = repo.git(&["rev-parse", ":dir/inner.env"]);
    repo.git(&["reset", "-q"]);
    std::fs::remove_file(repo.path().join("dir/inner.env")).expect("rm");
    let mut body = Vec::new();
    body.extend_from_slice(b"100644 inner.env\0");
    body.extend_from_slice(&unhex(&inner));
    body.extend_from_slice(b"40000 loop\0");
    body.extend_from_slice(&unhex(&sub));
    let mut raw = format!("tree {}\0", body.len()).into_bytes();
    raw.extend_from_slice(&body);
    plant_loose(repo.path(), &sub, &raw);
    repo.write("top.env", &format!("TOKEN={T1}\n"));
    repo.commit("top secret");
    (repo, sub)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn a_tree_that_contains_itself_ends_the_descent_and_is_named() {
    let (repo, sub) = cyclic_tree_repo();
    let out = history(repo.path(), &[]);
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let mut found = secrets(&out);
    found.sort();
    let mut want = [T1, T2];
    want.sort_unstable();
    assert_eq!(found, want, "the secret inside the cycle is still found");
    assert!(out.stderr.contains(&sub), "names the tree: {}", out.stderr);

    // A range reads trees through the object database: the same.
    let first = repo.git(&["rev-parse", "HEAD~1"]);
    let out = history(repo.path(), &["--range", &format!("{first}..HEAD")]);
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(secrets(&out), [T1]);

    // The hooks fail closed, naming the tree: a push of both commits, and a commit on top
    // of the cyclic tree.
    let tip = repo.git(&["rev-parse", "HEAD"]);
    let out = pre_push(repo.path(), &tip, None);
    assert_sane(&out);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains(&sub), "{}", out.stderr);
    repo.write("more.env", &format!("TOKEN={T3}\n"));
    repo.git(&["add", "more.env"]);
    let out = keyward_stdin(repo.path(), &["hook", "pre-commit"], "");
    assert_sane(&out);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains(&sub), "{}", out.stderr);
}

#[test]
fn a_tree_that_names_a_missing_subtree_is_reported_and_the_rest_scanned() {
    let repo = Repo::new();
    repo.write("gone/a.txt", "will vanish\n");
    repo.write("top.env", &format!("TOKEN={T1}\n"));
    repo.commit("start");
    let gone = repo.git(&["rev-parse", "HEAD:gone"]);
    std::fs::remove_file(loose_object(repo.path(), &gone)).expect("rm");

    let out = history(repo.path(), &[]);
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(secrets(&out), [T1]);
    // The forest keeps 63 bits of a subtree's id: it is named by its first 14 digits.
    assert!(
        out.stderr.contains(&format!(
            "{}: tree not found (the subtree at gone)",
            &gone[..14]
        )),
        "names the tree: {}",
        out.stderr
    );

    let tip = repo.git(&["rev-parse", "HEAD"]);
    let out = pre_push(repo.path(), &tip, None);
    assert_sane(&out);
    assert_eq!(out.code, 2, "fails closed: {}", out.stderr);
    assert!(out.stderr.contains(&gone), "{}", out.stderr);
}

/// Runs `git fast-import` in `repo` on `stream`.
fn fast_import(repo: &Path, stream: &str) {
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(repo)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::piped())
        .spawn()
        .expect("fast-import");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stream.as_bytes())
        .expect("stream");
    assert!(child.wait().expect("wait").success());
}

#[test]
fn trees_nested_too_deep_are_not_descended_into_and_are_named() {
    let repo = Repo::new();
    let deep = vec!["a"; 1100].join("/");
    let top = format!("TOKEN={T1}\n");
    let below = format!("TOKEN={T2}\n");
    fast_import(
        repo.path(),
        &format!(
            "commit refs/heads/main\nmark :1\ncommitter A <a@example.com> 1700000000 +0000\n\
             data 0\nM 100644 inline top.env\ndata {}\n{top}\n\
             commit refs/heads/main\nmark :2\ncommitter A <a@example.com> 1700000001 +0000\n\
             data 0\nfrom :1\nM 100644 inline {deep}/deep.env\ndata {}\n{below}\n",
            top.len(),
            below.len()
        ),
    );

    // Every blob is matched whatever the trees say; the walk stops at the cap and says so.
    let out = history(repo.path(), &[]);
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let mut found = secrets(&out);
    found.sort();
    let mut want = [T1, T2];
    want.sort_unstable();
    assert_eq!(found, want);
    assert!(
        out.stderr.contains("nested more than 1024 deep"),
        "{}",
        out.stderr
    );

    // A range reads only what its trees reach: incomplete, nothing found, an error.
    let out = history(repo.path(), &["--range", "main~1..main"]);
    assert_sane(&out);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("nested too deep"), "{}", out.stderr);
    let (tip, base) = (
        repo.git(&["rev-parse", "main"]),
        repo.git(&["rev-parse", "main~1"]),
    );
    let out = pre_push(repo.path(), &tip, Some(&base));
    assert_sane(&out);
    assert_eq!(out.code, 2, "fails closed: {}", out.stderr);
}

#[test]
fn a_missing_blob_in_history_is_named_by_a_range_scan() {
    let repo = Repo::new();
    repo.write("a.txt", "start\n");
    let base = repo.commit("start");
    repo.write("lost.txt", "content that goes missing\n");
    repo.write("top.env", &format!("TOKEN={T1}\n"));
    repo.commit("more");
    let lost = repo.git(&["rev-parse", "HEAD:lost.txt"]);
    std::fs::remove_file(loose_object(repo.path(), &lost)).expect("rm");

    let out = history(repo.path(), &["--range", &format!("{base}..HEAD")]);
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(secrets(&out), [T1]);
    assert!(out.stderr.contains(&lost), "names the blob: {}", out.stderr);
}

// ---- scale ----

#[test]
fn a_hundred_thousand_commits_in_a_line_do_not_overflow_the_stack() {
    let repo = Repo::new();
    const N: usize = 100_000;
    let started = Instant::now();
    let mut stream = String::with_capacity(N * 120);
    for i in 1..=N {
        stream.push_str(&format!(
            "commit refs/heads/main\nmark :{i}\ncommitter A <a@example.com> {} +0000\ndata 0\n",
            1_700_000_000 + i
        ));
        if i > 1 {
            stream.push_str(&format!("from :{}\n", i - 1));
        }
        match i {
            1 => stream.push_str("M 100644 inline README\ndata 6\nhello\n"),
            50_000 => stream.push_str(&format!(
                "M 100644 inline deep.env\ndata {}\nTOKEN={T1}\n\n",
                T1.len() + 7
            )),
            _ => {}
        }
    }
    fast_import(repo.path(), &stream);
    eprintln!("fast-import of {N} commits: {:?}", started.elapsed());
    let introduced = repo.git(&["log", "--format=%H", "--diff-filter=A", "--", "deep.env"]);

    let started = Instant::now();
    let out = history(repo.path(), &[]);
    eprintln!("history of {N} commits: {:?}", started.elapsed());
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(secrets(&out), [T1]);
    assert_eq!(out.json()["findings"][0]["commit"], introduced.as_str());
    assert_eq!(out.json()["stats"]["history"]["commits"], N as u64);
}

#[test]
fn a_two_gib_sparse_file_is_skipped_by_size_without_being_read() {
    let dir = TempDir::new().expect("temp dir");
    let huge = std::fs::File::create(dir.path().join("huge.txt")).expect("create");
    huge.set_len(2 << 30).expect("sparse");
    drop(huge);
    write(dir.path(), "app.env", format!("TOKEN={T1}\n"));
    let started = Instant::now();
    let out = keyward(
        dir.path(),
        &["scan", ".", "-v", "--format", "json", "--show-secrets"],
    );
    eprintln!("scan with a 2 GiB file: {:?}", started.elapsed());
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(secrets(&out), [T1]);
    assert!(
        out.stderr.contains("skipped (too_large): huge.txt"),
        "{}",
        out.stderr
    );
    assert_eq!(out.json()["stats"]["skipped"]["too_large"], 1);
}

#[test]
fn a_hundred_thousand_tiny_files_are_all_scanned() {
    let dir = TempDir::new().expect("temp dir");
    let started = Instant::now();
    // One file written per folder, the rest hard links to it: a hundred thousand names
    // to walk, open and read, at a fraction of the cost of creating as many inodes.
    for d in 0..100 {
        let sub = dir.path().join(format!("d{d:02}"));
        std::fs::create_dir(&sub).expect("mkdir");
        let first = sub.join("f000.txt");
        std::fs::write(&first, b"x\n").expect("write");
        for f in 1..1000 {
            std::fs::hard_link(&first, sub.join(format!("f{f:03}.txt"))).expect("link");
        }
    }
    std::fs::remove_file(dir.path().join("d42/f999.txt")).expect("rm");
    write(dir.path(), "d42/f999.txt", format!("TOKEN={T1}\n"));
    eprintln!("writing 100,000 files: {:?}", started.elapsed());
    let started = Instant::now();
    let out = keyward(
        dir.path(),
        &["scan", ".", "--format", "json", "--show-secrets"],
    );
    eprintln!("scan of 100,000 files: {:?}", started.elapsed());
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(secrets(&out), [T1]);
    assert_eq!(out.json()["stats"]["files_scanned"], 100_000);
}

#[test]
fn a_fifty_mib_single_line_is_scanned_and_printed_in_a_window() {
    let dir = TempDir::new().expect("temp dir");
    let half = 25 << 20;
    let mut line = Vec::with_capacity(2 * half + 100);
    line.extend(std::iter::repeat_n(b"abc,def;".as_slice(), half / 8).flatten());
    line.extend_from_slice(format!(" token={T1} ").as_bytes());
    line.extend(std::iter::repeat_n(b"abc,def;".as_slice(), half / 8).flatten());
    write(dir.path(), "one-line.min.js", &line);

    let out = keyward(dir.path(), &["scan", "."]);
    assert_sane(&out);
    assert_eq!(out.code, 0, "over the default limit: {}", out.stderr);
    let started = Instant::now();
    let out = keyward(
        dir.path(),
        &["scan", ".", "--max-file-size", "64MiB", "--color", "never"],
    );
    eprintln!("scan of a 50 MiB line: {:?}", started.elapsed());
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout.contains("one-line.min.js:1:"),
        "{}",
        &out.stdout[..out.stdout.len().min(2000)]
    );
    assert!(
        out.stdout.len() < 10_000,
        "the line is cut around the secret, not printed whole ({} bytes)",
        out.stdout.len()
    );
    assert!(!out.stdout.contains(T1));
}

// ---- hostile names ----

/// File names that carry a newline, a terminal escape sequence, a bell, and bytes that are
/// not UTF-8.
const HOSTILE_NAMES: [&[u8]; 3] = [
    b"new\nline.env",
    b"esc\x1b[31mred\x07.env",
    b"bad\xff\xfeutf8.env",
];

fn plant_hostile_names(dir: &Path) {
    use std::os::unix::ffi::OsStrExt;
    for (name, secret) in HOSTILE_NAMES.iter().zip([T1, T2, T3]) {
        std::fs::write(
            dir.join(std::ffi::OsStr::from_bytes(name)),
            format!("TOKEN={secret}\n"),
        )
        .expect("write");
    }
}

#[test]
fn hostile_file_names_are_escaped_in_scan_output() {
    let dir = TempDir::new().expect("temp dir");
    plant_hostile_names(dir.path());
    for format in ["text", "json", "jsonl", "sarif"] {
        let out = keyward(
            dir.path(),
            &["scan", ".", "-v", "--color", "never", "--format", format],
        );
        assert_sane(&out);
        assert_eq!(out.code, 1, "{format}: {}", out.stderr);
        for secret in [T1, T2, T3] {
            assert!(!out.stdout.contains(secret), "{format} leaks {secret}");
        }
        if format == "text" {
            assert!(out.stdout.contains("new?line.env"), "{}", out.stdout);
            assert!(out.stdout.contains("esc?[31mred?.env"), "{}", out.stdout);
            assert!(
                out.stdout.contains("bad\u{fffd}\u{fffd}utf8.env"),
                "{}",
                out.stdout
            );
        }
    }
    let out = keyward(dir.path(), &["scan", ".", "--format", "json"]);
    let mut paths: Vec<String> = out.json()["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["path"].as_str().expect("path").to_string())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "bad\u{fffd}\u{fffd}utf8.env",
            "esc\u{1b}[31mred\u{7}.env",
            "new\nline.env"
        ],
        "JSON keeps the names, escaped by JSON itself"
    );
}

#[test]
fn hostile_file_names_are_escaped_in_history_and_hook_output() {
    let repo = Repo::new();
    repo.write("README", "hello\n");
    let base = repo.commit("start");
    plant_hostile_names(repo.path());
    let tip = repo.commit("odd names");

    let out = history(repo.path(), &[]);
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(secrets(&out).len(), 3);
    let text = keyward(repo.path(), &["history", ".", "--color", "never"]);
    assert_sane(&text);
    assert_eq!(text.code, 1);
    assert!(text.stdout.contains("esc?[31mred?.env"), "{}", text.stdout);
    assert!(text.stdout.contains("new?line.env"), "{}", text.stdout);

    let out = pre_push(repo.path(), &tip, Some(&base));
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("esc?[31mred?.env"), "{}", out.stderr);
    assert!(
        out.stderr.contains("bad\u{fffd}\u{fffd}utf8.env"),
        "{}",
        out.stderr
    );

    repo.git(&["rm", "-q", "--cached", "-r", "."]);
    repo.git(&["add", "-A"]);
    repo.git(&["reset", "-q", "--soft", &base]);
    let out = keyward_stdin(repo.path(), &["hook", "pre-commit"], "");
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("new?line.env"), "{}", out.stderr);
}

// ---- links, submodules, odd repositories ----

#[test]
fn symlinks_out_of_the_tree_are_not_followed_unless_asked() {
    let outside = TempDir::new().expect("temp dir");
    write(outside.path(), "secret.env", format!("TOKEN={T2}\n"));
    write(outside.path(), "dir/more.env", format!("TOKEN={T3}\n"));
    let dir = TempDir::new().expect("temp dir");
    write(dir.path(), "app.env", format!("TOKEN={T1}\n"));
    std::os::unix::fs::symlink(
        outside.path().join("secret.env"),
        dir.path().join("link.env"),
    )
    .expect("symlink");
    std::os::unix::fs::symlink(outside.path().join("dir"), dir.path().join("linkdir"))
        .expect("symlink");

    let out = keyward(
        dir.path(),
        &["scan", ".", "-v", "--format", "json", "--show-secrets"],
    );
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(secrets(&out), [T1], "links are not followed");
    assert!(
        out.stderr.contains("skipped (symlink): link.env"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("skipped (symlink): linkdir"),
        "{}",
        out.stderr
    );
    assert_eq!(out.json()["stats"]["skipped"]["symlink"], 2);

    let out = keyward(
        dir.path(),
        &[
            "scan",
            ".",
            "--follow",
            "--format",
            "json",
            "--show-secrets",
        ],
    );
    assert_sane(&out);
    let mut found = secrets(&out);
    found.sort();
    let mut want = [T1, T2, T3];
    want.sort_unstable();
    assert_eq!(found, want, "--follow follows them");

    // Committed, a link is a blob holding its target's path: nothing is read through it.
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "links"]);
    let out = history(dir.path(), &[]);
    assert_sane(&out);
    assert_eq!(secrets(&out), [T1]);
}

#[test]
fn a_submodule_is_noted_and_not_followed() {
    let sub = Repo::new();
    sub.write("vendored.env", &format!("TOKEN={T2}\n"));
    sub.commit("sub");
    let repo = Repo::new();
    repo.write("app.env", &format!("TOKEN={T1}\n"));
    let base = repo.commit("app");
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        &sub.path().to_string_lossy(),
        "vendor/lib",
    ]);
    let tip = repo.commit("add a submodule");

    let out = history(repo.path(), &[]);
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(secrets(&out), [T1], "the submodule's history is its own");
    assert_eq!(out.json()["stats"]["history"]["gitlinks"], 1);

    let out = pre_push(repo.path(), &tip, Some(&base));
    assert_sane(&out);
    assert_eq!(out.code, 0, "a gitlink adds no secret: {}", out.stderr);
}

#[test]
fn an_empty_repository_is_clean_in_every_command() {
    let repo = Repo::new();
    let out = history(repo.path(), &[]);
    assert_sane(&out);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["stats"]["history"]["commits"], 0);
    let out = keyward(repo.path(), &["scan", "."]);
    assert_sane(&out);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = keyward_stdin(repo.path(), &["hook", "pre-commit"], "");
    assert_sane(&out);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = history(repo.path(), &["--branch", "main"]);
    assert_sane(&out);
    assert_eq!(out.code, 2, "an unborn branch is an error: {}", out.stderr);
    assert!(out.stderr.contains("main"), "{}", out.stderr);
}

#[test]
fn an_unborn_head_beside_other_branches_still_scans_them() {
    let repo = Repo::new();
    repo.write("old.env", &format!("TOKEN={T1}\n"));
    let old = repo.commit("on main");
    repo.git(&["checkout", "-q", "--orphan", "fresh"]);
    repo.git(&["rm", "-q", "-rf", "."]);
    assert!(
        Command::new("git")
            .args(["rev-parse", "-q", "--verify", "HEAD"])
            .current_dir(repo.path())
            .output()
            .expect("git")
            .stdout
            .is_empty(),
        "HEAD is unborn"
    );

    let out = history(repo.path(), &[]);
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(secrets(&out), [T1]);
    assert_eq!(out.json()["findings"][0]["commit"], old.as_str());

    // A first commit on the unborn branch: everything staged is new.
    repo.write("new.env", &format!("TOKEN={T2}\n"));
    repo.git(&["add", "new.env"]);
    let out = keyward_stdin(repo.path(), &["hook", "pre-commit"], "");
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("new.env"), "{}", out.stderr);
    assert!(!out.stderr.contains("old.env"), "{}", out.stderr);
}

#[test]
fn a_push_from_a_shallow_clone_checks_only_its_new_commits() {
    let origin = Repo::new();
    origin.write("old.env", &format!("TOKEN={T1}\n"));
    origin.commit("old secret");
    origin.write("n.txt", "1\n");
    origin.commit("more");
    let dir = TempDir::new().expect("temp dir");
    let url = format!("file://{}", origin.path().display());
    git(dir.path(), &["clone", "-q", "--depth", "1", &url, "clone"]);
    let clone = dir.path().join("clone");
    let base = git(&clone, &["rev-parse", "HEAD"]);
    write(&clone, "new.env", format!("TOKEN={T2}\n"));
    git(&clone, &["add", "-A"]);
    git(&clone, &["commit", "-q", "-m", "new secret"]);
    let tip = git(&clone, &["rev-parse", "HEAD"]);

    let out = pre_push(&clone, &tip, Some(&base));
    assert_sane(&out);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("new.env:1:7"), "{}", out.stderr);
    assert!(!out.stderr.contains("old.env"), "{}", out.stderr);

    git(&clone, &["reset", "-q", "--hard", &base]);
    write(&clone, "fine.txt", "fine\n");
    git(&clone, &["add", "-A"]);
    git(&clone, &["commit", "-q", "-m", "clean"]);
    let tip = git(&clone, &["rev-parse", "HEAD"]);
    let out = pre_push(&clone, &tip, Some(&base));
    assert_sane(&out);
    assert_eq!(out.code, 0, "{}", out.stderr);
}
