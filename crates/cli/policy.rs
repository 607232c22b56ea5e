//! What is reported and what is not: the thresholds (`--min-severity`, `--min-confidence`),
//! the config's allowlists and stopwords, inline directives and the baseline, applied to the
//! records of any source (files, stdin, history) in one place, just before the report.
//!
//! A suppressed finding is not lost: it is counted in `stats.suppressed`, and with
//! `--report-ignored` listed with the reason. Directives that have expired, that are not
//! valid, or (with `--report-ignored`, for `keyward scan`) that silence nothing are listed too.

use std::collections::BTreeMap;

use anyhow::Result;
use globset::{GlobSet, GlobSetBuilder};
use keyward_core::{Confidence, Severity};

use crate::baseline::Baseline;
use crate::config::Config;
use crate::report::Record;
use crate::suppress::{Directive, State};

/// Why a finding was not reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// An inline directive on or above its line.
    Inline(Directive),
    /// Its fingerprint is in the baseline.
    Baseline(String),
    /// Its path matches a config allowlist glob.
    AllowedPath(String),
    /// Its secret matches a config allowlist regex.
    AllowedSecret(String),
    /// Its secret contains a config stopword.
    Stopword(String),
}

impl Reason {
    /// The short name used in stats and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::Inline(_) => "inline",
            Reason::Baseline(_) => "baseline",
            Reason::AllowedPath(_) => "allowlist_path",
            Reason::AllowedSecret(_) => "allowlist_secret",
            Reason::Stopword(_) => "stopword",
        }
    }

    /// One phrase for people: what silenced it.
    pub fn describe(&self) -> String {
        match self {
            Reason::Inline(d) => {
                let mut s = format!("{} on line {}", d.form, d.line);
                if let Some(r) = &d.reason {
                    s.push_str(&format!(", reason {r:?}"));
                }
                if let Some(u) = d.until {
                    s.push_str(&format!(", until {u}"));
                }
                s
            }
            Reason::Baseline(file) => format!("baseline {file}"),
            Reason::AllowedPath(glob) => format!("allowlisted path {glob:?}"),
            Reason::AllowedSecret(re) => format!("allowlisted secret /{re}/"),
            Reason::Stopword(w) => format!("stopword {w:?}"),
        }
    }
}

/// A finding that was not reported, and why.
#[derive(Debug, Clone)]
pub struct Ignored {
    /// The finding.
    pub record: Record,
    /// Why.
    pub reason: Reason,
}

/// What is wrong with an inline directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Its `until` date has passed: the finding is reported again.
    Expired(crate::suppress::Date),
    /// Its `until` is not a date: it silences nothing.
    Invalid(String),
    /// No finding on the line it speaks for.
    Unused,
}

/// A directive worth telling the user about.
#[derive(Debug, Clone)]
pub struct Note {
    /// The file.
    pub path: String,
    /// The directive.
    pub directive: Directive,
    /// What is wrong with it.
    pub problem: Problem,
}

impl Note {
    /// One line for people, without the path.
    pub fn describe(&self) -> String {
        match &self.problem {
            Problem::Expired(d) => format!(
                "{} expired on {d}: the finding is reported",
                self.directive.form
            ),
            Problem::Invalid(v) => {
                // The value comes from the file: shown short and without control characters.
                let v: String = crate::sanitize::for_terminal(v).chars().take(40).collect();
                format!(
                    "{} has an invalid until={v:?} (use YYYY-MM-DD): it silences nothing",
                    self.directive.form
                )
            }
            Problem::Unused => format!(
                "{} silences nothing: no finding on its line",
                self.directive.form
            ),
        }
    }

    /// `expired`, `invalid` or `unused`.
    pub fn kind(&self) -> &'static str {
        match self.problem {
            Problem::Expired(_) => "expired",
            Problem::Invalid(_) => "invalid",
            Problem::Unused => "unused",
        }
    }
}

/// The result of applying the policy.
#[derive(Debug, Default)]
pub struct Split {
    /// What is reported.
    pub reported: Vec<Record>,
    /// What was suppressed (kept only with `--report-ignored`).
    pub ignored: Vec<Ignored>,
    /// Problems with inline directives.
    pub notes: Vec<Note>,
    /// How many findings each reason removed (`below_min_severity`, `inline`, …).
    pub counts: BTreeMap<&'static str, u64>,
}

/// The thresholds and suppressions of one run.
#[derive(Debug, Default)]
pub struct Policy {
    min_severity: Option<Severity>,
    min_confidence: Option<Confidence>,
    allow_paths: Option<(GlobSet, Vec<String>)>,
    allow_secrets: Vec<regex::Regex>,
    stopwords: Vec<(String, String)>,
    baseline: Option<Baseline>,
    /// Keep suppressed findings for the report.
    pub report_ignored: bool,
    /// `--exit-code`: the exit code when findings are reported.
    pub exit_code: u8,
}

impl Policy {
    /// The policy of `config` plus the command line's thresholds and baseline.
    pub fn new(
        config: &Config,
        baseline: Option<Baseline>,
        min_severity: Option<Severity>,
        min_confidence: Option<Confidence>,
    ) -> Result<Policy> {
        let allow_paths = if config.allow_paths.is_empty() {
            None
        } else {
            let mut b = GlobSetBuilder::new();
            for g in &config.allow_paths {
                b.add(
                    globset::GlobBuilder::new(g)
                        .literal_separator(true)
                        .build()?,
                );
            }
            Some((b.build()?, config.allow_paths.clone()))
        };
        let allow_secrets = config
            .allow_secrets
            .iter()
            .map(|r| regex::Regex::new(r))
            .collect::<Result<_, _>>()?;
        Ok(Policy {
            min_severity,
            min_confidence,
            allow_paths,
            allow_secrets,
            stopwords: config
                .stopwords
                .iter()
                .map(|w| (w.to_lowercase(), w.clone()))
                .collect(),
            baseline,
            report_ignored: false,
            exit_code: 1,
        })
    }

    /// Why `r` is not reported, if it is not: allowlists first (they are the broadest), then
    /// an inline directive, then the baseline.
    fn reason(&self, r: &Record) -> Option<Reason> {
        if let Some((set, globs)) = &self.allow_paths
            && let Some(&i) = set.matches(&r.path).first()
        {
            return Some(Reason::AllowedPath(globs[i].clone()));
        }
        let secret = r.secret.expose();
        if let Some(re) = self.allow_secrets.iter().find(|re| re.is_match(secret)) {
            return Some(Reason::AllowedSecret(re.as_str().to_string()));
        }
        if !self.stopwords.is_empty() {
            let lower = secret.to_lowercase();
            if let Some((_, w)) = self
                .stopwords
                .iter()
                .find(|(l, _)| lower.contains(l.as_str()))
            {
                return Some(Reason::Stopword(w.clone()));
            }
        }
        if let Some(d) = r.directive.as_deref()
            && d.state(crate::annotate::today()) == State::Active
        {
            return Some(Reason::Inline(d.clone()));
        }
        if let Some(b) = &self.baseline
            && b.contains(r)
        {
            return Some(Reason::Baseline(b.path.display().to_string()));
        }
        None
    }

    fn below_threshold(&self, r: &Record) -> Option<&'static str> {
        if self.min_severity.is_some_and(|min| r.severity < min) {
            return Some("below_min_severity");
        }
        let confidence = match r.confidence {
            "low" => Confidence::Low,
            "high" => Confidence::High,
            _ => Confidence::Medium,
        };
        if self.min_confidence.is_some_and(|min| confidence < min) {
            return Some("below_min_confidence");
        }
        None
    }

    /// Splits `records` into what is reported and what is not; `unused` are directives that
    /// the source found silencing nothing.
    pub fn apply(&self, records: Vec<Record>, unused: Vec<Note>) -> Split {
        let mut split = Split {
            notes: unused,
            ..Split::default()
        };
        for r in records {
            if let Some(why) = self.below_threshold(&r) {
                *split.counts.entry(why).or_default() += 1;
                continue;
            }
            if let Some(d) = r.directive.as_deref() {
                let problem = match d.state(crate::annotate::today()) {
                    State::Active => None,
                    State::Expired(date) => Some(Problem::Expired(date)),
                    State::Invalid(v) => Some(Problem::Invalid(v)),
                };
                if let Some(problem) = problem {
                    split.notes.push(Note {
                        path: r.path.clone(),
                        directive: d.clone(),
                        problem,
                    });
                }
            }
            match self.reason(&r) {
                Some(reason) => {
                    *split.counts.entry(reason.kind()).or_default() += 1;
                    if self.report_ignored {
                        split.ignored.push(Ignored { record: r, reason });
                    }
                }
                None => split.reported.push(r),
            }
        }
        split
            .notes
            .sort_by(|a, b| (&a.path, a.directive.line).cmp(&(&b.path, b.directive.line)));
        split
    }
}

/// The directives in `bytes` (read from `path`) that no finding of `records` needs.
pub fn unused(path: &str, bytes: &[u8], records: &[Record]) -> Vec<Note> {
    let used: Vec<usize> = records.iter().map(|r| r.line).collect();
    crate::suppress::unused(bytes, &used)
        .into_iter()
        .map(|directive| Note {
            path: path.to_string(),
            directive,
            problem: Problem::Unused,
        })
        .collect()
}
