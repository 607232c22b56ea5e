//! Matcher throughput with every built-in rule loaded, beside the bare keyword automaton on
//! the same input.
//!
//! Input: the files under `$KEYWARD_BENCH_CORPUS` (real source code; text files only, read
//! until 64 MiB, at least 32 MiB by repeating them), else a fixed generated corpus of 32 MiB
//! with planted secrets whose count is asserted. For a real corpus, set
//! `$KEYWARD_BENCH_EXPECT` to the finding count to assert it too.
//!
//! ```text
//! KEYWARD_BENCH_CORPUS=/path/to/checkout cargo bench --bench matcher
//! ```

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use keyward_core::{Matcher, RuleSet, Scratch};

const MIN_BYTES: usize = 32 << 20;
const MAX_BYTES: usize = 64 << 20;

/// Files of a real tree, as separate haystacks (a scan matches file by file).
fn real_corpus(dir: &Path) -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    let mut paths = Vec::new();
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() && e.file_name() != ".git" => stack.push(p),
                Ok(t) if t.is_file() => paths.push(p),
                _ => {}
            }
        }
    }
    paths.sort();
    for p in &paths {
        if total >= MAX_BYTES {
            break;
        }
        let Ok(bytes) = std::fs::read(p) else {
            continue;
        };
        if bytes.len() > (4 << 20) || memchr_nul(&bytes) {
            continue;
        }
        total += bytes.len();
        files.push(bytes);
    }
    assert!(total > 0, "no text files under {}", dir.display());
    let original = files.len();
    let mut i = 0;
    while total < MIN_BYTES {
        let copy = files[i % original].clone();
        total += copy.len();
        files.push(copy);
        i += 1;
    }
    files
}

fn memchr_nul(b: &[u8]) -> bool {
    b[..b.len().min(8192)].contains(&0)
}

/// A deterministic corpus of source-like text: identifiers, assignments of non-secrets using
/// the common generic keywords, and `PLANTED` real-looking secrets.
const PLANTED: usize = 64;

fn generated_corpus() -> Vec<Vec<u8>> {
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let words = [
        "let", "const", "token", "key", "value", "secret", "return", "function", "password",
        "user", "config", "request", "response", "self", "if", "else", "for", "while", "map",
        "api", "auth", "client", "data",
    ];
    let mut files = Vec::new();
    let mut total = 0;
    let mut planted = 0;
    while total < MIN_BYTES {
        let mut f = Vec::with_capacity(64 << 10);
        while f.len() < (64 << 10) {
            let n = 3 + next() % 9;
            for _ in 0..n {
                f.extend_from_slice(words[(next() % words.len() as u64) as usize].as_bytes());
                f.push(if next() % 5 == 0 { b'.' } else { b' ' });
            }
            match next() % 40 {
                0 => f.extend_from_slice(b"= config.token;"),
                1 => f.extend_from_slice(b"password = os.environ['DB_PASSWORD']"),
                _ => {}
            }
            f.push(b'\n');
        }
        if planted < PLANTED {
            f.extend_from_slice(b"GITHUB_TOKEN=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\n");
            planted += 1;
        }
        total += f.len();
        files.push(f);
    }
    assert_eq!(planted, PLANTED, "corpus too small for the planted secrets");
    files
}

fn bench(c: &mut Criterion) {
    let (files, expect, label) = match std::env::var_os("KEYWARD_BENCH_CORPUS") {
        Some(dir) => {
            let expect = std::env::var("KEYWARD_BENCH_EXPECT")
                .ok()
                .and_then(|v| v.parse().ok());
            (real_corpus(Path::new(&dir)), expect, "real")
        }
        None => (generated_corpus(), Some(PLANTED), "generated"),
    };
    let bytes: usize = files.iter().map(Vec::len).sum();
    let matcher = Matcher::new(RuleSet::builtin()).expect("built-in rules");
    let mut scratch = Scratch::new();
    let count: usize = files
        .iter()
        .map(|f| matcher.scan(f, &mut scratch).len())
        .sum();
    eprintln!(
        "{label} corpus: {} files, {:.1} MiB, {count} findings",
        files.len(),
        bytes as f64 / (1 << 20) as f64
    );
    if let Some(expect) = expect {
        assert_eq!(count, expect, "finding count changed");
    }

    let mut group = c.benchmark_group(format!("matcher-{label}"));
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    group.bench_function("all-rules", |b| {
        b.iter(|| {
            let mut n = 0;
            for f in &files {
                n += matcher.scan(black_box(f), &mut scratch).len();
            }
            assert_eq!(n, count);
            n
        })
    });
    group.bench_function("keyword-automaton-only", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for f in &files {
                n += matcher.keyword_hits(black_box(f));
            }
            n
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
