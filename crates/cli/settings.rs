//! One run's settings: the config file merged with the command line, once, before anything
//! is scanned. A value given on the command line wins over the config; the config wins over
//! clap's defaults.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::ArgMatches;
use clap::parser::ValueSource;
use keyward_core::RuleSet;

use crate::baseline::Baseline;
use crate::cli::{OutputArgs, PolicyArgs, RuleArgs};
use crate::config::{self, Config};
use crate::policy::Policy;

/// Which of the options that a config can also set were given on the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Explicit {
    /// `--format`.
    pub format: bool,
    /// `--max-file-size` or `--max-blob-size`.
    pub size: bool,
}

impl Explicit {
    /// Reads the subcommand's matches.
    pub fn from_matches(matches: &ArgMatches) -> Explicit {
        let Some((_, sub)) = matches.subcommand() else {
            return Explicit::default();
        };
        let given = |id: &str| {
            sub.try_get_raw(id).is_ok_and(|v| v.is_some())
                && matches!(
                    sub.value_source(id),
                    Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                )
        };
        Explicit {
            format: given("format"),
            size: given("max_file_size") || given("max_blob_size"),
        }
    }
}

/// The config and the policy of one run.
#[derive(Debug)]
pub struct Settings {
    /// The config file's settings (defaults when there is none).
    pub config: Config,
    /// What is reported.
    pub policy: Policy,
}

/// The config for a run over `start`: `--config`, else the discovered file, else defaults.
pub fn config_for(explicit: Option<&Path>, no_config: bool, start: &Path) -> Result<Config> {
    if no_config {
        return Ok(Config::default());
    }
    match explicit {
        Some(path) => config::load(path),
        None => match config::discover(start) {
            Some(path) => config::load(&path),
            None => Ok(Config::default()),
        },
    }
}

/// The baseline named by `--baseline` (must exist) or by the config (a warning when it
/// does not exist yet).
fn baseline(args: &PolicyArgs, config: &Config, quiet: bool) -> Result<Option<Baseline>> {
    if let Some(path) = &args.baseline {
        return Baseline::load(path).map(Some);
    }
    let Some(path) = &config.baseline else {
        return Ok(None);
    };
    if !path.exists() {
        if !quiet {
            eprintln!(
                "keyward: warning: baseline {} (named in {}) does not exist; \
                 `keyward baseline create` writes it",
                path.display(),
                config
                    .file
                    .as_deref()
                    .unwrap_or(Path::new("config"))
                    .display()
            );
        }
        return Ok(None);
    }
    Baseline::load(path).map(Some)
}

impl Settings {
    /// Resolves the settings of a `scan` or `history` run over `start`, and lets the config
    /// fill in what the command line left at its default.
    pub fn resolve(o: &mut OutputArgs, start: &Path, explicit: Explicit) -> Result<Settings> {
        let args = &o.policy;
        let config = config_for(args.config.as_deref(), args.no_config, start)?;
        if !explicit.format
            && let Some(f) = config.format
        {
            o.format = f;
        }
        let args = &o.policy;
        let mut policy = Policy::new(
            &config,
            baseline(args, &config, o.quiet)?,
            args.min_severity.map(Into::into),
            args.min_confidence.map(Into::into),
        )?;
        policy.report_ignored = args.report_ignored;
        policy.exit_code = args.exit_code;
        Ok(Settings { config, policy })
    }

    /// A size limit: the config's (`config`) unless one was given on the command line.
    pub fn size_limit(cli: u64, explicit: Explicit, config: Option<u64>) -> u64 {
        match config {
            Some(n) if !explicit.size => n,
            _ => cli,
        }
    }

    /// The rules: built-ins (unless `--no-builtin`), the config's rule folders, `--rules`,
    /// minus the rules the config disables.
    pub fn load_rules(&self, args: &RuleArgs) -> Result<RuleSet> {
        load_rules(&self.config, args)
    }
}

/// The rules of `config` and `args` (see [`Settings::load_rules`]).
pub fn load_rules(config: &Config, args: &RuleArgs) -> Result<RuleSet> {
    let mut all = args.clone();
    let mut paths: Vec<PathBuf> = config.rule_paths.clone();
    paths.append(&mut all.rules);
    all.rules = paths;
    let mut set = crate::load_rules(&all)?;
    if !config.exposure_globs.is_empty() {
        let globs = config
            .exposure_globs
            .iter()
            .map(|(glob, kind)| {
                let kind: keyward_core::ExposureKind = serde_json::from_value(
                    serde_json::Value::String(kind.clone()),
                )
                .map_err(|_| {
                    anyhow::anyhow!("exposure {kind:?} for {glob:?} is not one keyward knows")
                })?;
                Ok((glob.clone(), kind))
            })
            .collect::<Result<Vec<_>>>()?;
        set.prepend_exposure_globs(&globs)
            .map_err(|e| anyhow::anyhow!("exposure globs: {e}"))?;
    }
    if !config.disabled_rules.is_empty() {
        let unknown = set.disable(&config.disabled_rules);
        if !unknown.is_empty() {
            // A warning, not an error: a rule renamed by a newer keyward must not break
            // every build, and a rule that stays on errs on the safe side.
            eprintln!(
                "keyward: warning: {}: rules.disable names rules that do not exist: {}",
                config
                    .file
                    .as_deref()
                    .unwrap_or(Path::new("config"))
                    .display(),
                unknown.join(", ")
            );
        }
    }
    Ok(set)
}
