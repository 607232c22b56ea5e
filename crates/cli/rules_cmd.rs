//! `keyward rules list` and `keyward rules check`.

use std::io::Write;

use anyhow::Result;
use keyward_core::{RuleSet, Source};

use crate::Outcome;
use crate::cli::RulesCommand;

/// Runs a `rules` subcommand.
pub fn run(cmd: RulesCommand) -> Result<Outcome> {
    match cmd {
        RulesCommand::List { rules, json } => {
            let set = crate::load_rules(&rules)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            if json {
                let list: Vec<serde_json::Value> = set
                    .rules()
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "id": r.spec.id, "name": r.spec.name, "provider": r.provider(),
                            "category": r.spec.category.as_str(), "confidence": r.confidence().as_str(),
                            "severity": r.severity().as_str(), "keywords": r.spec.keywords,
                            "origin": r.origin.to_string(),
                        })
                    })
                    .collect();
                serde_json::to_writer_pretty(&mut out, &list)?;
                writeln!(out)?;
            } else {
                for r in set.rules() {
                    writeln!(
                        out,
                        "{:<44} {:<18} {:<17} {:<6} {}",
                        r.spec.id,
                        r.provider(),
                        r.spec.category.as_str(),
                        r.confidence().as_str(),
                        r.spec.name
                    )?;
                }
            }
            out.flush()?;
            eprintln!("{} rules", set.rules().len());
            Ok(Outcome::Clean)
        }
        RulesCommand::Check { paths } => {
            let (base, sources): (RuleSet, Vec<Source>) = if paths.is_empty() {
                (RuleSet::builtin(), RuleSet::builtin_sources())
            } else {
                let mut sources = Vec::new();
                for p in &paths {
                    sources.extend(RuleSet::read_sources(p)?);
                }
                (RuleSet::builtin(), sources)
            };
            let summary = keyward_core::check(base, &sources);
            for p in &summary.problems {
                eprintln!("{}", crate::sanitize::for_terminal(&p.to_string()));
            }
            eprintln!(
                "{} rules, {} examples checked, {} problem{}",
                summary.rules,
                summary.examples,
                summary.problems.len(),
                if summary.problems.len() == 1 { "" } else { "s" }
            );
            Ok(if summary.problems.is_empty() {
                Outcome::Clean
            } else {
                Outcome::Error
            })
        }
    }
}
