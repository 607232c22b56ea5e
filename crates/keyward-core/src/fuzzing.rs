//! Entry points for fuzzing, hidden from the documentation: the cargo-fuzz targets in `fuzz/`
//! and their proptest mirrors in `tests/fuzz_props.rs` call these with arbitrary bytes.
//!
//! Each one runs a part of keyward-core the way the scanner runs it and panics when an
//! invariant breaks (a span outside the input, an unsorted result, a secret visible in
//! `Debug`), so that a fuzzer reports the input. Returning normally is the only pass.

use std::sync::OnceLock;

use crate::decode::{base64_decode, decode_window, percent_decode, unentity, unescape};
use crate::{Encoding, Finding, Matcher, RuleSet, Scratch, Source, decode_jwt};

/// The matcher with every built-in rule (the opt-in hygiene checks too), built once.
fn builtin() -> &'static Matcher {
    static M: OnceLock<Matcher> = OnceLock::new();
    M.get_or_init(|| match Matcher::new(RuleSet::builtin()) {
        Ok(m) => m,
        Err(e) => panic!("the built-in rules do not build a matcher: {e}"),
    })
}

/// The matcher with all built-in rules on arbitrary bytes. Also checks that a scratch space
/// that scanned other input gives the same answer as a fresh one.
pub fn matcher(data: &[u8]) {
    let m = builtin();
    let mut scratch = Scratch::new();
    let found = m.scan(data, &mut scratch);
    check_findings(m, data, &found);
    // Reuse the scratch on a shifted copy, then on the input again.
    let _ = m.scan(data.get(1..).unwrap_or_default(), &mut scratch);
    let again = m.scan(data, &mut scratch);
    let spans = |f: &[Finding]| {
        f.iter()
            .map(|f| (f.rule, f.span.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        spans(&found),
        spans(&again),
        "a reused scratch changed the result"
    );
}

/// What every list of findings must satisfy.
fn check_findings(m: &Matcher, data: &[u8], found: &[Finding]) {
    for pair in found.windows(2) {
        assert!(
            pair[0].span.end <= pair[1].span.start,
            "overlapping or unsorted findings: {:?} then {:?}",
            pair[0].span,
            pair[1].span
        );
    }
    for f in found {
        assert!(
            f.rule < m.rules().len(),
            "rule index {} out of range",
            f.rule
        );
        assert!(
            f.span.start < f.span.end && f.span.end <= data.len(),
            "span {:?} outside an input of {} bytes",
            f.span,
            data.len()
        );
        let line = 1 + memchr::memchr_iter(b'\n', &data[..f.span.start]).count();
        assert_eq!(f.line, line, "line of the span {:?}", f.span);
        assert!(f.column >= 1, "column 0");
        if f.encoding.is_none() {
            assert_eq!(
                f.secret,
                crate::Secret::new(&data[f.span.clone()]),
                "the secret is not the text at its span"
            );
        }
        check_redacted(&f.secret);
        let value = f.secret.expose();
        if value.chars().count() >= 8 {
            let debug = format!("{f:?}");
            assert!(!debug.contains(value), "a secret in Debug output: {debug}");
        }
    }
}

/// The redacted form shows at most four characters and at most a quarter of the secret.
fn check_redacted(secret: &crate::Secret) {
    let chars = secret.expose().chars().count();
    let shown = secret.redacted().chars().count() - 1; // the trailing `…`
    assert!(
        shown <= 4 && shown * 4 <= chars,
        "redaction shows {shown} of {chars} characters"
    );
}

/// The rule loader on arbitrary YAML: loading (strict and lenient) never panics, a problem
/// names the file, and whatever loads builds a matcher that scans the text and the rules'
/// own examples.
pub fn rules(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = Source {
        file: "fuzz/rules.yaml".into(),
        text: text.to_string(),
    };
    match RuleSet::from_sources(std::slice::from_ref(&source)) {
        Ok(set) => exercise(set, data),
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("fuzz/rules.yaml"), "{message}");
        }
    }
    let mut lenient = RuleSet::empty();
    for problem in lenient.extend_lenient(&source) {
        let message = problem.to_string();
        assert!(message.starts_with("fuzz/rules.yaml"), "{message}");
    }
    exercise(lenient, data);
}

/// Builds a matcher from `set` and scans `data` and a few of the rules' examples with it.
fn exercise(set: RuleSet, data: &[u8]) {
    let examples: Vec<String> = set
        .rules()
        .iter()
        .flat_map(|r| r.spec.examples.iter().chain(&r.spec.negative_examples))
        .filter(|e| e.len() <= 4096)
        .take(16)
        .cloned()
        .collect();
    let _ = set.exposure();
    let Ok(m) = Matcher::new(set) else {
        return;
    };
    let found = m.scan(data, &mut Scratch::new());
    check_findings(&m, data, &found);
    for e in examples {
        let found = m.scan(e.as_bytes(), &mut Scratch::new());
        check_findings(&m, e.as_bytes(), &found);
    }
}

/// JWT decoding on arbitrary text, at several clocks (the extremes included).
pub fn jwt(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for now in [0, 1_800_000_000, i64::MIN, i64::MAX] {
        if let Some(info) = decode_jwt(&text, now) {
            assert!(!info.expired || info.exp.is_some(), "expired without exp");
            if info.exp.is_none() {
                assert!(info.warnings.contains(&"no expiry"), "{:?}", info.warnings);
            }
        }
    }
}

/// The decoders on arbitrary bytes: the first byte picks the encoding and the shortest region,
/// the rest is the input, searched whole and then in windows the way the matcher searches it.
/// Every region lies inside the input, and the windowed search decodes no region twice.
pub fn decoders(data: &[u8]) {
    let Some((&pick, hay)) = data.split_first() else {
        return;
    };
    let encoding = Encoding::ALL[usize::from(pick) % Encoding::ALL.len()];
    let min = usize::from(pick >> 2) % 24;
    let _ = base64_decode(hay);
    let _ = percent_decode(hay);
    let _ = unescape(hay);
    let _ = unentity(hay);

    let mut whole = Vec::new();
    decode_window(encoding, hay, 0..hay.len(), min, &mut 0, &mut whole);
    // Windows of 7 bytes every 23: regions that span several windows are found once.
    let mut windowed = Vec::new();
    let mut done = 0;
    for start in (0..hay.len()).step_by(23) {
        let window = start..(start + 7).min(hay.len());
        decode_window(encoding, hay, window, min, &mut done, &mut windowed);
    }
    for region in whole.iter().chain(&windowed) {
        assert!(
            region.start <= region.end && region.end <= hay.len(),
            "region {}..{} outside an input of {} bytes",
            region.start,
            region.end,
            hay.len()
        );
    }
    for pair in windowed.windows(2) {
        assert!(
            pair[0].end <= pair[1].start,
            "a region decoded twice or out of order: {}..{} then {}..{}",
            pair[0].start,
            pair[0].end,
            pair[1].start,
            pair[1].end
        );
    }
}
