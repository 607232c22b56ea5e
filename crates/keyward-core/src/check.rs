//! `rules check`: validates pattern files and runs every rule's examples through the full
//! matcher (prefilter, regex, entropy, checksum, placeholders and overlap removal together).

use std::fmt;
use std::path::PathBuf;

use crate::error::Error;
use crate::matcher::{Matcher, Scratch};
use crate::rule::{RuleSet, Source};

/// One problem found by [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The pattern file.
    pub file: PathBuf,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// The rule, when the problem belongs to one.
    pub rule: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file.display(), self.line)?;
        if let Some(rule) = &self.rule {
            write!(f, "rule {rule}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Problem {
        match e {
            Error::Rule {
                file,
                line,
                rule,
                message,
            } => Problem {
                file,
                line,
                rule: Some(rule),
                message,
            },
            Error::Yaml {
                file,
                line,
                message,
                ..
            } => Problem {
                file,
                line,
                rule: None,
                message,
            },
            Error::Io { file, source } => Problem {
                file,
                line: 0,
                rule: None,
                message: source.to_string(),
            },
            Error::Matcher(message) => Problem {
                file: PathBuf::new(),
                line: 0,
                rule: None,
                message,
            },
        }
    }
}

/// What [`check`] looked at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckSummary {
    /// Rules checked.
    pub rules: usize,
    /// Examples run (positive and negative).
    pub examples: usize,
    /// Everything that is wrong.
    pub problems: Vec<Problem>,
}

/// Checks `sources` on top of `base` (whose filters apply, as in a real scan; its rules are
/// not re-checked): unique ids, regexes that compile within the size limit, a secret group,
/// a keyword in every example, every example matched by its rule and no negative example.
pub fn check(base: RuleSet, sources: &[Source]) -> CheckSummary {
    let mut summary = CheckSummary::default();
    let mut set = base;
    set.clear_rules();
    for source in sources {
        summary
            .problems
            .extend(set.extend_lenient(source).into_iter().map(Problem::from));
    }
    summary.rules = set.rules().len();
    let matcher = match Matcher::new(set) {
        Ok(m) => m,
        Err(e) => {
            summary.problems.push(e.into());
            return summary;
        }
    };
    let mut scratch = Scratch::new();
    for (index, rule) in matcher.rules().iter().enumerate() {
        let (id, file, line) = (&rule.spec.id, &rule.origin.file, &rule.origin.line);
        let (keywords, positives, negatives) = (
            &rule.spec.keywords,
            &rule.spec.examples,
            &rule.spec.negative_examples,
        );
        let problem = |message: String| Problem {
            file: file.clone(),
            line: *line,
            rule: Some(id.clone()),
            message,
        };
        for (n, example) in positives.iter().enumerate() {
            summary.examples += 1;
            let lower = example.to_ascii_lowercase();
            if !keywords
                .iter()
                .any(|k| lower.contains(&k.to_ascii_lowercase()))
            {
                summary.problems.push(problem(format!(
                    "example {} contains none of the keywords",
                    n + 1
                )));
                continue;
            }
            let found = matcher.scan(example.as_bytes(), &mut scratch);
            if !found.iter().any(|f| f.rule == index) {
                let others: Vec<&str> = found
                    .iter()
                    .map(|f| matcher.rules()[f.rule].spec.id.as_str())
                    .collect();
                let by = if others.is_empty() {
                    String::new()
                } else {
                    format!(" (found by {})", others.join(", "))
                };
                summary
                    .problems
                    .push(problem(format!("example {} is not matched{by}", n + 1)));
            }
        }
        for (n, example) in negatives.iter().enumerate() {
            summary.examples += 1;
            let found = matcher.scan(example.as_bytes(), &mut scratch);
            if found.iter().any(|f| f.rule == index) {
                summary
                    .problems
                    .push(problem(format!("negative example {} is matched", n + 1)));
            }
        }
    }
    summary
}
