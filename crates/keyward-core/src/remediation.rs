//! What to do about a finding, composed from the rule, its category and where it was found,
//! following the incident playbook: a leaked client secret means deleting the client
//! credentials and creating new ones; one leaked token means revoking that token; a secret in
//! client code means moving the flow to a backend or to a public client with PKCE.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::exposure::ExposureKind;
use crate::rule::{Category, Rule};

/// The `remediation:` section of a pattern file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationSpec {
    /// For rules without their own remediation, per category.
    #[serde(default)]
    pub by_category: BTreeMap<Category, String>,
    /// Added when the secret is in client code, per category (`default` key: `generic`).
    #[serde(default)]
    pub client_code: BTreeMap<Category, String>,
    /// Added to every finding.
    #[serde(default)]
    pub always: Vec<String>,
}

impl RemediationSpec {
    pub(crate) fn extend(&mut self, other: RemediationSpec) {
        self.by_category.extend(other.by_category);
        self.client_code.extend(other.client_code);
        self.always.extend(other.always);
    }

    /// The remediation text of a finding of `rule` in a file of `exposure`.
    pub fn compose(&self, rule: &Rule, exposure: ExposureKind) -> String {
        let category = rule.spec.category;
        let mut parts: Vec<&str> = Vec::new();
        if let Some(own) = rule
            .spec
            .remediation
            .as_deref()
            .or_else(|| self.by_category.get(&category).map(String::as_str))
        {
            parts.push(own);
        }
        if exposure.is_client()
            && let Some(extra) = self
                .client_code
                .get(&category)
                .or_else(|| self.client_code.get(&Category::Generic))
        {
            parts.push(extra);
        }
        parts.extend(self.always.iter().map(String::as_str));
        let mut text = String::new();
        for p in parts {
            let p = p.trim();
            if p.is_empty() || text.contains(p) {
                continue;
            }
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(p);
        }
        text
    }
}
