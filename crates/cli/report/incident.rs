//! The incident summary at the end of the text report: which credentials to rotate and which
//! tokens to revoke, grouped by provider, following the playbook — a leaked client secret means
//! new client credentials (which revokes every token of that client id), one leaked token means
//! revoking that token, and a secret in client code means moving the flow out of the client.

use std::collections::BTreeMap;
use std::io::{self, Write};

use keyward_core::Category;

use super::Record;
use crate::sanitize::for_terminal;

/// What to do with one kind of credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    /// Delete the client credentials and create new ones.
    RotateClient,
    /// Revoke the token.
    Revoke,
    /// Rotate the key or password.
    Rotate,
}

impl Action {
    fn of(category: &str) -> Option<Action> {
        let c: Category =
            serde_json::from_value(serde_json::Value::String(category.to_string())).ok()?;
        Some(match c {
            Category::ClientSecret => Action::RotateClient,
            Category::AccessToken | Category::RefreshToken | Category::Jwt => Action::Revoke,
            Category::OauthHygiene => return None,
            _ => Action::Rotate,
        })
    }

    fn heading(self) -> &'static str {
        match self {
            Action::RotateClient => {
                "Delete these client credentials at the provider and create new ones (that revokes every token issued to the client id):"
            }
            Action::Revoke => {
                "Revoke these tokens at the provider (`keyward revoke --list-providers` shows the RFC 7009 endpoints it knows):"
            }
            Action::Rotate => "Rotate these keys and passwords:",
        }
    }
}

/// Writes the summary; nothing when there is nothing to do.
pub fn write(out: &mut dyn Write, findings: &[Record]) -> io::Result<()> {
    let mut plan: BTreeMap<Action, BTreeMap<String, Vec<&Record>>> = BTreeMap::new();
    for r in findings {
        if let Some(action) = Action::of(r.category) {
            plan.entry(action)
                .or_default()
                .entry(r.provider.clone())
                .or_default()
                .push(r);
        }
    }
    if plan.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nIncident summary")?;
    for (action, providers) in &plan {
        writeln!(out, "  {}", action.heading())?;
        for (provider, records) in providers {
            let mut paths: Vec<&str> = records.iter().map(|r| r.path.as_str()).collect();
            paths.sort_unstable();
            paths.dedup();
            let shown: Vec<String> = paths.iter().take(3).map(|p| for_terminal(p)).collect();
            let more = if paths.len() > 3 {
                format!(" and {} more", paths.len() - 3)
            } else {
                String::new()
            };
            let line = format!(
                "    {}: {} finding{} in {}{more}",
                for_terminal(provider),
                records.len(),
                if records.len() == 1 { "" } else { "s" },
                shown.join(", ")
            );
            writeln!(out, "{line}")?;
        }
    }
    let shipped = findings
        .iter()
        .filter(|r| r.exposure.is_client() && Action::of(r.category).is_some())
        .count();
    if shipped > 0 {
        writeln!(
            out,
            "  {shipped} of them {} to users (web frontend, mobile or desktop app): anyone who downloads the app can read {}. Move the OAuth flow to a backend, or make the app a public client that uses PKCE and holds no secret.",
            if shipped == 1 { "ships" } else { "ship" },
            if shipped == 1 { "it" } else { "them" },
        )?;
    }
    writeln!(
        out,
        "  Rotate even what you delete from the code (history keeps it), rotate client credentials regularly, and request only the scopes you need."
    )
}
