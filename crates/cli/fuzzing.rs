//! Entry points for fuzzing the binary's own parsers: the config loader and the pre-push
//! hook's reading of git's ref lines. The cargo-fuzz targets in `fuzz/` build this crate as a
//! library with `--cfg fuzzing` and call these; the property tests below call the same
//! functions with a fixed number of cases on every `cargo test`.
//!
//! Each panics when an invariant breaks (an error that does not name its file), so that a
//! fuzzer reports the input; returning normally is the only pass.

use std::path::Path;

use keyward_git::Repository;

/// The config loader on arbitrary bytes, as `keyward` reads `.keyward.yaml`: never a panic;
/// a problem names the file; a valid file turns into JSON for `keyward config check`.
pub fn config(data: &[u8]) {
    let path = Path::new("fuzz/.keyward.yaml");
    // `config::load` reads the file as UTF-8 and fails on anything else.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match crate::config::parse(path, text) {
        Ok(config) => {
            let _ = config.to_json();
        }
        Err(e) => {
            let message = format!("{e:#}");
            assert!(message.starts_with("fuzz/.keyward.yaml"), "{message}");
        }
    }
}

/// What `keyward hook pre-push` makes of arbitrary bytes on standard input, against `repo`:
/// the ref lines, the commits they push (looked up in `repo`), and the alternates variable of
/// the pre-receive hook. Never a panic; a malformed line is an error that quotes it.
pub fn pre_push(repo: &Repository, data: &[u8]) {
    // `stdin_lines` reads standard input as UTF-8 and fails on anything else.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = crate::hook::ref_lines(text);
    assert!(lines.iter().all(|l| !l.is_empty() && l.trim() == l));
    match crate::hook::push_lines(repo, &lines) {
        Ok((tips, _hidden)) => assert!(tips.len() <= lines.len()),
        Err(e) => {
            let _ = format!("{e:#}");
        }
    }
    for dir in crate::hook::split_alternates(text) {
        assert!(
            !dir.as_os_str().is_empty(),
            "an empty alternate from {text:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::process::Command;

    use proptest::prelude::*;

    use super::*;

    /// The committed seed corpus of a fuzz target.
    fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/seeds")
            .join(target);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("dir entry").path())
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let bytes = std::fs::read(&p).expect("read seed");
                (p, bytes)
            })
            .collect()
    }

    /// A repository with two commits, built once per test process.
    fn repo() -> &'static (tempfile::TempDir, Repository, Vec<String>) {
        static REPO: std::sync::OnceLock<(tempfile::TempDir, Repository, Vec<String>)> =
            std::sync::OnceLock::new();
        REPO.get_or_init(|| {
            let dir = tempfile::TempDir::new().expect("temp dir");
            let git = |args: &[&str]| {
                let out = Command::new("git")
                    .args(args)
                    .current_dir(dir.path())
                    .env("GIT_CONFIG_GLOBAL", "/dev/null")
                    .env("GIT_CONFIG_NOSYSTEM", "1")
                    .env("GIT_AUTHOR_NAME", "A")
                    .env("GIT_AUTHOR_EMAIL", "a@example.com")
                    .env("GIT_COMMITTER_NAME", "A")
                    .env("GIT_COMMITTER_EMAIL", "a@example.com")
                    .output()
                    .expect("git runs");
                assert!(out.status.success(), "git {args:?}");
                String::from_utf8_lossy(&out.stdout).trim().to_string()
            };
            git(&["init", "-q", "-b", "main"]);
            git(&["commit", "-q", "--allow-empty", "-m", "one"]);
            git(&["tag", "-a", "-m", "t", "v1"]);
            git(&["commit", "-q", "--allow-empty", "-m", "two"]);
            let ids = vec![
                git(&["rev-parse", "HEAD~1"]),
                git(&["rev-parse", "HEAD"]),
                git(&["rev-parse", "v1"]),
                git(&["rev-parse", "HEAD^{tree}"]),
            ];
            let repo = Repository::open(dir.path()).expect("open");
            (dir, repo, ids)
        })
    }

    #[test]
    fn seed_corpora_pass_their_targets() {
        for (path, bytes) in seeds("config") {
            eprintln!("config: {}", path.display());
            config(&bytes);
        }
        for (path, bytes) in seeds("pre_push") {
            eprintln!("pre_push: {}", path.display());
            pre_push(&repo().1, &bytes);
        }
    }

    /// Config files made of the real keys with odd values, sometimes damaged.
    fn config_text() -> impl Strategy<Value = String> {
        let entry = prop::sample::select(vec![
            "rules:\n  paths: [rules, '']\n  disable: [x]\n",
            "rules: []\n",
            "allowlist:\n  paths: ['**', 'a[', '{a,b}']\n  secrets: ['^sk_', '(', '\\\\']\n",
            "stopwords: [notreal, '', ' ']\n",
            "exposure:\n  - { glob: 'a/**', exposure: desktop }\n  - { glob: 'b', exposure: server }\n",
            "exposure: [1]\n",
            "baseline: ../../etc/passwd\n",
            "max_file_size: 10MiB\n",
            "max_file_size: 1e400\n",
            "max_blob_size: 99999999999999999999999 GiB\n",
            "max_blob_size: -5\n",
            "max_file_size: .\n",
            "format: sarif\n",
            "format: XML\n",
            "fail_open: maybe\n",
            "allowlists: {}\n",
            "a: &a [1, 2]\nb: *a\n",
            "--- !!binary aGVsbG8=\n",
            "~\n",
            "\t\n",
        ]);
        (
            prop::collection::vec(entry, 0..5),
            any::<Option<(usize, char)>>(),
        )
            .prop_map(|(entries, damage)| {
                let mut text = entries.concat();
                if let Some((at, c)) = damage {
                    let at = at % (text.len() + 1);
                    if text.is_char_boundary(at) {
                        text.insert(at, c);
                    }
                }
                text
            })
    }

    /// What git could write to a pre-push hook, and what it should not.
    fn push_text() -> impl Strategy<Value = String> {
        let ids = repo().2.clone();
        let id = prop_oneof![
            4 => prop::sample::select(ids),
            1 => Just("0".repeat(40)),
            1 => "[0-9a-f]{40}",
            1 => "[0-9a-fA-Fx]{0,44}",
        ];
        let reference = prop::sample::select(vec!["refs/heads/main", "HEAD", "(delete)", "v1"]);
        let line = prop_oneof![
            4 => (reference.clone(), id.clone(), reference, id)
                .prop_map(|(a, b, c, d)| format!("{a} {b} {c} {d}")),
            1 => "[ -~\t]{0,60}",
        ];
        prop::collection::vec(line, 0..5).prop_map(|lines| lines.join("\n"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn fuzz_config_loader(text in config_text()) {
            config(text.as_bytes());
        }

        #[test]
        fn fuzz_config_loader_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            config(&bytes);
        }

        #[test]
        fn fuzz_pre_push_lines(text in push_text()) {
            pre_push(&repo().1, text.as_bytes());
        }

        #[test]
        fn fuzz_pre_push_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            pre_push(&repo().1, &bytes);
        }
    }

    #[test]
    fn push_lines_turn_into_tips_and_hidden_commits() {
        let (_, repo, ids) = repo();
        let zero = "0".repeat(40);
        let lines = ref_lines_of(&format!(
            "refs/heads/main {new} refs/heads/main {old}\n\n(delete) {zero} refs/heads/gone {new}\nrefs/tags/v1 {tag} refs/tags/v1 {zero}\n",
            new = ids[1],
            old = ids[0],
            tag = ids[2],
        ));
        let (tips, hidden) = crate::hook::push_lines(repo, &lines).expect("valid lines");
        let hex = |v: &[keyward_git::CommitId]| v.iter().map(|c| c.to_hex()).collect::<Vec<_>>();
        // The annotated tag is peeled to its commit; the deletion pushes nothing.
        assert_eq!(hex(&tips), [ids[1].clone(), ids[0].clone()]);
        assert_eq!(hex(&hidden), [ids[0].clone()]);

        let tree = format!("refs/heads/main {} refs/heads/main {zero}", ids[3]);
        let e = crate::hook::push_lines(repo, &ref_lines_of(&tree)).expect_err("a tree");
        assert!(format!("{e:#}").contains("refs/heads/main"), "{e:#}");
        let e = crate::hook::push_lines(repo, &ref_lines_of("refs/heads/main HEAD"))
            .expect_err("two fields");
        assert!(format!("{e:#}").contains("unexpected line"), "{e:#}");
    }

    fn ref_lines_of(text: &str) -> Vec<String> {
        crate::hook::ref_lines(text)
    }
}
