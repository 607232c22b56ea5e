//! Pathological inputs at doubling sizes: the throughput of each shape must stay flat as the
//! input grows (linear time), which a quadratic path would halve at every step.
//!
//! - `keyword-storm`: the word `token` repeated, a prefilter hit every 6 bytes (a million
//!   hits at 6 MB) for the generic rules and the base64 decoder;
//! - `base64-run`: one base64 run with the decoder keyword `auth` inside it every 100 bytes,
//!   so thousands of decoder windows share one run;
//! - `long-line`: one line of lowercase words with a secret at its end;
//! - `percent-token`: one token with `%2f` every 600 bytes.
//!
//! Each input's finding count is asserted, so a fast-but-wrong change cannot look like a win.
//!
//! ```text
//! cargo bench --bench pathological
//! ```

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use keyward_core::{Matcher, RuleSet, Scratch};

/// A GitHub token with a valid checksum (random, not a live credential).
const TOKEN: &str = "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";

/// Sizes, in MiB.
const SIZES: [usize; 3] = [1, 2, 4];

/// `unit` repeated to `mib` MiB, then `tail`.
fn repeat(unit: &str, mib: usize, tail: &str) -> Vec<u8> {
    let mut out = unit.repeat((mib << 20) / unit.len()).into_bytes();
    out.extend_from_slice(tail.as_bytes());
    out
}

fn shapes(mib: usize) -> Vec<(&'static str, Vec<u8>, usize)> {
    vec![
        ("keyword-storm", repeat("token ", mib, ""), 0),
        (
            "base64-run",
            repeat(&format!("auth{}", "A".repeat(96)), mib, "\n"),
            0,
        ),
        (
            "long-line",
            repeat("lorem ipsum dolor ", mib, &format!("token = \"{TOKEN}\"\n")),
            1,
        ),
        (
            "percent-token",
            repeat(&format!("%2f{}", "A".repeat(600)), mib, "\n"),
            0,
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let matcher = Matcher::new(RuleSet::builtin()).expect("built-in rules");
    let mut scratch = Scratch::new();
    let mut group = c.benchmark_group("pathological");
    group.sample_size(10);
    for mib in SIZES {
        for (name, input, expect) in shapes(mib) {
            let found = matcher.scan(&input, &mut scratch).len();
            assert_eq!(found, expect, "{name} at {mib} MiB: finding count");
            group.throughput(Throughput::Bytes(input.len() as u64));
            group.bench_with_input(
                BenchmarkId::new(name, format!("{mib}MiB")),
                &input,
                |b, i| {
                    b.iter(|| {
                        let n = matcher.scan(black_box(i), &mut scratch).len();
                        assert_eq!(n, expect);
                        n
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
