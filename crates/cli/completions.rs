//! `keyward completions SHELL` and `keyward man`: generated from the clap definitions, so
//! they never disagree with `--help`.

use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;

use crate::Outcome;
use crate::cli::Cli;

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Result<Outcome> {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut cmd, "keyward", &mut out);
    out.flush()?;
    Ok(Outcome::Clean)
}

/// Prints the man page, keyward(1), in roff.
pub fn man() -> Result<Outcome> {
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    out.flush()?;
    Ok(Outcome::Clean)
}
