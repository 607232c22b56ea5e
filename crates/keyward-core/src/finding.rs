//! What a scan finds: [`Finding`], the redacting [`Secret`] and the stable [`Fingerprint`].

use std::fmt;
use std::ops::Range;

use sha2::{Digest, Sha256};

/// A secret value. `Debug` and `Display` print only the redacted form, so that logging one by
/// accident leaks nothing; [`Secret::expose`] gives the value itself.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Secret(String);

impl Secret {
    /// Wraps raw bytes (invalid UTF-8 is replaced).
    pub fn new(bytes: &[u8]) -> Secret {
        Secret(String::from_utf8_lossy(bytes).into_owned())
    }

    /// The secret itself: only for `--show-secrets` and for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// At most the first 4 characters and never more than a quarter of the secret, then `…`.
    pub fn redacted(&self) -> String {
        let chars = self.0.chars().count();
        let shown = (chars / 4).min(4);
        let mut out: String = self.0.chars().take(shown).collect();
        out.push('…');
        out
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A stable identity for a finding: a hash of rule id, secret and path, with no line number,
/// so that it survives edits above the secret, and never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// Computes the fingerprint of `secret` found by rule `rule` in `path`.
    pub fn new(rule: &str, secret: &Secret, path: &str) -> Fingerprint {
        let mut h = Sha256::new();
        for part in [rule.as_bytes(), secret.expose().as_bytes(), path.as_bytes()] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        let digest = h.finalize();
        Fingerprint(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The hex form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One secret found in one haystack.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Index of the rule in [`crate::Matcher::rules`].
    pub rule: usize,
    /// The secret.
    pub secret: Secret,
    /// Byte span of the secret in the haystack.
    pub span: Range<usize>,
    /// Byte span of the whole regex match.
    pub match_span: Range<usize>,
    /// 1-based line of the secret's first byte.
    pub line: usize,
    /// 1-based column of the secret's first byte, in characters.
    pub column: usize,
    /// How the secret was encoded, when it was found by decoding; the span is then the
    /// encoded region's.
    pub encoding: Option<crate::Encoding>,
}

/// Fills in `line` and `column` for findings sorted by span start.
pub(crate) fn locate(hay: &[u8], findings: &mut [Finding]) {
    let mut pos = 0;
    let mut line = 1;
    let mut line_start = 0;
    for f in findings.iter_mut() {
        let start = f.span.start.min(hay.len());
        if start < pos {
            // Not sorted: recount from the beginning (never happens on the hot path).
            pos = 0;
            line = 1;
            line_start = 0;
        }
        for nl in memchr::memchr_iter(b'\n', &hay[pos..start]) {
            line += 1;
            line_start = pos + nl + 1;
        }
        pos = start;
        f.line = line;
        f.column = 1 + hay[line_start..start]
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_shows_at_most_a_quarter_and_four_chars() {
        assert_eq!(Secret::new(b"abc").redacted(), "…");
        assert_eq!(Secret::new(b"abcdefgh").redacted(), "ab…");
        assert_eq!(
            Secret::new(b"ghp_0123456789abcdefghijklmnopqrstuvwxyz").redacted(),
            "ghp_…"
        );
        let s = Secret::new(b"supersecretvalue");
        assert!(!format!("{s:?} {s}").contains("supersecret"));
    }

    #[test]
    fn debug_of_a_secret_or_a_finding_never_shows_the_secret() {
        let value = "xoxb-263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1";
        let secret = Secret::new(value.as_bytes());
        let finding = Finding {
            rule: 3,
            secret: secret.clone(),
            span: 10..10 + value.len(),
            match_span: 4..10 + value.len(),
            line: 2,
            column: 7,
            encoding: Some(crate::Encoding::Base64),
        };
        let shown = format!(
            "{secret:?} {secret:#?} {secret} {finding:?} {finding:#?} {:?}",
            [Some(finding.clone())]
        );
        // No piece of it longer than the four characters redaction keeps.
        for i in 0..value.len() - 5 {
            let piece = &value[i..i + 5];
            assert!(!shown.contains(piece), "{piece:?} in {shown}");
        }
        assert!(shown.contains("Secret(xoxb…)"), "{shown}");
    }

    #[test]
    fn fingerprint_ignores_line_but_not_path_or_secret() {
        let s = Secret::new(b"token-1");
        let a = Fingerprint::new("r", &s, "a.txt");
        assert_eq!(a, Fingerprint::new("r", &s, "a.txt"));
        assert_ne!(a, Fingerprint::new("r", &s, "b.txt"));
        assert_ne!(a, Fingerprint::new("r", &Secret::new(b"token-2"), "a.txt"));
        assert_eq!(a.as_str().len(), 32);
    }

    #[test]
    fn lines_and_columns() {
        let hay = "one\ntwo é x\nthree".as_bytes();
        let mut fs = vec![
            Finding {
                rule: 0,
                secret: Secret::new(b"x"),
                span: 11..12,
                match_span: 11..12,
                line: 0,
                column: 0,
                encoding: None,
            },
            Finding {
                rule: 0,
                secret: Secret::new(b"t"),
                span: 13..14,
                match_span: 13..14,
                line: 0,
                column: 0,
                encoding: None,
            },
        ];
        locate(hay, &mut fs);
        assert_eq!((fs[0].line, fs[0].column), (2, 7));
        assert_eq!((fs[1].line, fs[1].column), (3, 1));
    }
}
