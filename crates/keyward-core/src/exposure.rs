//! Exposure: does a file ship to the people who use the app?
//!
//! A secret in a web frontend, a mobile app or a desktop app is readable by whoever downloads
//! it; the same secret in a backend is not. The classification is data (`patterns/exposure.yaml`)
//! and runs where the path is known, after matching, only for paths with findings:
//!
//! 1. `paths`: globs that decide alone (test and docs folders, CI and build files, Android
//!    resources, Swift sources, `public/`, built bundles…), first match wins;
//! 2. env files: the variable on the finding's line decides (`VITE_`, `NEXT_PUBLIC_`… are
//!    inlined into bundles; anything else is read by a server or a build);
//! 3. `projects`: the nearest ancestor directory whose markers say what it is (a `package.json`
//!    that depends on react or electron, an `.xcodeproj`, an `AndroidManifest.xml`…);
//! 4. `fallback`: globs for whatever is left (server-side languages, infrastructure).
//!
//! The project lookup reads directory listings and small manifest files through a
//! [`ProjectView`], so the same classifier serves files on disk and trees in git.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::glob::GlobList;
use crate::rule::{Category, Severity};

/// Where a file ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExposureKind {
    /// Served to browsers.
    WebFrontend,
    /// Shipped in a mobile app.
    Mobile,
    /// Shipped in a desktop app or browser extension.
    Desktop,
    /// Runs on servers, or in builds and CI.
    Backend,
    /// Test code.
    Test,
    /// Documentation.
    Docs,
    /// Nothing says.
    Unknown,
}

impl ExposureKind {
    /// The name used in YAML and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ExposureKind::WebFrontend => "web-frontend",
            ExposureKind::Mobile => "mobile",
            ExposureKind::Desktop => "desktop",
            ExposureKind::Backend => "backend",
            ExposureKind::Test => "test",
            ExposureKind::Docs => "docs",
            ExposureKind::Unknown => "unknown",
        }
    }

    /// Does code of this kind ship to users (unconfidential clients)?
    pub fn is_client(self) -> bool {
        matches!(
            self,
            ExposureKind::WebFrontend | ExposureKind::Mobile | ExposureKind::Desktop
        )
    }
}

impl fmt::Display for ExposureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A file's exposure and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    /// Where it ends up.
    pub kind: ExposureKind,
    /// One sentence saying why.
    pub reason: Arc<str>,
}

impl Exposure {
    /// Unknown exposure.
    pub fn unknown() -> Exposure {
        Exposure {
            kind: ExposureKind::Unknown,
            reason: Arc::from("no path or project signal"),
        }
    }
}

/// The `exposure:` section of a pattern file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExposureSpec {
    /// Globs that decide alone, first match wins.
    #[serde(default)]
    pub paths: Vec<PathClass>,
    /// Globs of env files, whose variables are classified one by one.
    #[serde(default)]
    pub env_files: Vec<String>,
    /// Variable prefixes that bundlers inline into client code.
    #[serde(default)]
    pub env_prefixes: Vec<EnvPrefix>,
    /// What an env variable without such a prefix is.
    #[serde(default)]
    pub env_default: Option<PathClass>,
    /// Project kinds, recognised by markers in an ancestor directory; first match wins.
    #[serde(default)]
    pub projects: Vec<ProjectClass>,
    /// Globs for files in no recognised project.
    #[serde(default)]
    pub fallback: Vec<PathClass>,
    /// Categories that are critical in client code.
    #[serde(default)]
    pub critical_categories: Vec<Category>,
    /// Exposures where severity is lowered one step (test, docs).
    #[serde(default)]
    pub lowered_in: Vec<ExposureKind>,
    /// Why a finding in client code is critical, per category (`default` for the rest).
    #[serde(default)]
    pub client_messages: BTreeMap<String, String>,
}

impl ExposureSpec {
    /// Appends another file's section: lists are joined, messages overridden.
    pub(crate) fn extend(&mut self, other: ExposureSpec) {
        self.paths.extend(other.paths);
        self.env_files.extend(other.env_files);
        self.env_prefixes.extend(other.env_prefixes);
        if other.env_default.is_some() {
            self.env_default = other.env_default;
        }
        self.projects.extend(other.projects);
        self.fallback.extend(other.fallback);
        self.critical_categories.extend(other.critical_categories);
        self.lowered_in.extend(other.lowered_in);
        self.client_messages.extend(other.client_messages);
    }

    /// Puts user globs first: `(glob, exposure)` pairs from a configuration file.
    pub fn prepend_globs(&mut self, globs: &[(String, ExposureKind)]) {
        let classes: Vec<PathClass> = globs
            .iter()
            .map(|(g, kind)| PathClass {
                exposure: *kind,
                reason: format!("configured: {g} is {kind}"),
                globs: vec![g.clone()],
            })
            .collect();
        self.paths.splice(0..0, classes);
    }
}

/// A class of paths.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathClass {
    /// The exposure.
    pub exposure: ExposureKind,
    /// Why, in one sentence.
    pub reason: String,
    /// Globs (`**/` matches any directory prefix).
    #[serde(default)]
    pub globs: Vec<String>,
}

/// A variable prefix inlined into client bundles.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvPrefix {
    /// The prefix, e.g. `VITE_`.
    pub prefix: String,
    /// The exposure of variables with it.
    pub exposure: ExposureKind,
    /// Why.
    pub reason: String,
}

/// A kind of project.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectClass {
    /// The exposure of its files.
    pub exposure: ExposureKind,
    /// Why, in one sentence.
    pub reason: String,
    /// Any one of these, relative to a directory, makes it such a project.
    pub markers: Vec<Marker>,
}

/// A file that marks a project directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Marker {
    /// Path relative to the project directory; `*` is allowed in the last component.
    pub file: String,
    /// The file must contain one of these strings.
    #[serde(default)]
    pub contains_any: Vec<String>,
    /// The file is a `package.json` that must depend on one of these packages.
    #[serde(default)]
    pub dependency_any: Vec<String>,
}

/// Read access to the scanned project: files on disk, or a tree in git.
pub trait ProjectView {
    /// The names of the entries (files and directories) of `dir` (`""` is the root), or
    /// `None` when it is not a directory.
    fn list(&self, dir: &str) -> Option<Vec<String>>;
    /// The content of a small file (a manifest), or `None`.
    fn read(&self, path: &str) -> Option<Vec<u8>>;
}

/// A view with nothing in it: only path globs and env variables decide.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProject;

impl ProjectView for NoProject {
    fn list(&self, _dir: &str) -> Option<Vec<String>> {
        None
    }
    fn read(&self, _path: &str) -> Option<Vec<u8>> {
        None
    }
}

/// How many files a wildcard marker may read before giving up.
const MARKER_READS: usize = 3;

/// The compiled classifier.
#[derive(Debug, Default)]
pub struct ExposureModel {
    paths: Vec<(GlobList, Exposure)>,
    env_files: GlobList,
    env_prefixes: Vec<(String, Exposure)>,
    env_default: Option<Exposure>,
    projects: Vec<(Vec<Marker>, Exposure)>,
    fallback: Vec<(GlobList, Exposure)>,
    critical: Vec<Category>,
    lowered_in: Vec<ExposureKind>,
    messages: BTreeMap<String, String>,
    /// Per directory: the index of the project class it is, or `None`.
    cache: Mutex<HashMap<String, Option<usize>>>,
}

fn globset(globs: &[String]) -> Result<GlobList, String> {
    GlobList::new(globs)
}

fn exposure(kind: ExposureKind, reason: &str) -> Exposure {
    Exposure {
        kind,
        reason: Arc::from(reason),
    }
}

impl ExposureModel {
    /// Compiles a specification; a bad glob is named in the error.
    pub fn new(spec: &ExposureSpec) -> Result<ExposureModel, String> {
        let classes = |list: &[PathClass]| -> Result<Vec<(GlobList, Exposure)>, String> {
            list.iter()
                .map(|c| Ok((globset(&c.globs)?, exposure(c.exposure, &c.reason))))
                .collect()
        };
        Ok(ExposureModel {
            paths: classes(&spec.paths)?,
            env_files: globset(&spec.env_files)?,
            env_prefixes: spec
                .env_prefixes
                .iter()
                .map(|p| {
                    (
                        p.prefix.to_ascii_uppercase(),
                        exposure(p.exposure, &p.reason),
                    )
                })
                .collect(),
            env_default: spec
                .env_default
                .as_ref()
                .map(|c| exposure(c.exposure, &c.reason)),
            projects: spec
                .projects
                .iter()
                .map(|p| (p.markers.clone(), exposure(p.exposure, &p.reason)))
                .collect(),
            fallback: classes(&spec.fallback)?,
            critical: spec.critical_categories.clone(),
            lowered_in: spec.lowered_in.clone(),
            messages: spec.client_messages.clone(),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The severity of a finding of `category` (whose rule says `base`) in a file of this
    /// exposure, and, when the exposure raised it, the sentence that says why.
    pub fn severity(
        &self,
        base: Severity,
        category: Category,
        exposure: ExposureKind,
    ) -> (Severity, Option<&str>) {
        if exposure.is_client() && self.critical.contains(&category) {
            let message = self
                .messages
                .get(category.as_str())
                .or_else(|| self.messages.get("default"))
                .map(String::as_str);
            return (Severity::Critical, message);
        }
        if self.lowered_in.contains(&exposure) {
            return (base.lowered(), None);
        }
        (base, None)
    }

    /// Classifies `path` ('/'-separated, relative to the scanned root); `line` is the text of
    /// the finding's line, used for env files.
    pub fn classify(&self, path: &str, line: &[u8], view: &dyn ProjectView) -> Exposure {
        if let Some((_, e)) = self.paths.iter().find(|(g, _)| g.is_match(path)) {
            return e.clone();
        }
        if !self.env_files.is_empty()
            && self.env_files.is_match(path)
            && let Some(e) = self.env_variable(line)
        {
            return e;
        }
        if let Some(e) = self.project_of(path, view) {
            return e;
        }
        if let Some((_, e)) = self.fallback.iter().find(|(g, _)| g.is_match(path)) {
            return e.clone();
        }
        Exposure::unknown()
    }

    /// The exposure of the variable assigned on an env-file line.
    fn env_variable(&self, line: &[u8]) -> Option<Exposure> {
        let text = String::from_utf8_lossy(line);
        let t = text.trim_start();
        let t = t.strip_prefix("export ").unwrap_or(t).trim_start();
        let name_end = t.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
        if !t[name_end..].trim_start().starts_with('=')
            && !t[name_end..].trim_start().starts_with(':')
        {
            return None;
        }
        let name = t[..name_end].to_ascii_uppercase();
        self.env_prefixes
            .iter()
            .find(|(p, _)| name.starts_with(p.as_str()))
            .map(|(_, e)| e.clone())
            .or_else(|| self.env_default.clone())
    }

    /// The nearest ancestor directory that is a recognised project.
    fn project_of(&self, path: &str, view: &dyn ProjectView) -> Option<Exposure> {
        let mut dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        loop {
            if let Some(i) = self.project_at(dir, view) {
                return Some(self.projects[i].1.clone());
            }
            if dir.is_empty() {
                return None;
            }
            dir = dir.rsplit_once('/').map_or("", |(d, _)| d);
        }
    }

    fn project_at(&self, dir: &str, view: &dyn ProjectView) -> Option<usize> {
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(dir).copied()) {
            return hit;
        }
        let found = self
            .projects
            .iter()
            .position(|(markers, _)| markers.iter().any(|m| marker_matches(dir, m, view)));
        if let Ok(mut c) = self.cache.lock() {
            c.insert(dir.to_string(), found);
        }
        found
    }
}

fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

fn marker_matches(dir: &str, m: &Marker, view: &dyn ProjectView) -> bool {
    let (sub, name) = m.file.rsplit_once('/').unwrap_or(("", m.file.as_str()));
    let parent = if sub.is_empty() {
        dir.to_string()
    } else {
        join(dir, sub)
    };
    let Some(entries) = view.list(&parent) else {
        return false;
    };
    let mut matching = entries.iter().filter(|e| wildcard(name, e)).peekable();
    if m.contains_any.is_empty() && m.dependency_any.is_empty() {
        return matching.peek().is_some();
    }
    for entry in matching.take(MARKER_READS) {
        let Some(bytes) = view.read(&join(&parent, entry)) else {
            continue;
        };
        if !m.contains_any.is_empty() {
            let text = String::from_utf8_lossy(&bytes);
            if m.contains_any.iter().any(|s| text.contains(s.as_str())) {
                return true;
            }
        }
        if !m.dependency_any.is_empty() && depends_on(&bytes, &m.dependency_any) {
            return true;
        }
    }
    false
}

/// Does this `package.json` list one of `packages` among its dependencies?
fn depends_on(package_json: &[u8], packages: &[String]) -> bool {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(package_json) else {
        return false;
    };
    [
        "dependencies",
        "devDependencies",
        "peerDependencies",
        "optionalDependencies",
    ]
    .iter()
    .any(|k| {
        v.get(k)
            .and_then(|d| d.as_object())
            .is_some_and(|d| packages.iter().any(|p| d.contains_key(p.as_str())))
    })
}

/// `*` matches any run of characters; everything else literally.
fn wildcard(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An in-memory tree: path → content ("" for directories).
    struct Tree(Vec<(&'static str, &'static str)>);

    impl ProjectView for Tree {
        fn list(&self, dir: &str) -> Option<Vec<String>> {
            let prefix = if dir.is_empty() {
                String::new()
            } else {
                format!("{dir}/")
            };
            let mut names: Vec<String> = self
                .0
                .iter()
                .filter_map(|(p, _)| p.strip_prefix(prefix.as_str()))
                .map(|rest| rest.split('/').next().unwrap_or(rest).to_string())
                .collect();
            names.sort();
            names.dedup();
            (!names.is_empty()).then_some(names)
        }
        fn read(&self, path: &str) -> Option<Vec<u8>> {
            self.0
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, c)| c.as_bytes().to_vec())
        }
    }

    fn model() -> ExposureModel {
        let yaml = r#"
paths:
  - {exposure: test, reason: test code, globs: ['**/tests/**', '**/*.test.*']}
  - {exposure: mobile, reason: Android resources ship in the app, globs: ['**/res/values*/*.xml']}
env_files: ['**/.env', '**/.env.*']
env_prefixes:
  - {prefix: VITE_, exposure: web-frontend, reason: Vite inlines VITE_ variables into the bundle}
env_default: {exposure: backend, reason: read by the server or the build}
projects:
  - exposure: desktop
    reason: Electron apps ship their JavaScript
    markers: [{file: package.json, dependency_any: [electron]}, {file: electron-builder.yml}]
  - exposure: web-frontend
    reason: frontend code is served to browsers
    markers: [{file: package.json, dependency_any: [react, vue]}, {file: 'src/*.vue'}]
  - exposure: desktop
    reason: Qt desktop app
    markers: [{file: 'src/*.cpp', contains_any: ['#include <Q']}]
fallback:
  - {exposure: backend, reason: server-side code, globs: ['**/*.py']}
"#;
        let spec: ExposureSpec = serde_yaml::from_str(yaml).expect("spec");
        ExposureModel::new(&spec).expect("model")
    }

    fn tree() -> Tree {
        Tree(vec![
            ("web/package.json", r#"{"dependencies": {"react": "^18"}}"#),
            ("web/src/App.tsx", "x"),
            ("web/src/App.test.tsx", "x"),
            ("web/.env", "x"),
            (
                "desk/package.json",
                r#"{"devDependencies": {"electron": "^30", "react": "^18"}}"#,
            ),
            ("desk/src/main.js", "x"),
            ("vue/src/App.vue", "x"),
            ("vue/src/store/api.js", "x"),
            ("qt/src/main.cpp", "#include <QApplication>\n"),
            ("qt/config/app.ini", "x"),
            ("api/app.py", "x"),
            ("android/app/src/main/res/values/strings.xml", "x"),
        ])
    }

    #[test]
    fn paths_projects_env_and_fallback() {
        let m = model();
        let t = tree();
        let kind = |p: &str, line: &str| m.classify(p, line.as_bytes(), &t).kind;
        assert_eq!(kind("web/src/App.tsx", ""), ExposureKind::WebFrontend);
        assert_eq!(kind("web/src/App.test.tsx", ""), ExposureKind::Test);
        assert_eq!(
            kind("desk/src/main.js", ""),
            ExposureKind::Desktop,
            "electron wins over react"
        );
        assert_eq!(kind("vue/src/store/api.js", ""), ExposureKind::WebFrontend);
        assert_eq!(kind("qt/config/app.ini", ""), ExposureKind::Desktop);
        assert_eq!(kind("api/app.py", ""), ExposureKind::Backend);
        assert_eq!(
            kind("android/app/src/main/res/values/strings.xml", ""),
            ExposureKind::Mobile
        );
        assert_eq!(kind("notes.txt", ""), ExposureKind::Unknown);
        assert_eq!(
            kind("web/.env", "VITE_CLIENT_SECRET=abc"),
            ExposureKind::WebFrontend
        );
        assert_eq!(
            kind("web/.env", "export vite_key=abc"),
            ExposureKind::WebFrontend
        );
        assert_eq!(
            kind("web/.env", "DATABASE_URL=postgres://"),
            ExposureKind::Backend
        );
    }

    #[test]
    fn without_a_project_view_only_paths_and_env_decide() {
        let m = model();
        assert_eq!(
            m.classify("web/src/App.tsx", b"", &NoProject).kind,
            ExposureKind::Unknown
        );
        assert_eq!(
            m.classify("x/.env.local", b"VITE_A=1", &NoProject).kind,
            ExposureKind::WebFrontend
        );
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*.csproj", "App.csproj"));
        assert!(wildcard("package.json", "package.json"));
        assert!(!wildcard("*.csproj", "App.csproj.user"));
        assert!(wildcard("*", "anything"));
        assert!(wildcard("a*b*c", "aXbYc"));
        assert!(!wildcard("a*b*c", "aXbY"));
    }
}
