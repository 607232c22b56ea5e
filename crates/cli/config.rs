//! `.keyward.yaml`: a repository's own settings, read once and turned into a plain [`Config`].
//!
//! ```yaml
//! rules:
//!   paths: [security/keyward-rules]   # more rule files (relative to this file)
//!   disable: [generic-password]       # built-in rules to drop, by id
//! allowlist:
//!   paths: ["tests/fixtures/**"]      # globs on reported paths
//!   secrets: ["^sk_test_"]            # regexes on the secret itself
//! stopwords: [notreal]                # a secret that contains one of these is never reported
//! exposure:                           # where files end up, before the built-in guesses
//!   - { glob: "apps/desktop/**", exposure: desktop }
//! baseline: .keyward-baseline.json
//! max_file_size: 10MiB                # keyward scan
//! max_blob_size: 10MiB                # keyward history
//! format: sarif
//! fail_open: false                    # hooks: let a push through when keyward itself fails
//! ```
//!
//! The file is found at the root of the repository that holds the scanned path (or in the
//! scanned folder outside a repository), or given with `--config`. Unknown keys are errors
//! that name the key, the file and the line: a misspelt `allowlist` silently allowing
//! nothing, or everything, is worse than a failed run.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::ValueEnum;
use serde::Deserialize;

use crate::cli::Format;

/// The names a config file may have, in the order they are looked for.
pub const FILE_NAMES: [&str; 2] = [".keyward.yaml", ".keyward.yml"];

/// The exposures a glob may assign (DESIGN.md's list).
pub const EXPOSURES: [&str; 6] = [
    "web-frontend",
    "mobile",
    "desktop",
    "backend",
    "test",
    "docs",
];

/// The settings of a config file, validated, with paths made relative to the working
/// directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// The file they came from (`None`: no file, all defaults).
    pub file: Option<PathBuf>,
    /// More rule files or folders.
    pub rule_paths: Vec<PathBuf>,
    /// Rule ids to drop.
    pub disabled_rules: Vec<String>,
    /// Globs on reported paths whose findings are not reported.
    pub allow_paths: Vec<String>,
    /// Regexes on secrets that are not reported.
    pub allow_secrets: Vec<String>,
    /// Secrets containing one of these (ignoring case) are not reported.
    pub stopwords: Vec<String>,
    /// `(glob, exposure)` pairs, in file order, for the exposure classifier: the first glob
    /// that matches a path decides, before the built-in classification.
    pub exposure_globs: Vec<(String, String)>,
    /// The baseline file.
    pub baseline: Option<PathBuf>,
    /// `keyward scan`'s size limit.
    pub max_file_size: Option<u64>,
    /// `keyward history`'s size limit.
    pub max_blob_size: Option<u64>,
    /// The report format when `--format` is not given.
    pub format: Option<Format>,
    /// Hooks: let the push or commit through when keyward itself fails (not on findings).
    pub fail_open: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    rules: RulesSpec,
    #[serde(default)]
    allowlist: AllowSpec,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default)]
    exposure: Vec<ExposureSpec>,
    baseline: Option<PathBuf>,
    max_file_size: Option<Size>,
    max_blob_size: Option<Size>,
    format: Option<String>,
    #[serde(default)]
    fail_open: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesSpec {
    #[serde(default)]
    paths: Vec<PathBuf>,
    #[serde(default)]
    disable: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowSpec {
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    secrets: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExposureSpec {
    glob: String,
    exposure: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Size {
    Bytes(u64),
    Text(String),
}

/// The config file for a scan of `start`: `.keyward.yaml` at the root of the repository
/// holding `start`, or in `start` itself (a folder, or a file's folder) outside a repository.
pub fn discover(start: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(start).ok()?;
    let start = if start.is_dir() {
        start
    } else {
        start.parent()?.to_path_buf()
    };
    let root = start
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .unwrap_or(&start);
    FILE_NAMES
        .iter()
        .map(|name| root.join(name))
        .find(|p| p.is_file())
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    parse(path, &text)
}

/// Validates config `text` read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Config> {
    let spec: FileSpec = match serde_yaml::from_str::<Option<FileSpec>>(text) {
        Ok(spec) => spec.unwrap_or_default(),
        Err(e) => {
            let at = e
                .location()
                .map_or(String::new(), |l| format!(":{}:{}", l.line(), l.column()));
            let message = e.to_string();
            // yaml_serde appends " at line L column C"; the position is up front instead.
            let message = message
                .find(" at line ")
                .map_or(message.as_str(), |i| &message[..i])
                .replace("unknown field", "unknown key");
            bail!("{}{at}: {message}", path.display());
        }
    };
    let dir = path.parent().unwrap_or(Path::new(""));
    let line_of = |needle: &str| -> String {
        text.lines()
            .position(|l| l.contains(needle))
            .map_or(String::new(), |i| format!(":{}", i + 1))
    };
    let err = |needle: &str, what: String| anyhow!("{}{}: {what}", path.display(), line_of(needle));

    for glob in &spec.allowlist.paths {
        globset::Glob::new(glob).map_err(|e| err(glob, format!("bad path glob {glob:?}: {e}")))?;
    }
    for re in &spec.allowlist.secrets {
        // The pattern may be a secret itself: the message points at the line instead of
        // repeating it (the regex error quotes the pattern, so only its last line is kept).
        regex::Regex::new(re).map_err(|e| {
            let why = e.to_string();
            let why = why.lines().last().unwrap_or_default().trim();
            err(re, format!("bad secret regex: {why}"))
        })?;
    }
    let mut exposure_globs = Vec::new();
    for e in &spec.exposure {
        globset::Glob::new(&e.glob)
            .map_err(|x| err(&e.glob, format!("bad exposure glob {:?}: {x}", e.glob)))?;
        if !EXPOSURES.contains(&e.exposure.as_str()) {
            return Err(err(
                &e.exposure,
                format!(
                    "unknown exposure {:?} (one of: {})",
                    e.exposure,
                    EXPOSURES.join(", ")
                ),
            ));
        }
        exposure_globs.push((e.glob.clone(), e.exposure.clone()));
    }
    if let Some(w) = spec.stopwords.iter().find(|w| w.trim().is_empty()) {
        return Err(err("stopwords", format!("empty stopword {w:?}")));
    }
    let size = |key: &str, s: &Option<Size>| -> Result<Option<u64>> {
        match s {
            None => Ok(None),
            Some(Size::Bytes(n)) => Ok(Some(*n)),
            Some(Size::Text(t)) => crate::cli::parse_size(t)
                .map(Some)
                .map_err(|m| err(key, format!("{key}: {m}"))),
        }
    };
    let format = match &spec.format {
        None => None,
        Some(f) => Some(Format::from_str(f, true).map_err(|_| {
            let names: Vec<String> = Format::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
                .collect();
            err(
                "format",
                format!("unknown format {f:?} (one of: {})", names.join(", ")),
            )
        })?),
    };
    Ok(Config {
        file: Some(path.to_path_buf()),
        rule_paths: spec.rules.paths.iter().map(|p| dir.join(p)).collect(),
        disabled_rules: spec.rules.disable,
        allow_paths: spec.allowlist.paths,
        allow_secrets: spec.allowlist.secrets,
        stopwords: spec.stopwords,
        exposure_globs,
        baseline: spec.baseline.map(|p| dir.join(p)),
        max_file_size: size("max_file_size", &spec.max_file_size)?,
        max_blob_size: size("max_blob_size", &spec.max_blob_size)?,
        format,
        fail_open: spec.fail_open,
    })
}

impl Config {
    /// The settings as JSON, paths as they will be used.
    pub fn to_json(&self) -> serde_json::Value {
        let path = |p: &Path| p.to_string_lossy().into_owned();
        serde_json::json!({
            "file": self.file.as_deref().map(path),
            "rules": {
                "paths": self.rule_paths.iter().map(|p| path(p)).collect::<Vec<_>>(),
                "disable": self.disabled_rules,
            },
            "allowlist": { "paths": self.allow_paths, "secrets": self.allow_secrets },
            "stopwords": self.stopwords,
            "exposure": self.exposure_globs.iter()
                .map(|(g, e)| serde_json::json!({ "glob": g, "exposure": e }))
                .collect::<Vec<_>>(),
            "baseline": self.baseline.as_deref().map(path),
            "max_file_size": self.max_file_size,
            "max_blob_size": self.max_blob_size,
            "format": self.format.and_then(|f| f.to_possible_value()).map(|v| v.get_name().to_string()),
            "fail_open": self.fail_open,
        })
    }
}

/// Runs `keyward config check`.
pub fn run(cmd: crate::cli::ConfigCommand) -> Result<crate::Outcome> {
    let crate::cli::ConfigCommand::Check { file, json } = cmd;
    let path = match file {
        Some(p) => p,
        None => discover(Path::new("."))
            .ok_or_else(|| anyhow!("no {} here or at the repository root", FILE_NAMES[0]))?,
    };
    let config = load(&path)?;
    if json {
        println!("{:#}", config.to_json());
    } else {
        println!("{}: valid", path.display());
        let value = config.to_json();
        if let Some(map) = value.as_object() {
            for (k, v) in map.iter().filter(|(k, _)| *k != "file") {
                println!("  {k}: {v}");
            }
        }
    }
    Ok(crate::Outcome::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Config> {
        parse(Path::new("repo/.keyward.yaml"), text)
    }

    #[test]
    fn every_key() {
        let c = parse_text(
            "rules:\n  paths: [rules]\n  disable: [generic-password]\n\
             allowlist:\n  paths: ['tests/**']\n  secrets: ['^sk_test_']\n\
             stopwords: [notreal]\n\
             exposure:\n  - { glob: 'apps/desktop/**', exposure: desktop }\n\
             baseline: .keyward-baseline.json\n\
             max_file_size: 10MiB\nmax_blob_size: 1048576\nformat: sarif\nfail_open: true\n",
        )
        .expect("valid");
        assert_eq!(c.rule_paths, vec![PathBuf::from("repo/rules")]);
        assert_eq!(c.disabled_rules, vec!["generic-password"]);
        assert_eq!(c.allow_paths, vec!["tests/**"]);
        assert_eq!(c.allow_secrets, vec!["^sk_test_"]);
        assert_eq!(c.stopwords, vec!["notreal"]);
        assert_eq!(
            c.exposure_globs,
            vec![("apps/desktop/**".to_string(), "desktop".to_string())]
        );
        assert_eq!(
            c.baseline,
            Some(PathBuf::from("repo/.keyward-baseline.json"))
        );
        assert_eq!(c.max_file_size, Some(10 * 1024 * 1024));
        assert_eq!(c.max_blob_size, Some(1_048_576));
        assert_eq!(c.format, Some(Format::Sarif));
        assert!(c.fail_open);
    }

    #[test]
    fn empty_and_comment_only_files_are_defaults() {
        for text in ["", "# nothing yet\n"] {
            let c = parse_text(text).expect("valid");
            assert_eq!(c.file.as_deref(), Some(Path::new("repo/.keyward.yaml")));
            assert!(c.rule_paths.is_empty() && !c.fail_open);
        }
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let cases = [
            (
                "format: text\nallowlists:\n  paths: []\n",
                "repo/.keyward.yaml:2:1: unknown key `allowlists`",
            ),
            (
                "allowlist:\n  path: ['a']\n",
                "repo/.keyward.yaml:2:3: allowlist: unknown key `path`",
            ),
            (
                "exposure:\n  - glob: a\n    exposure: server\n",
                "repo/.keyward.yaml:3: unknown exposure \"server\"",
            ),
            (
                "allowlist:\n  secrets: ['(']\n",
                "repo/.keyward.yaml:2: bad secret regex",
            ),
            (
                "allowlist:\n  paths: ['a[']\n",
                "repo/.keyward.yaml:2: bad path glob",
            ),
            (
                "format: xml\n",
                "repo/.keyward.yaml:1: unknown format \"xml\"",
            ),
            (
                "max_file_size: 5 parsecs\n",
                "repo/.keyward.yaml:1: max_file_size: unknown size unit",
            ),
        ];
        for (text, want) in cases {
            let e = parse_text(text).expect_err(text).to_string();
            assert!(e.starts_with(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn discovery_prefers_the_repository_root() {
        let dir = tempfile::TempDir::new().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join(".git")).expect("mkdir");
        std::fs::create_dir_all(root.join("web/src")).expect("mkdir");
        assert_eq!(discover(&root.join("web/src")), None);
        std::fs::write(root.join(".keyward.yaml"), "").expect("write");
        let found = discover(&root.join("web/src")).expect("found");
        assert_eq!(
            found.file_name(),
            Some(std::ffi::OsStr::new(".keyward.yaml"))
        );
    }
}
