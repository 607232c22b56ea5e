//! Value filters: Shannon entropy and the placeholder check, driven by data in `patterns/`.

use std::collections::HashSet;
use std::sync::OnceLock;

use regex_automata::meta;
use serde::{Deserialize, Serialize};

use crate::glob::GlobList;
use crate::rule::compile_regex;

/// Shannon entropy of `bytes`, in bits per byte (0 for an empty slice).
///
/// ```
/// assert_eq!(keyward_core::entropy(b"aaaa"), 0.0);
/// assert!((keyward_core::entropy(b"abcd") - 2.0).abs() < 1e-9);
/// ```
pub fn entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// The `filters:` section of a pattern file. Several files may contribute; lists are joined.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiltersSpec {
    /// Regexes matched (case-insensitively) against the whole value: a match means placeholder.
    #[serde(default)]
    pub placeholder_patterns: Vec<String>,
    /// Words that make up placeholder values (`your`, `client`, `secret`, `here`…): a value
    /// whose every word of three letters or more is one of these is a placeholder.
    #[serde(default)]
    pub placeholder_words: Vec<String>,
    /// A value with fewer distinct bytes than this is a placeholder (`xxxx1111`).
    #[serde(default)]
    pub min_distinct_bytes: Option<usize>,
    /// How many letters and digits outside placeholder words a placeholder may still have
    /// (`MyApiKey123` has five: `My` and `123`).
    #[serde(default)]
    pub placeholder_slack: Option<usize>,
    /// Look-alike characters read as letters when they sit between two letters (`s3cr3t`,
    /// `p@ssw0rd`), before placeholder words are looked up: `{"3": "e", "@": "a"}`.
    #[serde(default)]
    pub leet: std::collections::BTreeMap<char, char>,
    /// For rules that say their secrets are random (`random: true`): a value that reads as
    /// words — few changes between lowercase, uppercase, digits and symbols, and a word of at
    /// least `min_word` letters — is an identifier, not a token (`statusHandler61-4710`).
    #[serde(default)]
    pub word_like: Option<WordLike>,
    /// Globs of lock files and checksum lists: generic rules report nothing there.
    #[serde(default)]
    pub lock_files: Vec<String>,
}

/// When a value reads as words rather than random characters.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordLike {
    /// At most this many changes between lowercase, uppercase, digits and symbols per
    /// character (random base62 has about 0.6, `statusHandler61-4710` 0.2)…
    pub max_changes_per_char: f64,
    /// …and most letters in pronounceable words: runs of at least this many letters (split at
    /// lower→upper)…
    pub min_word: usize,
    /// …with at least this share of vowels (English words have about 0.4, random letters 0.2).
    pub min_vowel_ratio: f64,
}

/// The filters shared by all rules.
#[derive(Debug, Default)]
pub struct Filters {
    spec: FiltersSpec,
    words: HashSet<String>,
    compiled: OnceLock<Result<CompiledFilters, String>>,
}

#[derive(Debug)]
struct CompiledFilters {
    placeholder: Option<meta::Regex>,
    lock_files: GlobList,
}

impl Filters {
    /// A copy of the specification (compiled forms are rebuilt on demand).
    pub(crate) fn snapshot(&self) -> Filters {
        Filters {
            spec: self.spec.clone(),
            words: self.words.clone(),
            compiled: OnceLock::new(),
        }
    }

    pub(crate) fn extend(&mut self, spec: FiltersSpec) {
        self.words.extend(
            spec.placeholder_words
                .iter()
                .map(|w| w.to_ascii_lowercase()),
        );
        self.spec
            .placeholder_patterns
            .extend(spec.placeholder_patterns);
        self.spec.placeholder_words.extend(spec.placeholder_words);
        self.spec.lock_files.extend(spec.lock_files);
        self.spec.leet.extend(spec.leet);
        if spec.min_distinct_bytes.is_some() {
            self.spec.min_distinct_bytes = spec.min_distinct_bytes;
        }
        if spec.word_like.is_some() {
            self.spec.word_like = spec.word_like;
        }
        if spec.placeholder_slack.is_some() {
            self.spec.placeholder_slack = spec.placeholder_slack;
        }
        self.compiled = OnceLock::new();
    }

    /// Compiles the patterns and globs, reporting the first one that is invalid.
    pub(crate) fn compile(&self) -> Result<(), String> {
        self.compiled().map(|_| ())
    }

    fn compiled(&self) -> Result<&CompiledFilters, String> {
        self.compiled
            .get_or_init(|| {
                let placeholder = if self.spec.placeholder_patterns.is_empty() {
                    None
                } else {
                    let alternation = self
                        .spec
                        .placeholder_patterns
                        .iter()
                        .map(|p| format!("(?:{p})"))
                        .collect::<Vec<_>>()
                        .join("|");
                    match compile_regex(&format!("(?i)^(?:{alternation})$"), false) {
                        Ok(re) => Some(re),
                        Err(e) => {
                            // Name the pattern at fault.
                            for p in &self.spec.placeholder_patterns {
                                compile_regex(p, false)
                                    .map_err(|e| format!("placeholder_patterns: {p:?}: {e}"))?;
                            }
                            return Err(format!("placeholder_patterns: {e}"));
                        }
                    }
                };
                let lock_files =
                    GlobList::new(&self.spec.lock_files).map_err(|e| format!("lock_files: {e}"))?;
                Ok(CompiledFilters {
                    placeholder,
                    lock_files,
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Is `value` (the whole secret) a placeholder, a template reference or a dummy?
    ///
    /// Never a substring test: a random token that happens to contain `test` stays a secret.
    pub fn is_placeholder(&self, value: &[u8]) -> bool {
        if let Some(min) = self.spec.min_distinct_bytes {
            let mut seen = [false; 256];
            let mut distinct = 0;
            for &b in value {
                if !seen[b as usize] {
                    seen[b as usize] = true;
                    distinct += 1;
                }
            }
            if distinct < min {
                return true;
            }
        }
        if let Ok(c) = self.compiled()
            && let Some(re) = &c.placeholder
            && re.is_match(value)
        {
            return true;
        }
        self.all_placeholder_words(value)
    }

    /// Every word of three letters or more is a placeholder word, there is at least one, and
    /// what is left (short words, digits) is within the slack (`your_client_secret_here`,
    /// `MyApiKey123`).
    fn all_placeholder_words(&self, value: &[u8]) -> bool {
        if self.words.is_empty() {
            return false;
        }
        let slack = self.spec.placeholder_slack.unwrap_or(0);
        let normalized;
        let value = if self.spec.leet.is_empty() {
            value
        } else {
            normalized = self.unleet(value);
            &normalized[..]
        };
        let mut words = 0;
        let mut other = 0;
        let mut ok = true;
        for_each_word(value, |w| {
            if w.len() >= 3 && w[0].is_ascii_alphabetic() {
                let lower = String::from_utf8_lossy(w).to_ascii_lowercase();
                if self.words.contains(&lower) {
                    words += 1;
                } else {
                    ok = false;
                }
            } else {
                other += w.len();
            }
        });
        ok && words > 0 && other <= slack
    }

    /// Replaces look-alike characters that sit between two ASCII letters.
    fn unleet(&self, value: &[u8]) -> Vec<u8> {
        let mut out = value.to_vec();
        for i in 1..value.len().saturating_sub(1) {
            if value[i - 1].is_ascii_alphabetic()
                && value[i + 1].is_ascii_alphabetic()
                && let Some(&c) = self.spec.leet.get(&char::from(value[i]))
                && c.is_ascii()
            {
                out[i] = c as u8;
            }
        }
        out
    }

    /// Does `value` read as words (an identifier) rather than random characters?
    pub fn is_word_like(&self, value: &[u8]) -> bool {
        let Some(w) = self.spec.word_like else {
            return false;
        };
        if value.len() < 2 {
            return false;
        }
        let class = |b: u8| match b {
            b'a'..=b'z' => 0,
            b'A'..=b'Z' => 1,
            b'0'..=b'9' => 2,
            _ => 3,
        };
        let changes = value
            .windows(2)
            .filter(|p| class(p[0]) != class(p[1]))
            .count();
        if changes as f64 >= w.max_changes_per_char * value.len() as f64 {
            return false;
        }
        let (mut letters, mut in_words) = (0, 0);
        for_each_word(value, |word| {
            if !word[0].is_ascii_alphabetic() {
                return;
            }
            letters += word.len();
            let vowels = word
                .iter()
                .filter(|b| matches!(b.to_ascii_lowercase(), b'a' | b'e' | b'i' | b'o' | b'u'))
                .count();
            if word.len() >= w.min_word && vowels as f64 >= w.min_vowel_ratio * word.len() as f64 {
                in_words += word.len();
            }
        });
        letters > 0 && in_words * 5 >= letters * 3
    }

    /// Is `path` a lock file or checksum list, where generic rules report nothing?
    pub fn is_lock_file(&self, path: &str) -> bool {
        self.compiled().is_ok_and(|c| c.lock_files.is_match(path))
    }
}

/// Splits a value into words: runs of letters (split again at lower→upper case changes) and
/// runs of digits; everything else separates.
fn for_each_word(value: &[u8], mut f: impl FnMut(&[u8])) {
    let mut start = None;
    for i in 0..=value.len() {
        let b = value.get(i).copied();
        let boundary = match (start, b) {
            (_, None) => true,
            (None, _) => false,
            (Some(s), Some(b)) => {
                let s: usize = s;
                let prev: u8 = value[i - 1];
                let first: u8 = value[s];
                !b.is_ascii_alphanumeric()
                    || (first.is_ascii_digit() != b.is_ascii_digit())
                    || (prev.is_ascii_lowercase() && b.is_ascii_uppercase())
            }
        };
        if boundary && let Some(s) = start.take() {
            f(&value[s..i]);
        }
        if let Some(b) = b
            && start.is_none()
            && b.is_ascii_alphanumeric()
        {
            start = Some(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters() -> Filters {
        let mut f = Filters::default();
        f.extend(FiltersSpec {
            placeholder_patterns: vec![r"\$\{[^}]*\}".into(), r"x+".into()],
            placeholder_words: ["your", "client", "secret", "here", "api", "key"]
                .map(String::from)
                .to_vec(),
            min_distinct_bytes: Some(4),
            placeholder_slack: Some(6),
            word_like: Some(WordLike {
                max_changes_per_char: 0.3,
                min_word: 4,
                min_vowel_ratio: 0.25,
            }),
            leet: [('3', 'e'), ('0', 'o'), ('@', 'a'), ('4', 'a'), ('$', 's')]
                .into_iter()
                .collect(),
            lock_files: vec!["**/package-lock.json".into(), "Cargo.lock".into()],
        });
        f
    }

    #[test]
    fn entropy_values() {
        assert_eq!(entropy(b""), 0.0);
        assert_eq!(entropy(b"zzzz"), 0.0);
        assert!((entropy(b"ab") - 1.0).abs() < 1e-9);
        assert!(entropy(b"gho_16C7e42F292c6912E7710c838347Ae178B4a") > 4.0);
    }

    #[test]
    fn words_split_on_case_digits_and_separators() {
        let mut words = Vec::new();
        for_each_word(b"yourClientSecret_123-here", |w| {
            words.push(String::from_utf8_lossy(w).into_owned())
        });
        assert_eq!(words, ["your", "Client", "Secret", "123", "here"]);
    }

    #[test]
    fn placeholders() {
        let f = filters();
        assert!(f.is_placeholder(b"${CLIENT_SECRET}"));
        assert!(f.is_placeholder(b"xxxxxxxx"));
        assert!(f.is_placeholder(b"YOUR_CLIENT_SECRET"));
        assert!(f.is_placeholder(b"your-api-key-here"));
        assert!(f.is_placeholder(b"aaaa1111"));
        assert!(f.is_placeholder(b"MyApiKey123"));
        assert!(f.is_placeholder(b"s3cr3t-k3y"));
        assert!(!f.is_placeholder(b"k3yQ9zWm4x"));
        // Whole-value semantics: a random token containing a placeholder word is kept.
        assert!(!f.is_placeholder(b"h7Kq9secretZp2Lw8Rt"));
        assert!(!f.is_placeholder(b"Tundra_vortex7217!"));
        assert!(!f.is_placeholder(b"client_secret_9fK2qLx7Pw"));
    }

    #[test]
    fn word_like_values() {
        let f = filters();
        assert!(f.is_word_like(b"statusHandler61-4710"));
        assert!(f.is_word_like(b"responseService-4602"));
        assert!(!f.is_word_like(b"zKJJlSG9LG4SSRUU7ysrN4ku9lAUeFc54ZtXxKmY"));
        assert!(!f.is_word_like(b"f3a9c1e7b5d2846a0c9e3f71b2d5a8c4"));
        assert!(!f.is_word_like(b"5TCzUi81p6IquFLi9J4NYeG5FnAdSSMxV85UCzzmIo-R_f0i"));
        assert!(
            !f.is_word_like(b"nvn6npzvvxydnjb"),
            "random lowercase letters are no words"
        );
    }

    #[test]
    fn lock_files_match_by_glob() {
        let f = filters();
        assert!(f.is_lock_file("web/package-lock.json"));
        assert!(f.is_lock_file("Cargo.lock"));
        assert!(!f.is_lock_file("src/package-lock.json.rs"));
    }
}
