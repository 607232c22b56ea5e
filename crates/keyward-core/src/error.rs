//! The one error type of keyward-core.

use std::path::PathBuf;

/// What can go wrong loading rules or building a matcher.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A pattern file could not be read.
    #[error("{}: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A pattern file is not valid YAML or does not fit the rule format.
    #[error("{}:{line}:{column}: {message}", file.display())]
    Yaml {
        /// The file.
        file: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// One rule is invalid.
    #[error("{}:{line}: rule {rule}: {message}", file.display())]
    Rule {
        /// The file.
        file: PathBuf,
        /// 1-based line of the rule's id (0 when unknown).
        line: usize,
        /// The rule's id.
        rule: String,
        /// What is wrong.
        message: String,
    },
    /// The keyword automaton could not be built.
    #[error("cannot build the keyword automaton: {0}")]
    Matcher(String),
}
