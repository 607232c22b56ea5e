//! What a blocked developer reads: the findings (the text report: file:line, rule, the
//! secret redacted, the line, the commit), then what to do about them, how to bypass the
//! hook in an emergency, and how to mark a false positive. Everything from a repository
//! goes through the text report's sanitising; the rest is our own text.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::cli::Format;
use crate::report::{self, Record, Report, Stats, Style};
use crate::sanitize::for_terminal;

/// Which hook is speaking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // git's hook names
pub enum Hook {
    /// `git push`, on the developer's machine.
    PrePush,
    /// `git commit`.
    PreCommit,
    /// `git push`, on the server.
    PreReceive,
}

impl Hook {
    /// The hook's name, as git calls it.
    pub fn name(self) -> &'static str {
        match self {
            Hook::PrePush => "pre-push",
            Hook::PreCommit => "pre-commit",
            Hook::PreReceive => "pre-receive",
        }
    }

    /// What it guards: "push" or "commit".
    pub fn action(self) -> &'static str {
        match self {
            Hook::PrePush | Hook::PreReceive => "push",
            Hook::PreCommit => "commit",
        }
    }
}

/// The whole message for findings: a headline, the report, and what to do.
pub fn blocked(
    hook: Hook,
    findings: &[Record],
    target: Option<&str>,
    show_secrets: bool,
    color: bool,
    has_baseline: bool,
) -> String {
    let n = findings.len();
    let secrets = format!("{n} secret{}", if n == 1 { "" } else { "s" });
    let mut out = String::new();
    let headline = match hook {
        Hook::PrePush => match target {
            Some(t) => format!(
                "keyward: push blocked: {secrets} in the commits being pushed to {}",
                for_terminal(t)
            ),
            None => format!("keyward: push blocked: {secrets} in the commits being pushed"),
        },
        Hook::PreCommit => format!("keyward: commit blocked: {secrets} in the staged changes"),
        Hook::PreReceive => format!("keyward: push rejected: {secrets} in the pushed commits"),
    };
    let _ = writeln!(out, "{headline}\n");
    out.push_str(&findings_text(findings, show_secrets, color));
    out.push('\n');
    out.push_str(&what_to_do(hook, findings));
    out.push_str(&false_positive(has_baseline));
    out.push_str(&bypass(hook));
    out
}

/// The findings as the text report writes them.
fn findings_text(findings: &[Record], show_secrets: bool, color: bool) -> String {
    let stats = Stats::default();
    let report = Report {
        findings,
        ignored: &[],
        notes: &[],
        stats: &stats,
    };
    let style = Style {
        format: Format::Text,
        show_secrets,
        color,
    };
    let mut buf: Vec<u8> = Vec::new();
    if report::write(&mut buf, &report, style).is_err() {
        return String::new();
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// How to take the secret out, and when to rotate it; each rule's remediation once.
fn what_to_do(hook: Hook, findings: &[Record]) -> String {
    let mut out = String::from("What to do:\n");
    match hook {
        Hook::PreCommit => out.push_str(
            "  1. Take the secret out of the file and `git add` it again (or unstage the file\n\
             \x20    with `git restore --staged FILE`); load it at run time from the environment\n\
             \x20    or a secret manager instead.\n",
        ),
        Hook::PrePush | Hook::PreReceive => {
            let newest = findings
                .iter()
                .filter_map(|r| r.git.as_deref()?.commit.as_ref())
                .map(|c| c.id.get(..12).unwrap_or(&c.id).to_string())
                .next()
                .unwrap_or_else(|| "COMMIT".into());
            let _ = write!(
                out,
                "  1. Rewrite the commit that added the secret (named above); a commit that only\n\
                 \x20    deletes it is not enough, the older one would still be pushed:\n\
                 \x20      the last commit:  fix the file, `git add` it, `git commit --amend`\n\
                 \x20      an older commit:  `git rebase -i {newest}^`, mark it `edit`, fix the file,\n\
                 \x20                        `git commit --amend`, `git rebase --continue`\n"
            );
        }
    }
    out.push_str(
        "  2. If the secret was ever pushed or shared anywhere, treat it as leaked: rotate or\n\
         \x20    revoke it at its provider first; rewriting history does not undo a leak.\n",
    );
    let mut remediation: BTreeMap<&str, &str> = BTreeMap::new();
    for r in findings {
        if let Some(text) = r.remediation.as_deref() {
            remediation.entry(r.rule.as_str()).or_insert(text);
        }
    }
    for (rule, text) in remediation {
        let text = for_terminal(text.trim());
        let _ = writeln!(out, "     {rule}: {}", text.replace('\n', "\n       "));
    }
    out
}

/// How to mark a false positive.
fn false_positive(has_baseline: bool) -> String {
    let mut out = String::from(
        "Not a secret? Put a comment `keyward:allow reason=\"…\"` on its line (or\n\
         `keyward:allow-next-line` on the line above) in the commit that adds it",
    );
    if has_baseline {
        out.push_str(", or add it to the baseline with\n`keyward baseline create`.\n");
    } else {
        out.push_str(
            ", or record accepted\nfindings in a baseline (`keyward baseline create`, then \
             `baseline:` in .keyward.yaml).\n",
        );
    }
    out
}

/// The emergency exits, or why there are none.
fn bypass(hook: Hook) -> String {
    match hook {
        Hook::PrePush => "In an emergency, push without this check: `git push --no-verify`, or \
                          `KEYWARD_SKIP=1 git push`.\n"
            .into(),
        Hook::PreCommit => "In an emergency, commit without this check: `git commit --no-verify`, \
                            or `KEYWARD_SKIP=1 git commit`.\n"
            .into(),
        Hook::PreReceive => "This check runs on the server: `--no-verify` does not skip it. For a \
                             false positive, mark it as above and push again, or ask the \
                             repository's administrators.\n"
            .into(),
    }
}

/// What to do when keyward itself failed and blocked the push or commit.
pub fn failure_help(hook: Hook) -> String {
    let mut out = format!(
        "keyward: the {} was blocked because it could not be checked (the hook fails closed).\n",
        hook.action()
    );
    match hook {
        Hook::PrePush => out.push_str(
            "keyward: to push anyway: `git push --no-verify` or `KEYWARD_SKIP=1 git push`; to let\n\
             keyward: such failures through with a warning: `fail_open: true` in .keyward.yaml.\n",
        ),
        Hook::PreCommit => out.push_str(
            "keyward: to commit anyway: `git commit --no-verify` or `KEYWARD_SKIP=1 git commit`; to\n\
             keyward: let such failures through with a warning: `fail_open: true` in .keyward.yaml.\n",
        ),
        Hook::PreReceive => out.push_str(
            "keyward: ask the repository's administrators; the hook may be run with --fail-open.\n",
        ),
    }
    out
}
