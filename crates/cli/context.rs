//! What a finding means where it was found: the file's exposure (does it ship to users?), the
//! severity that follows, what a JWT's claims say, and what to do about it.
//!
//! Runs after matching, on records only, so its cost is per finding, not per byte.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use keyward_core::{JwtKind, Matcher, ProjectView, Severity, decode_jwt};

use crate::report::Record;

/// Manifests larger than this are not read to recognise a project.
const MAX_MANIFEST: u64 = 512 << 10;

/// The scanned directory tree, read lazily and cached: directory listings and small manifest
/// files, for the exposure classifier.
#[derive(Debug)]
pub struct DiskView {
    root: PathBuf,
    listings: Mutex<HashMap<String, Option<Vec<String>>>>,
}

impl DiskView {
    /// A view of the tree under `root` (paths given to it are relative to `root`).
    pub fn new(root: &Path) -> DiskView {
        DiskView {
            root: root.to_path_buf(),
            listings: Mutex::new(HashMap::new()),
        }
    }

    fn full(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }
}

impl ProjectView for DiskView {
    fn list(&self, dir: &str) -> Option<Vec<String>> {
        if let Some(hit) = self.listings.lock().ok().and_then(|c| c.get(dir).cloned()) {
            return hit;
        }
        let listing = std::fs::read_dir(self.full(dir)).ok().map(|entries| {
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        });
        if let Ok(mut c) = self.listings.lock() {
            c.insert(dir.to_string(), listing.clone());
        }
        listing
    }

    fn read(&self, path: &str) -> Option<Vec<u8>> {
        let full = self.full(path);
        let meta = std::fs::metadata(&full).ok()?;
        (meta.is_file() && meta.len() <= MAX_MANIFEST)
            .then(|| std::fs::read(&full).ok())
            .flatten()
    }
}

/// Sets the record's exposure, severity (and why), JWT facts and remediation. Returns false
/// when the record's rule does not report in this exposure (`only_in`), so it is dropped.
pub fn apply(matcher: &Matcher, record: &mut Record, view: &dyn ProjectView) -> bool {
    let Some(rule) = matcher.rules().iter().find(|r| r.spec.id == record.rule) else {
        return true;
    };
    let set = matcher.rule_set();
    let line = record.line_text.as_deref().unwrap_or_default();
    let exposure = set.exposure().classify(&record.path, line, view);
    if !rule.spec.only_in.is_empty() && !rule.spec.only_in.contains(&exposure.kind) {
        return false;
    }
    let (mut severity, why) =
        set.exposure()
            .severity(rule.severity(), rule.spec.category, exposure.kind);
    let mut reasons: Vec<String> = Vec::new();
    if let Some(why) = why {
        reasons.push(why.to_string());
    }
    if exposure.kind.is_client()
        && let Some(note) = &rule.spec.client_note
    {
        reasons.push(note.clone());
    }
    if record.secret.expose().starts_with("eyJ")
        && let Some(info) = decode_jwt(record.secret.expose(), now())
    {
        if info.kind == JwtKind::PublicKey {
            severity = Severity::Info;
            reasons.push(
                "the token's claims say it is a public key (role anon), meant to be embedded"
                    .into(),
            );
        } else if info.expired {
            severity = severity.lowered();
            reasons.push("the token has expired".into());
        }
        reasons.extend(info.warnings.iter().map(|w| format!("JWT: {w}")));
        record.jwt = Some(Box::new(info));
    }
    record.severity = severity;
    record.exposure = exposure.kind;
    record.exposure_reason = exposure.reason.to_string();
    record.severity_reason = (!reasons.is_empty()).then(|| reasons.join("; "));
    record.remediation = Some(set.remediation(rule, exposure.kind)).filter(|r| !r.is_empty());
    true
}

/// Applies [`apply`] to every record, dropping those whose rule does not report there.
pub fn apply_all(matcher: &Matcher, records: &mut Vec<Record>, view: &dyn ProjectView) {
    records.retain_mut(|r| apply(matcher, r, view));
}

/// Seconds since the epoch, for JWT expiry.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
