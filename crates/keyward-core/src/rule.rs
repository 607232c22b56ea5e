//! Rules: the YAML format, its validation, and the loaded [`RuleSet`].

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex_automata::meta;
use regex_automata::nfa::thompson::WhichCaptures;
use serde::{Deserialize, Serialize};

use crate::checksum::Checksum;
use crate::decode::DecodersSpec;
use crate::error::Error;
use crate::exposure::{ExposureKind, ExposureModel, ExposureSpec};
use crate::filter::{Filters, FiltersSpec};
use crate::remediation::RemediationSpec;
use crate::revocation::RevocationEndpoint;

/// The largest compiled size a rule's regex may have (bytes of NFA), so that a user's rule
/// cannot exhaust memory.
pub const REGEX_SIZE_LIMIT: usize = 4 << 20;

/// A rule's identifier, e.g. `github-pat-classic`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RuleId(pub String);

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of credential a rule finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// An OAuth client secret (consumer secret, app secret).
    ClientSecret,
    /// An access token: OAuth access tokens, personal access tokens, bot tokens.
    AccessToken,
    /// An OAuth refresh token.
    RefreshToken,
    /// A secret API key.
    ApiKey,
    /// A private key (PEM, OpenSSH, PGP, age…).
    PrivateKey,
    /// A password.
    Password,
    /// A connection string or URI that carries a password.
    ConnectionString,
    /// A webhook URL or signing secret.
    Webhook,
    /// A JSON Web Token.
    Jwt,
    /// Anything else.
    Generic,
    /// Not a secret: an OAuth practice to fix (implicit grant, tokens in localStorage…);
    /// reported only when asked for (`--hygiene`).
    #[serde(rename = "oauth-hygiene")]
    OauthHygiene,
}

impl Category {
    /// The name used in YAML and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::ClientSecret => "client_secret",
            Category::AccessToken => "access_token",
            Category::RefreshToken => "refresh_token",
            Category::ApiKey => "api_key",
            Category::PrivateKey => "private_key",
            Category::Password => "password",
            Category::ConnectionString => "connection_string",
            Category::Webhook => "webhook",
            Category::Jwt => "jwt",
            Category::Generic => "generic",
            Category::OauthHygiene => "oauth-hygiene",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How sure a rule is that a match is a real credential.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// A generic shape that needs context to be sure.
    Low,
    /// A likely credential.
    #[default]
    Medium,
    /// A distinctive provider format (a prefix, a checksum).
    High,
}

impl Confidence {
    /// The name used in YAML and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing, not a leak by itself.
    Info,
    /// Unlikely to matter.
    Low,
    /// Should be looked at.
    Medium,
    /// A credential that must be rotated.
    High,
    /// A credential readable by anyone who downloads the app.
    Critical,
}

impl Severity {
    /// The name used in YAML and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// One step lower (`info` stays `info`).
    pub fn lowered(self) -> Severity {
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            Severity::Medium => Severity::Low,
            Severity::Low | Severity::Info => Severity::Info,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far around a keyword hit a rule's regex may match, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Bytes before the keyword's first byte.
    pub before: usize,
    /// Bytes after the keyword's last byte.
    pub after: usize,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            before: 256,
            after: 512,
        }
    }
}

/// One rule as written in a pattern file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique identifier.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Who issues the credential (`GitHub`, `Google`…); `generic` for shape-based rules.
    #[serde(default)]
    pub provider: Option<String>,
    /// What kind of credential it is.
    pub category: Category,
    /// Literals for the prefilter (matched ASCII case-insensitively).
    pub keywords: Vec<String>,
    /// The regex; the secret is the group named `secret`, else the first group that matched.
    pub pattern: String,
    /// Minimum Shannon entropy (bits per byte) of the secret.
    #[serde(default)]
    pub min_entropy: Option<f64>,
    /// How sure a match is.
    #[serde(default)]
    pub confidence: Option<Confidence>,
    /// Severity before exposure is taken into account.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// How far from a keyword the match may lie.
    #[serde(default)]
    pub window: Option<Window>,
    /// A shape-based rule: loses to a provider rule on the same bytes, and is not reported in
    /// lock files.
    #[serde(default)]
    pub generic: bool,
    /// A checksum the secret must carry.
    #[serde(default)]
    pub checksum: Option<Checksum>,
    /// Regexes on the secret that mark documented examples or public values (full match).
    #[serde(default)]
    pub allow: Vec<String>,
    /// The secret is random by nature (a token, a key): values that read as words are
    /// identifiers, not secrets (see `word_like` in the filters).
    #[serde(default)]
    pub random: bool,
    /// Whether the shared placeholder filter applies (default true).
    #[serde(default)]
    pub placeholder_check: Option<bool>,
    /// Report this rule's findings only in files of these exposures (e.g. a client-secret
    /// literal of any shape, which is only worth reporting in client code). Such a rule loses to
    /// any other rule on the same bytes.
    #[serde(default)]
    pub only_in: Vec<ExposureKind>,
    /// A sentence added to the finding when it is in client code (e.g. that the provider
    /// treats installed-app secrets as public, so the fix is PKCE).
    #[serde(default)]
    pub client_note: Option<String>,
    /// What to do when it leaks.
    #[serde(default)]
    pub remediation: Option<String>,
    /// Where the format and the revocation procedure are documented.
    #[serde(default)]
    pub references: Vec<String>,
    /// Texts that must produce a finding of this rule.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Texts that must not produce a finding of this rule.
    #[serde(default)]
    pub negative_examples: Vec<String>,
}

/// The top level of a pattern file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatternFile {
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    #[serde(default)]
    pub filters: Option<FiltersSpec>,
    #[serde(default)]
    pub revocation_endpoints: Vec<RevocationEndpoint>,
    #[serde(default)]
    pub exposure: Option<ExposureSpec>,
    #[serde(default)]
    pub remediation: Option<RemediationSpec>,
    #[serde(default)]
    pub decoders: Option<DecodersSpec>,
}

/// Where a rule was defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The pattern file (`patterns/github.yaml` for built-ins).
    pub file: PathBuf,
    /// 1-based line of the rule's `id` in that file (0 when unknown).
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}", self.file.display(), self.line)
        } else {
            write!(f, "{}", self.file.display())
        }
    }
}

/// A loaded rule: its specification plus what is compiled from it on demand.
pub struct Rule {
    /// The rule as written.
    pub spec: RuleSpec,
    /// Its identifier.
    pub id: RuleId,
    /// Where it was defined.
    pub origin: Origin,
    regex: OnceLock<Result<CompiledRegex, String>>,
    allow: OnceLock<Result<Vec<meta::Regex>, String>>,
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule")
            .field("id", &self.id)
            .field("origin", &self.origin)
            .finish()
    }
}

/// A compiled rule regex and where its secret is.
#[derive(Debug)]
pub(crate) struct CompiledRegex {
    pub regex: meta::Regex,
    /// The group named `secret`; when absent, the first group that took part in the match
    /// (so that alternatives such as a quoted and an unquoted value can each have a group).
    pub secret_group: Option<usize>,
    /// How many groups the regex has, group 0 included.
    pub groups: usize,
}

impl Rule {
    fn new(spec: RuleSpec, origin: Origin) -> Rule {
        Rule {
            id: RuleId(spec.id.clone()),
            spec,
            origin,
            regex: OnceLock::new(),
            allow: OnceLock::new(),
        }
    }

    /// The confidence, defaulting to medium.
    pub fn confidence(&self) -> Confidence {
        self.spec.confidence.unwrap_or_default()
    }

    /// The severity before exposure: the rule's own, or one derived from its category.
    pub fn severity(&self) -> Severity {
        self.spec.severity.unwrap_or(match self.spec.category {
            Category::Generic => Severity::Medium,
            _ if self.confidence() == Confidence::Low => Severity::Medium,
            _ => Severity::High,
        })
    }

    /// The provider, `generic` when unnamed.
    pub fn provider(&self) -> &str {
        self.spec.provider.as_deref().unwrap_or("generic")
    }

    /// The window around keyword hits.
    pub fn window(&self) -> Window {
        self.spec.window.unwrap_or_default()
    }

    /// Compiles (once) and returns the regex, or the compile error.
    pub(crate) fn compiled(&self) -> Result<&CompiledRegex, &str> {
        self.regex
            .get_or_init(|| compile_rule_regex(&self.spec.pattern))
            .as_ref()
            .map_err(String::as_str)
    }

    /// Compiles (once) and returns the `allow` regexes.
    pub(crate) fn allow_regexes(&self) -> Result<&[meta::Regex], &str> {
        self.allow
            .get_or_init(|| {
                self.spec
                    .allow
                    .iter()
                    .map(|p| compile_regex(&format!("^(?:{p})$"), false))
                    .collect()
            })
            .as_deref()
            .map_err(String::as_str)
    }

    /// Checks that the regex compiles and names a secret group.
    pub fn validate_regex(&self) -> Result<(), String> {
        self.compiled().map_err(|e| format!("pattern: {e}"))?;
        self.allow_regexes().map_err(|e| format!("allow: {e}"))?;
        Ok(())
    }
}

/// Compiles a regex the way every rule regex is compiled: bytes, no Unicode classes (221
/// real rules compile in ~80 ms that way rather than seconds), and a size limit.
///
/// `captures`: whether the regex searches haystacks for captures (a rule's pattern) or only
/// tests short whole values (`allow`, placeholders), which is built without capture groups
/// and without the lazy DFA, cheaper to compile. No full DFA is built
/// ahead of time either: it costs milliseconds per rule at start-up, and the lazy DFA reaches
/// the same speed on the windows a rule searches.
pub(crate) fn compile_regex(pattern: &str, captures: bool) -> Result<meta::Regex, String> {
    let which = if captures {
        WhichCaptures::All
    } else {
        WhichCaptures::None
    };
    meta::Regex::builder()
        .syntax(
            regex_automata::util::syntax::Config::new()
                .unicode(false)
                .utf8(false),
        )
        .configure(
            meta::Config::new()
                .utf8_empty(false)
                .which_captures(which)
                .dfa(false)
                // Whole-value tests run on short strings: the bounded backtracker is enough,
                // and skipping the lazy DFA saves compiling a reverse NFA.
                .hybrid(captures)
                .onepass(captures)
                .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
                .onepass_size_limit(Some(REGEX_SIZE_LIMIT))
                .dfa_size_limit(Some(REGEX_SIZE_LIMIT))
                .hybrid_cache_capacity(2 << 20),
        )
        .build(pattern)
        .map_err(|e| {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            if text.contains("size limit") || text.contains("exceeded limit") {
                format!(
                    "regex is too large (over {} bytes compiled): {text}",
                    REGEX_SIZE_LIMIT
                )
            } else {
                text.replace('\n', " ")
            }
        })
}

fn compile_rule_regex(pattern: &str) -> Result<CompiledRegex, String> {
    let regex = compile_regex(pattern, true)?;
    let info = regex.group_info();
    let groups = info.group_len(regex_automata::PatternID::ZERO);
    let secret_group = info.to_index(regex_automata::PatternID::ZERO, "secret");
    if secret_group.is_none() && groups < 2 {
        return Err("no secret group: put the secret in group 1 or in (?P<secret>…)".into());
    }
    Ok(CompiledRegex {
        regex,
        secret_group,
        groups,
    })
}

/// A validated set of rules and the filters that go with them.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<Rule>,
    filters: Filters,
    revocation: Vec<RevocationEndpoint>,
    exposure: ExposureSpec,
    exposure_model: OnceLock<Result<ExposureModel, String>>,
    remediation: RemediationSpec,
    decoders: DecodersSpec,
}

/// Where pattern files come from.
#[derive(Debug, Clone)]
pub struct Source {
    /// A file name for messages.
    pub file: PathBuf,
    /// The YAML text.
    pub text: String,
}

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_sources.rs"));
    pub(crate) const BUILTIN_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/builtin.json"));
}

#[derive(Deserialize)]
struct CompactFile {
    file: String,
    content: PatternFile,
}

impl RuleSet {
    /// The built-in rules, compiled into the binary. Their regexes compile on first use.
    pub fn builtin() -> RuleSet {
        let files: Vec<CompactFile> = serde_json::from_str(builtin::BUILTIN_JSON)
            .unwrap_or_else(|e| panic!("built-in rules are malformed (a build bug): {e}"));
        let mut set = RuleSet::empty();
        for f in files {
            let file = Path::new("patterns").join(&f.file);
            set.add_file(&file, None, f.content);
        }
        set
    }

    /// The YAML sources of the built-in pattern files, as `(patterns/NAME, text)`.
    pub fn builtin_sources() -> Vec<Source> {
        builtin::BUILTIN_SOURCES
            .iter()
            .map(|(name, text)| Source {
                file: Path::new("patterns").join(name),
                text: (*text).to_string(),
            })
            .collect()
    }

    /// A set with no rules and the default (empty) filters.
    pub fn empty() -> RuleSet {
        RuleSet {
            rules: Vec::new(),
            filters: Filters::default(),
            revocation: Vec::new(),
            exposure: ExposureSpec::default(),
            exposure_model: OnceLock::new(),
            remediation: RemediationSpec::default(),
            decoders: DecodersSpec::default(),
        }
    }

    /// Parses YAML sources into a rule set, validating every rule (regexes included).
    /// The first problem is returned as an error naming file, line and rule.
    pub fn from_sources(sources: &[Source]) -> Result<RuleSet, Error> {
        let mut set = RuleSet::empty();
        for source in sources {
            set.extend_from_source(source)?;
        }
        Ok(set)
    }

    /// Reads every `*.yaml`/`*.yml` file in `dir` (sorted, not recursive), or one file.
    pub fn read_sources(path: &Path) -> Result<Vec<Source>, Error> {
        let read = |file: &Path| -> Result<Source, Error> {
            let bytes = std::fs::read(file).map_err(|source| Error::Io {
                file: file.to_path_buf(),
                source,
            })?;
            let text = String::from_utf8(bytes).map_err(|_| Error::Yaml {
                file: file.to_path_buf(),
                line: 0,
                column: 0,
                message: "not UTF-8".into(),
            })?;
            Ok(Source {
                file: file.to_path_buf(),
                text,
            })
        };
        if path.is_file() {
            return Ok(vec![read(path)?]);
        }
        let entries = std::fs::read_dir(path).map_err(|source| Error::Io {
            file: path.to_path_buf(),
            source,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml"))
            })
            .collect();
        files.sort();
        files.iter().map(|f| read(f)).collect()
    }

    /// Adds the rules and filters of one YAML source, validating them; the first problem is
    /// returned (and nothing of that source is kept).
    pub fn extend_from_source(&mut self, source: &Source) -> Result<(), Error> {
        let rules_before = self.rules.len();
        let revocation_before = self.revocation.len();
        let filters_before = self.filters.snapshot();
        match self.extend_lenient(source).into_iter().next() {
            Some(e) => {
                self.rules.truncate(rules_before);
                self.revocation.truncate(revocation_before);
                self.filters = filters_before;
                Err(e)
            }
            None => Ok(()),
        }
    }

    /// Adds every valid rule of one YAML source and returns the problems of the others.
    pub fn extend_lenient(&mut self, source: &Source) -> Vec<Error> {
        let parsed = match parse_source(source) {
            Ok(p) => p,
            Err(e) => return vec![e],
        };
        let mut problems = Vec::new();
        let first_new = self.rules.len();
        let filters_before = self.filters.snapshot();
        self.add_file(&source.file, Some(&source.text), parsed);
        if let Err(message) = self.filters.compile() {
            problems.push(Error::Yaml {
                file: source.file.clone(),
                line: 0,
                column: 0,
                message,
            });
            self.filters = filters_before;
        }
        if let Err(e) = ExposureModel::new(&self.exposure) {
            problems.push(Error::Yaml {
                file: source.file.clone(),
                line: 0,
                column: 0,
                message: format!("exposure: {e}"),
            });
        }
        let mut seen: HashSet<String> = self.rules[..first_new]
            .iter()
            .map(|r| r.spec.id.clone())
            .collect();
        let new_rules: Vec<Rule> = self.rules.drain(first_new..).collect();
        for rule in new_rules {
            let problem = |message: String| Error::Rule {
                file: rule.origin.file.clone(),
                line: rule.origin.line,
                rule: rule.spec.id.clone(),
                message,
            };
            let result = if !seen.insert(rule.spec.id.clone()) {
                Err(problem("duplicate rule id".into()))
            } else if let Some(message) = static_problem(&rule.spec) {
                Err(problem(message))
            } else {
                rule.validate_regex().map_err(problem)
            };
            match result {
                Ok(()) => self.rules.push(rule),
                Err(e) => problems.push(e),
            }
        }
        problems
    }

    fn add_file(&mut self, file: &Path, text: Option<&str>, parsed: PatternFile) {
        if let Some(filters) = parsed.filters {
            self.filters.extend(filters);
        }
        self.revocation.extend(parsed.revocation_endpoints);
        if let Some(r) = parsed.remediation {
            self.remediation.extend(r);
        }
        if let Some(d) = parsed.decoders {
            self.decoders.extend(d);
        }
        if let Some(e) = parsed.exposure {
            self.exposure.extend(e);
            self.exposure_model = OnceLock::new();
        }
        let mut cursor = 0;
        for spec in parsed.rules {
            let line = text.map_or(0, |t| line_of_rule(t, &spec.id, cursor));
            cursor = line;
            self.rules.push(Rule::new(
                spec,
                Origin {
                    file: file.to_path_buf(),
                    line,
                },
            ));
        }
    }

    /// Removes rules whose id is in `ids`; returns the ids that matched no rule.
    pub fn disable(&mut self, ids: &[String]) -> Vec<String> {
        let unknown = ids
            .iter()
            .filter(|id| !self.rules.iter().any(|r| &r.spec.id == *id))
            .cloned()
            .collect();
        self.rules.retain(|r| !ids.contains(&r.spec.id));
        unknown
    }

    /// Drops the OAuth hygiene checks (they are opt-in: `--hygiene`).
    pub fn without_hygiene(&mut self) {
        self.rules
            .retain(|r| r.spec.category != Category::OauthHygiene);
    }

    /// Drops every rule (keeping the filters): `--no-builtin`.
    pub fn clear_rules(&mut self) {
        self.rules.clear();
    }

    /// The rules, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The exposure classifier (compiled on first use).
    pub fn exposure(&self) -> &ExposureModel {
        static EMPTY: OnceLock<ExposureModel> = OnceLock::new();
        match self
            .exposure_model
            .get_or_init(|| ExposureModel::new(&self.exposure))
        {
            Ok(m) => m,
            Err(_) => EMPTY.get_or_init(ExposureModel::default),
        }
    }

    /// Adds user exposure globs ahead of the built-in ones.
    pub fn prepend_exposure_globs(
        &mut self,
        globs: &[(String, ExposureKind)],
    ) -> Result<(), String> {
        self.exposure.prepend_globs(globs);
        let model = ExposureModel::new(&self.exposure)?;
        self.exposure_model = OnceLock::from(Ok(model));
        Ok(())
    }

    /// The remediation text of a finding of `rule` in a file of `exposure`.
    pub fn remediation(&self, rule: &Rule, exposure: ExposureKind) -> String {
        self.remediation.compose(rule, exposure)
    }

    /// The decoders and where they look.
    pub fn decoders(&self) -> &DecodersSpec {
        &self.decoders
    }

    /// Turns decoding off (`--no-decode`).
    pub fn disable_decoders(&mut self) {
        self.decoders.triggers.clear();
    }

    /// Known OAuth token revocation endpoints.
    pub fn revocation_endpoints(&self) -> &[RevocationEndpoint] {
        &self.revocation
    }

    /// The shared filters (placeholders, stopwords, lock files).
    pub fn filters(&self) -> &Filters {
        &self.filters
    }
}

pub(crate) fn parse_source(source: &Source) -> Result<PatternFile, Error> {
    serde_yaml::from_str::<PatternFile>(&source.text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        let message = e.to_string();
        // yaml_serde appends " at line L column C"; we print the position up front instead.
        let message = match message.find(" at line ") {
            Some(i) => message[..i].to_string(),
            None => message,
        };
        let rule = rule_at_line(&source.text, line);
        Error::Yaml {
            file: source.file.clone(),
            line,
            column,
            message: match rule {
                Some(id) => format!("rule {id}: {message}"),
                None => message,
            },
        }
    })
}

/// Problems visible without compiling anything.
fn static_problem(spec: &RuleSpec) -> Option<String> {
    if spec.id.is_empty()
        || !spec
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Some("id must be non-empty and use only letters, digits, '-', '_' and '.'".into());
    }
    if spec.keywords.is_empty() {
        return Some("keywords: at least one keyword is required".into());
    }
    if let Some(k) = spec.keywords.iter().find(|k| k.len() < 2 || !k.is_ascii()) {
        return Some(format!(
            "keywords: {k:?} must be ASCII and at least 2 characters long"
        ));
    }
    if let Some(e) = spec.min_entropy
        && !(0.0..=8.0).contains(&e)
    {
        return Some(format!("min_entropy: {e} is outside 0..=8 bits per byte"));
    }
    None
}

/// The 1-based line of the first `id: <id>` after line `after` in a YAML text (0 when not found).
pub(crate) fn line_of_rule(text: &str, id: &str, after: usize) -> usize {
    for (i, line) in text.lines().enumerate().skip(after) {
        let t = line.trim_start().trim_start_matches("- ").trim_start();
        if let Some(rest) = t.strip_prefix("id:") {
            let v = rest.trim().trim_matches(|c| c == '"' || c == '\'');
            if v == id {
                return i + 1;
            }
        }
    }
    0
}

/// The id of the rule whose definition contains `line` (for YAML errors).
fn rule_at_line(text: &str, line: usize) -> Option<String> {
    let mut current = None;
    for (i, l) in text.lines().enumerate() {
        if i + 1 > line {
            break;
        }
        let t = l.trim_start();
        if let Some(rest) = t.strip_prefix("- id:") {
            current = Some(
                rest.trim()
                    .trim_matches(|c| c == '"' || c == '\'')
                    .to_string(),
            );
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Source {
        Source {
            file: PathBuf::from("user/rules.yaml"),
            text: text.to_string(),
        }
    }

    #[test]
    fn malformed_yaml_names_file_and_line() {
        let err =
            RuleSet::from_sources(&[src("rules:\n  - id: a\n    name: [unclosed\n")]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("user/rules.yaml:"), "{msg}");
        assert!(msg.contains("rule a"), "{msg}");
    }

    #[test]
    fn unknown_field_names_rule_and_line() {
        let text = "rules:\n  - id: one\n    name: One\n    category: api_key\n    keywords: [one_]\n    pattern: 'one_([a-z]{8})'\n    colour: red\n";
        let msg = RuleSet::from_sources(&[src(text)]).unwrap_err().to_string();
        assert!(msg.contains("user/rules.yaml:7"), "{msg}");
        assert!(msg.contains("rule one"), "{msg}");
        assert!(msg.contains("colour"), "{msg}");
    }

    #[test]
    fn bad_regex_names_rule_and_line() {
        let text = "rules:\n  - id: first\n    name: First\n    category: api_key\n    keywords: [ab]\n    pattern: 'ab(c'\n";
        let msg = RuleSet::from_sources(&[src(text)]).unwrap_err().to_string();
        assert!(
            msg.starts_with("user/rules.yaml:2: rule first: pattern:"),
            "{msg}"
        );
    }

    #[test]
    fn missing_secret_group_is_an_error() {
        let text = "rules:\n  - id: nogroup\n    name: N\n    category: api_key\n    keywords: [ab]\n    pattern: 'ab[a-z]+'\n";
        let msg = RuleSet::from_sources(&[src(text)]).unwrap_err().to_string();
        assert!(msg.contains("no secret group"), "{msg}");
    }

    #[test]
    fn oversized_regex_is_rejected() {
        let text = "rules:\n  - id: huge\n    name: H\n    category: api_key\n    keywords: [ab]\n    pattern: 'ab(\\w{1000}){50}'\n";
        let msg = RuleSet::from_sources(&[src(text)]).unwrap_err().to_string();
        assert!(msg.contains("too large"), "{msg}");
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let rule = "  - id: dup\n    name: D\n    category: api_key\n    keywords: [ab]\n    pattern: 'ab([a-z]+)'\n";
        let text = format!("rules:\n{rule}{rule}");
        let msg = RuleSet::from_sources(&[src(&text)])
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("user/rules.yaml:7: rule dup: duplicate"),
            "{msg}"
        );
    }

    #[test]
    fn builtin_rules_load() {
        let set = RuleSet::builtin();
        assert!(!set.rules().is_empty());
    }
}
