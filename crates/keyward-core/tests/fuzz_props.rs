//! The fuzz targets of `fuzz/`, run as property tests with a fixed number of cases so that
//! every `cargo test` exercises them (a real fuzzer needs a nightly toolchain; see the README).
//! Each property calls the same entry point as its fuzz target, in
//! `keyward_core::fuzzing`, and the committed seed corpus is replayed first.
//!
//! Then regression tests named after what the fuzzing and hostile inputs found.

use std::path::{Path, PathBuf};

use keyward_core::{Matcher, RuleSet, Scratch, Source, decode_jwt, fuzzing};
use proptest::prelude::*;

/// The committed seed corpus of a fuzz target.
fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read seed");
            (p, bytes)
        })
        .collect()
}

#[test]
fn seed_corpora_pass_their_targets() {
    for (target, run) in [
        ("matcher", fuzzing::matcher as fn(&[u8])),
        ("rules", fuzzing::rules),
        ("jwt", fuzzing::jwt),
        ("decoders", fuzzing::decoders),
    ] {
        for (path, bytes) in seeds(target) {
            eprintln!("{target}: {}", path.display());
            run(&bytes);
        }
    }
}

/// Base64 (standard alphabet, padded) for building encoded inputs.
fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &c)| n | u32::from(c) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Text that makes rules and decoders run: keywords, token-like runs, separators, and
/// secrets wrapped in every encoding the decoders know.
fn soup() -> impl Strategy<Value = Vec<u8>> {
    let token = "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";
    let words = prop::sample::select(vec![
        "secret",
        "client_secret",
        "password",
        "token",
        "auth",
        "api_key",
        "data:",
        "ghp_",
        "xoxb-",
        "AKIA",
        "eyJ",
        "-----BEGIN ",
        "PRIVATE KEY-----",
        "://",
        "@",
        ":",
        "=",
        "\"",
        "'",
        "\n",
        " ",
        ".",
        "%2F",
        "%3A",
        "%25",
        "\\u00",
        "\\/",
        "&amp;",
        "&#x",
        ";",
        "==",
        "Bearer ",
        "sk_live_",
        "keyward:allow",
    ]);
    let encoded = prop::sample::select(vec![
        format!("auth: {}", b64(token.as_bytes())),
        format!(
            "data:\n  token: {}\n",
            b64(format!("token={token}").as_bytes())
        ),
        token.replace('_', "%5F"),
        token.replace('_', "\\u005f"),
        token.replace('_', "&#95;"),
        format!("secret = \"{token}\""),
    ]);
    let piece = prop_oneof![
        4 => words.prop_map(|w| w.as_bytes().to_vec()),
        3 => "[A-Za-z0-9+/_=-]{1,48}".prop_map(String::into_bytes),
        1 => encoded.prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 1..8),
    ];
    prop::collection::vec(piece, 0..120).prop_map(|v| v.concat())
}

/// Rule files: mostly well-formed rules with odd values, sometimes damaged.
fn rule_yaml() -> impl Strategy<Value = String> {
    let pattern = prop::sample::select(vec![
        "tok_([a-z0-9]{8,})",
        "(?P<secret>x+)",
        "a(b",
        "[z-a]",
        "(a|b)*c",
        "\\bkey=([^\\s]+)",
        "(?i)(abc){2,4}",
        "()",
        "(.*)",
        "(\\w{1000}){100}",
        "no_group",
        "(?P<secret>)",
        "^(?m)(\\d+)$",
    ]);
    let keyword = prop::sample::select(vec!["tok_", "x", "key=", "k", "é", "abc", "", "  "]);
    let category = prop::sample::select(vec!["api_key", "generic", "oauth-hygiene", "nope"]);
    let extra = prop::sample::select(vec![
        "",
        "    min_entropy: 3.5\n",
        "    min_entropy: 99\n",
        "    window: {before: 0, after: 18446744073709551615}\n",
        "    checksum: crc32_base62\n",
        "    allow: ['(']\n",
        "    examples: ['tok_abcdefgh12', 'x']\n",
        "    only_in: [web-frontend]\n",
        "    random: true\n",
        "    colour: red\n",
    ]);
    let tail = prop::sample::select(vec![
        "",
        "decoders:\n  max_depth: 1000000\n  max_decoded_bytes: 18446744073709551615\n  triggers:\n    - {encoding: percent, keywords: ['%25'], window: {before: 0, after: 100000}, min_length: 0}\n",
        "filters:\n  placeholders: ['(']\n",
        "exposure: {}\n",
        "a: &a [1, 2]\nb: *a\n",
        ": : :\n",
        "rules: 3\n",
    ]);
    (
        prop::collection::vec(
            (
                "[a-z][a-z0-9-]{0,8}",
                keyword,
                category,
                pattern,
                extra,
            ),
            0..4,
        ),
        tail,
        any::<Option<(usize, char)>>(),
    )
        .prop_map(|(rules, tail, damage)| {
            let mut text = String::from("rules:\n");
            for (id, kw, cat, pat, extra) in rules {
                text.push_str(&format!(
                    "  - id: {id}\n    name: N\n    category: {cat}\n    keywords: ['{kw}']\n    pattern: '{pat}'\n{extra}"
                ));
            }
            text.push_str(tail);
            if let Some((at, c)) = damage {
                let at = at % (text.len() + 1);
                if text.is_char_boundary(at) {
                    text.insert(at, c);
                }
            }
            text
        })
}

/// JWT-shaped text: base64url header and claims with extreme numbers, and plain junk.
fn jwt_text() -> impl Strategy<Value = String> {
    let number = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:e}")),
        Just("1e400".to_string()),
        Just("\"soon\"".to_string()),
    ];
    let part = |json: String| b64(json.as_bytes()).trim_end_matches('=').replace('+', "-");
    prop_oneof![
        (number.clone(), number, "[a-z_]{0,8}").prop_map(move |(exp, iat, k)| {
            format!(
                "{}.{}.sig",
                part("{\"alg\":\"none\",\"typ\":\"at+jwt\"}".into()),
                part(format!("{{\"exp\":{exp},\"iat\":{iat},\"{k}\":[1]}}"))
            )
        }),
        "[A-Za-z0-9._-]{0,64}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn fuzz_matcher_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        fuzzing::matcher(&bytes);
    }

    #[test]
    fn fuzz_decoders(bytes in prop_oneof![soup(), prop::collection::vec(any::<u8>(), 0..512)]) {
        fuzzing::decoders(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn fuzz_matcher_on_keywords_and_encodings(bytes in soup()) {
        fuzzing::matcher(&bytes);
    }

    #[test]
    fn fuzz_rule_loader(text in rule_yaml()) {
        fuzzing::rules(text.as_bytes());
    }

    #[test]
    fn fuzz_rule_loader_on_arbitrary_text(text in "\\PC{0,200}") {
        fuzzing::rules(text.as_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fuzz_jwt(text in jwt_text()) {
        fuzzing::jwt(text.as_bytes());
    }

    #[test]
    fn fuzz_jwt_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        fuzzing::jwt(&bytes);
    }
}

#[test]
fn a_jwt_with_extreme_exp_and_iat_does_not_overflow() {
    // exp - iat overflowed i64 (a panic in debug builds) for these claims.
    let header = b64(br#"{"alg":"HS256"}"#);
    for claims in [
        r#"{"exp":9223372036854775807,"iat":-9223372036854775808}"#,
        r#"{"exp":-1e300,"iat":1e300}"#,
        r#"{"exp":-9223372036854775808}"#,
    ] {
        let token = format!("{header}.{}.sig", b64(claims.as_bytes()));
        let info = decode_jwt(&token, 1_800_000_000).expect("decodes");
        assert!(info.exp.is_some());
    }
}

#[test]
fn a_base64_run_touched_by_many_windows_is_decoded_once() {
    // One 200 KB base64 run with `auth` (a trigger keyword, itself base64) every 100 bytes:
    // every window reached back to the run's start and decoded it whole again, 2,000 times
    // (36 s for this input in a debug build).
    let hay = format!("{}\n", format!("auth{}", "A".repeat(96)).repeat(2000));
    let mut input = vec![0u8]; // the decoders target's selector: base64
    input.extend_from_slice(hay.as_bytes());
    fuzzing::decoders(&input);
    let m = Matcher::new(RuleSet::builtin()).expect("matcher");
    assert!(m.scan(hay.as_bytes(), &mut Scratch::new()).is_empty());
}

#[test]
fn a_percent_encoded_token_touched_by_many_windows_is_decoded_once() {
    let hay = format!("%2f{}", "A".repeat(600)).repeat(300);
    let mut input = vec![1u8]; // percent
    input.extend_from_slice(hay.as_bytes());
    fuzzing::decoders(&input);
}

#[test]
fn a_rule_file_cannot_ask_for_unbounded_decoding_depth() {
    // `%252525…` peels one level per two bytes: with the depth the file asks for, 20,000
    // levels of recursion and a quadratic amount of decoding.
    let text = "rules:\n  - id: tok\n    name: T\n    category: api_key\n    keywords: [tok_]\n    pattern: 'tok_([a-z]{8})'\ndecoders:\n  max_depth: 100000000\n  max_decoded_bytes: 100000000000\n  triggers:\n    - {encoding: percent, keywords: ['%25', '%5f'], window: {before: 16, after: 100000}, min_length: 0}\n";
    let set = RuleSet::from_sources(&[Source {
        file: "deep.yaml".into(),
        text: text.into(),
    }])
    .expect("loads");
    assert_eq!(set.decoders().depth(), 8);
    let m = Matcher::new(set).expect("matcher");
    // `tok` + `%` + `25`×n + `5F` + the rest decodes to `tok_abcdefgh` after n + 1 levels.
    let encoded = |n: usize| format!("x = tok%{}5Fabcdefgh\n", "25".repeat(n));
    assert_eq!(m.scan(encoded(3).as_bytes(), &mut Scratch::new()).len(), 1);
    assert!(
        m.scan(encoded(20_000).as_bytes(), &mut Scratch::new())
            .is_empty()
    );
}

#[test]
fn a_quarter_million_keyword_hits_are_scanned() {
    // The word `token` over and over: a prefilter hit every 6 bytes for the generic rules and
    // a decoder. Windows of one rule are merged, so this is one regex pass per rule; a
    // quadratic path would not finish. (A million hits, and the time per byte at doubling
    // sizes, are benches/pathological.rs's job: a debug build matches slowly.)
    let hay = "token ".repeat(250_000);
    let m = Matcher::new(RuleSet::builtin()).expect("matcher");
    assert!(m.keyword_hits(hay.as_bytes()) >= 250_000);
    assert!(m.scan(hay.as_bytes(), &mut Scratch::new()).is_empty());
}

#[test]
fn secrets_never_show_in_debug_output() {
    let m = Matcher::new(RuleSet::builtin()).expect("matcher");
    let token = "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";
    let found = m.scan(format!("t = '{token}'").as_bytes(), &mut Scratch::new());
    assert_eq!(found.len(), 1);
    let debug = format!("{found:?} {:#?} {:?}", found[0], found[0].secret);
    assert!(!debug.contains(&token[4..12]), "{debug}");
    assert!(debug.contains("ghp_…"), "{debug}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn redaction_never_shows_more_than_a_quarter(s in "\\PC{0,64}") {
        let secret = keyward_core::Secret::new(s.as_bytes());
        let chars = s.chars().count();
        let shown = secret.redacted().chars().count() - 1;
        prop_assert!(shown <= 4 && shown * 4 <= chars);
    }

    #[test]
    fn a_secret_is_never_in_its_debug_or_display_form(s in "[A-Za-z0-9_+/=.-]{8,64}") {
        let secret = keyward_core::Secret::new(s.as_bytes());
        let (debug, display) = (format!("{:?}", secret), secret.to_string());
        prop_assert!(!debug.contains(&s) && !display.contains(&s));
    }
}
