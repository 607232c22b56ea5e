//! Baselines: the findings a team has looked at and accepted, recorded by fingerprint so that
//! exactly those stay quiet.
//!
//! An entry is a fingerprint (a hash of rule, secret and path: no line number, so it survives
//! edits above the secret, and never the secret itself), with the rule and path beside it for
//! the reviewer of the file. Entries are sorted and carry no timestamps, so the file diffs
//! cleanly and regenerating it from the same findings gives the same bytes.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::Outcome;
use crate::cli::{BaselineCommand, BaselineSource};
use crate::policy::Policy;
use crate::report::Record;

/// The file `keyward baseline create` writes when not told otherwise.
pub const DEFAULT_FILE: &str = ".keyward-baseline.json";

/// The version of the file format.
const VERSION: u32 = 1;

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Path of the finding (as reported).
    pub path: String,
    /// Rule id.
    pub rule: String,
    /// The finding's fingerprint.
    pub fingerprint: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    keyward_baseline: u32,
    entries: Vec<Entry>,
}

/// A loaded baseline.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    /// Where it was read from.
    pub path: PathBuf,
    entries: BTreeSet<Entry>,
    fingerprints: HashSet<String>,
}

impl Baseline {
    fn new(path: &Path, entries: BTreeSet<Entry>) -> Baseline {
        Baseline {
            path: path.to_path_buf(),
            fingerprints: entries.iter().map(|e| e.fingerprint.clone()).collect(),
            entries,
        }
    }

    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Baseline> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read baseline {}", path.display()))?;
        let file: File = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}:{}:{}: not a keyward baseline: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        if file.keyward_baseline != VERSION {
            bail!(
                "{}: baseline format {} is not supported (this keyward reads {VERSION})",
                path.display(),
                file.keyward_baseline
            );
        }
        Ok(Baseline::new(path, file.entries.into_iter().collect()))
    }

    /// The file's text: sorted entries, stable bytes.
    pub fn to_json(&self) -> String {
        let file = File {
            keyward_baseline: VERSION,
            entries: self.entries.iter().cloned().collect(),
        };
        let mut s = serde_json::to_string_pretty(&file).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Writes the file (replacing it).
    pub fn save(&self) -> Result<()> {
        std::fs::write(&self.path, self.to_json())
            .with_context(|| format!("cannot write baseline {}", self.path.display()))
    }

    /// Is this finding accepted?
    pub fn contains(&self, record: &Record) -> bool {
        // By fingerprint alone: the rule and path columns are there for people to read.
        self.fingerprints.contains(record.fingerprint.as_str())
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Keeps only the entries whose fingerprint is `live`; returns how many were dropped.
    pub fn prune(&mut self, live: &BTreeSet<&str>) -> usize {
        let before = self.entries.len();
        self.entries
            .retain(|e| live.contains(e.fingerprint.as_str()));
        self.fingerprints = self.entries.iter().map(|e| e.fingerprint.clone()).collect();
        before - self.entries.len()
    }
}

impl Baseline {
    /// A baseline of `entries`, to be written to `path`.
    pub fn from_entries(path: &Path, entries: Vec<Entry>) -> Baseline {
        Baseline::new(path, entries.into_iter().collect())
    }
}

/// The entry of one finding.
fn entry(r: &Record) -> Entry {
    Entry {
        path: r.path.clone(),
        rule: r.rule.clone(),
        fingerprint: r.fingerprint.as_str().to_string(),
    }
}

/// The findings of a baseline command's source: `(reportable, all)`. Reportable findings are
/// those that no allowlist or inline directive already silences (they need no entry); all
/// findings are what an entry may still match.
fn current(source: &BaselineSource) -> Result<(Vec<Entry>, Vec<Entry>)> {
    if let Some(report) = &source.from_report {
        let entries = from_report(report)?;
        return Ok((entries.clone(), entries));
    }
    let start = crate::scan::config_start(&source.paths);
    let config = crate::settings::config_for(source.config.as_deref(), source.no_config, &start)?;
    let matcher = keyward_core::Matcher::new(crate::settings::load_rules(&config, &source.rules)?)?;
    let opts = crate::scan::ScanOptions {
        paths: source.paths.clone(),
        max_file_size: source
            .max_file_size
            .or(config.max_file_size)
            .unwrap_or(25 * 1024 * 1024),
        gitignore: source.gitignore,
        follow: source.follow,
        threads: 0,
        unused_directives: false,
    };
    let result = crate::scan::run(&opts, &matcher);
    if let Some(e) = result.errors.first() {
        bail!("{e}");
    }
    let all: Vec<Entry> = result.records.iter().map(entry).collect();
    let policy = Policy::new(&config, None, None, None)?;
    let reportable = policy.apply(result.records, Vec::new()).reported;
    Ok((reportable.iter().map(entry).collect(), all))
}

/// The findings of a JSON report (`{"findings": […], "ignored": […]}`) or JSON Lines.
fn from_report(path: &Path) -> Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read report {}", path.display()))?;
    let values: Vec<serde_json::Value> = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(doc) if doc.get("findings").is_some() => ["findings", "ignored"]
            .iter()
            .filter_map(|k| doc.get(*k).and_then(|v| v.as_array()))
            .flatten()
            .cloned()
            .collect(),
        _ => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .with_context(|| format!("{}:{}: not a JSON finding", path.display(), i + 1))
            })
            .collect::<Result<_>>()?,
    };
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let field = |k: &str| {
                v.get(k)
                    .and_then(|x| x.as_str())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        anyhow::anyhow!("{}: finding {} has no {k:?}", path.display(), i + 1)
                    })
            };
            Ok(Entry {
                path: field("path")?,
                rule: field("rule")?,
                fingerprint: field("fingerprint")?,
            })
        })
        .collect()
}

/// Runs `keyward baseline create|prune`.
pub fn run(cmd: BaselineCommand) -> Result<Outcome> {
    let config_baseline = |source: &BaselineSource| -> Result<Option<PathBuf>> {
        if source.from_report.is_some() {
            return Ok(None);
        }
        let start = crate::scan::config_start(&source.paths);
        Ok(
            crate::settings::config_for(source.config.as_deref(), source.no_config, &start)?
                .baseline,
        )
    };
    match cmd {
        BaselineCommand::Create { source, output } => {
            let path = match output {
                Some(p) => p,
                None => config_baseline(&source)?.unwrap_or_else(|| PathBuf::from(DEFAULT_FILE)),
            };
            let (reportable, _) = current(&source)?;
            let baseline = Baseline::from_entries(&path, reportable);
            baseline.save()?;
            eprintln!(
                "{} entr{} written to {}",
                baseline.len(),
                if baseline.len() == 1 { "y" } else { "ies" },
                path.display()
            );
        }
        BaselineCommand::Prune { source, baseline } => {
            let path = match baseline {
                Some(p) => p,
                None => config_baseline(&source)?.unwrap_or_else(|| PathBuf::from(DEFAULT_FILE)),
            };
            let mut b = Baseline::load(&path)?;
            let total = b.len();
            let (_, all) = current(&source)?;
            let live: BTreeSet<&str> = all.iter().map(|e| e.fingerprint.as_str()).collect();
            let dropped = b.prune(&live);
            b.save()?;
            eprintln!(
                "{dropped} of {total} entr{} dropped from {}",
                if total == 1 { "y" } else { "ies" },
                path.display()
            );
        }
    }
    Ok(Outcome::Clean)
}
