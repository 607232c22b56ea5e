//! `keyward install` and `keyward uninstall`: the hook shims in the repository's hooks
//! directory, as git finds it (`git rev-parse --git-path hooks`: `core.hooksPath` when set,
//! the common directory's `hooks/` for a linked worktree).
//!
//! An existing hook that keyward did not write is never overwritten silently: by default it
//! is kept beside ours as `<hook>.keyward-chained` and runs first (its failure stops the
//! push as before); `--force` keeps it as `<hook>.keyward-backup` and no longer runs it. A
//! hook that cannot be chained (a symbolic link, a hook that is not executable, a leftover
//! chained hook) is refused with what to do. `keyward uninstall` removes only files that
//! carry keyward's marker line, and puts a chained hook back in place.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::Outcome;

/// The line that marks a hook file as keyward's.
const MARKER: &str = "# keyward-hook: ";
/// Where a chained hook waits.
const CHAINED: &str = ".keyward-chained";
/// Where a replaced hook is kept.
const BACKUP: &str = ".keyward-backup";

/// The shims, with `@KEYWARD@` where the binary's path goes; `hooks/pre-push` and
/// `hooks/pre-commit` in the repository are these with `keyward` (found on the PATH).
pub const PRE_PUSH: &str = include_str!("../../hooks/pre-push");
/// See [`PRE_PUSH`].
pub const PRE_COMMIT: &str = include_str!("../../hooks/pre-commit");

/// `keyward install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Install the pre-push hook (the default when no hook is named).
    #[arg(long)]
    pub pre_push: bool,
    /// Install the pre-commit hook.
    #[arg(long)]
    pub pre_commit: bool,
    /// Replace a hook that keyward did not install instead of chaining to it (it is kept
    /// as <hook>.keyward-backup and no longer runs).
    #[arg(long)]
    pub force: bool,
    /// The repository (default: the one holding the current directory).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub repo: PathBuf,
}

/// `keyward uninstall`.
#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// Only the pre-push hook.
    #[arg(long)]
    pub pre_push: bool,
    /// Only the pre-commit hook.
    #[arg(long)]
    pub pre_commit: bool,
    /// The repository (default: the one holding the current directory).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub repo: PathBuf,
}

/// The hooks named by the flags; `default` when none is.
fn chosen(pre_push: bool, pre_commit: bool, default: &[&'static str]) -> Vec<&'static str> {
    let mut out = Vec::new();
    if pre_push {
        out.push("pre-push");
    }
    if pre_commit {
        out.push("pre-commit");
    }
    if out.is_empty() {
        out.extend_from_slice(default);
    }
    out
}

/// The hooks directory git uses for `repo`.
fn hooks_dir(repo: &Path) -> Result<PathBuf> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", "--git-path", "hooks"])
        .output()
        .context("running git (is it installed?)")?;
    if !out.status.success() {
        bail!(
            "{}: not a git repository ({})",
            repo.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8(out.stdout).context("git printed a path that is not UTF-8")?;
    let dir = PathBuf::from(text.trim_end_matches(['\n', '\r']));
    Ok(if dir.is_absolute() {
        dir
    } else {
        repo.join(dir)
    })
}

/// The shim for `hook`, calling the binary at `keyward`.
fn shim(hook: &str, keyward: &Path) -> Result<String> {
    let template = match hook {
        "pre-push" => PRE_PUSH,
        _ => PRE_COMMIT,
    };
    let path = keyward
        .to_str()
        .context("keyward's own path is not UTF-8: copy hooks/ by hand")?;
    let quoted = format!("'{}'", path.replace('\'', r"'\''"));
    Ok(template.replace("'keyward'", &quoted))
}

fn is_ours(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t.lines().any(|l| l.starts_with(MARKER)))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    true
}

fn write_executable(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot make {} executable", path.display()))?;
    }
    Ok(())
}

/// Runs `keyward install`.
pub fn install(args: InstallArgs) -> Result<Outcome> {
    let dir = hooks_dir(&args.repo)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let keyward = std::env::current_exe().context("cannot find keyward's own path")?;
    for hook in chosen(args.pre_push, args.pre_commit, &["pre-push"]) {
        install_one(&dir, hook, &keyward, args.force)?;
    }
    Ok(Outcome::Clean)
}

fn install_one(dir: &Path, hook: &str, keyward: &Path, force: bool) -> Result<()> {
    let path = dir.join(hook);
    let text = shim(hook, keyward)?;
    let shown = path.display();
    let meta = std::fs::symlink_metadata(&path).ok();
    let Some(meta) = meta else {
        write_executable(&path, &text)?;
        eprintln!("keyward: installed the {hook} hook: {shown}");
        return Ok(());
    };
    if meta.is_file() && is_ours(&path) {
        write_executable(&path, &text)?;
        eprintln!("keyward: updated the {hook} hook: {shown}");
        return Ok(());
    }
    if force {
        let backup = with_suffix(&path, BACKUP);
        if backup.exists() {
            bail!(
                "{} already exists: move it away first, so that the hook at {shown} can be kept there",
                backup.display()
            );
        }
        std::fs::rename(&path, &backup)
            .with_context(|| format!("cannot move {shown} to {}", backup.display()))?;
        write_executable(&path, &text)?;
        eprintln!(
            "keyward: installed the {hook} hook: {shown}; the hook that was there is kept as {} \
             and no longer runs",
            backup.display()
        );
        return Ok(());
    }
    let chained = with_suffix(&path, CHAINED);
    let refuse = |why: &str| -> Result<()> {
        bail!(
            "{shown} already exists and was not installed by keyward: {why}.\n\
             To replace it (it is kept as {hook}{BACKUP}): keyward install --{hook} --force\n\
             To run both yourself: add this line at the end of it: keyward hook {hook}{}",
            if hook == "pre-push" { " \"$@\"" } else { "" }
        )
    };
    if !meta.is_file() {
        return refuse("it is a symbolic link or not a regular file, so it cannot be chained");
    }
    if !is_executable(&meta) {
        return refuse("it is not executable (git does not run it), so it is not chained");
    }
    if chained.exists() {
        return refuse(&format!("{} is in the way", chained.display()));
    }
    std::fs::rename(&path, &chained)
        .with_context(|| format!("cannot move {shown} to {}", chained.display()))?;
    write_executable(&path, &text)?;
    eprintln!(
        "keyward: installed the {hook} hook: {shown}; the hook that was there is kept as {} \
         and runs first",
        chained.display()
    );
    Ok(())
}

/// Runs `keyward uninstall`.
pub fn uninstall(args: UninstallArgs) -> Result<Outcome> {
    let dir = hooks_dir(&args.repo)?;
    for hook in chosen(args.pre_push, args.pre_commit, &["pre-push", "pre-commit"]) {
        let path = dir.join(hook);
        let shown = path.display();
        if !path.exists() {
            continue;
        }
        if !is_ours(&path) {
            eprintln!("keyward: left {shown} alone: keyward did not install it");
            continue;
        }
        std::fs::remove_file(&path).with_context(|| format!("cannot remove {shown}"))?;
        let chained = with_suffix(&path, CHAINED);
        if chained.exists() && !path.exists() {
            std::fs::rename(&chained, &path)
                .with_context(|| format!("cannot move {} back to {shown}", chained.display()))?;
            eprintln!(
                "keyward: removed the {hook} hook; the hook it chained to is back at {shown}"
            );
        } else {
            eprintln!("keyward: removed the {hook} hook: {shown}");
        }
    }
    Ok(Outcome::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shims_carry_the_marker_and_a_quoted_path() {
        for (hook, template) in [("pre-push", PRE_PUSH), ("pre-commit", PRE_COMMIT)] {
            assert!(template.contains(&format!("{MARKER}{hook}")), "{hook}");
            assert!(
                template.contains("'keyward'"),
                "{hook}: the path placeholder"
            );
            let text = shim(hook, Path::new("/opt/it's here/keyward")).expect("utf-8");
            assert!(text.contains(r"'/opt/it'\''s here/keyward'"), "{text}");
            assert!(text.contains(&format!("hook {hook}")), "{text}");
        }
    }
}
