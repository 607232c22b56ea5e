//! `keyward revoke`: revokes one leaked token at an OAuth 2.0 token revocation endpoint
//! (RFC 7009).
//!
//! The token and the client credentials come from the environment or from standard input,
//! never from the command line, where they would stay in shell history, `ps` output and CI
//! logs. The token is only ever printed redacted, and so is anything the server echoes.

use std::env::{self, VarError};
use std::fmt::Write as _;
use std::io::{self, BufRead, IsTerminal, Read};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use keyward_core::{ClientAuth, RevocationEndpoint, RuleSet, Secret};

use crate::Outcome;
use crate::sanitize::for_terminal;

/// Where the token to revoke is read from (unless `--token-stdin`).
pub const TOKEN_VAR: &str = "KEYWARD_REVOKE_TOKEN";
/// The OAuth client id, for endpoints that authenticate the client.
pub const CLIENT_ID_VAR: &str = "KEYWARD_CLIENT_ID";
/// The OAuth client secret, for endpoints that authenticate the client.
pub const CLIENT_SECRET_VAR: &str = "KEYWARD_CLIENT_SECRET";

/// Longer input is not a token (and is not read further).
const MAX_TOKEN: usize = 16 * 1024;
/// How much of a response body is read, and how much of the server's message is shown.
const MAX_BODY: u64 = 64 * 1024;
const MAX_MESSAGE: usize = 300;

/// What always works when revocation does not.
const LAST_RESORT: &str = "If the token cannot be revoked, delete the OAuth client's \
     credentials at the provider and create new ones: that revokes every token issued to \
     that client.";

/// `keyward revoke`.
#[derive(Debug, Args)]
#[command(
    after_help = "The token is read from KEYWARD_REVOKE_TOKEN, or from the first \
    line of standard input with --token-stdin; the client credentials from KEYWARD_CLIENT_ID \
    and KEYWARD_CLIENT_SECRET. None of them is accepted on the command line.\n\nExit codes: \
    0 revoked (RFC 7009 servers also answer so for a token that was already invalid), 2 \
    anything else."
)]
pub struct RevokeArgs {
    /// The revocation endpoint (https://…).
    #[arg(long, value_name = "URL", conflicts_with = "provider")]
    pub endpoint: Option<String>,
    /// A provider whose endpoint keyward knows (see --list-providers).
    #[arg(long, value_name = "NAME")]
    pub provider: Option<String>,
    /// The tenant's host name, for providers with one endpoint per tenant (okta, auth0,
    /// salesforce), e.g. dev-123456.okta.com.
    #[arg(long, value_name = "HOST", requires = "provider")]
    pub domain: Option<String>,
    /// Read the token from the first line of standard input instead of KEYWARD_REVOKE_TOKEN.
    #[arg(long)]
    pub token_stdin: bool,
    /// Tell the server what kind of token it is.
    #[arg(long, value_enum, value_name = "TYPE")]
    pub token_type_hint: Option<TokenTypeHint>,
    /// How the client authenticates (default: the provider's method; with --endpoint, HTTP
    /// Basic when KEYWARD_CLIENT_SECRET is set, else the client id when KEYWARD_CLIENT_ID
    /// is, else none).
    #[arg(long, value_enum, value_name = "METHOD")]
    pub auth: Option<AuthMethod>,
    /// Give up after this long (e.g. 10s, 500ms, 1m).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Allow a plain http:// endpoint. Only for a local test server: the token and the
    /// client secret would travel unencrypted.
    #[arg(long)]
    pub allow_http: bool,
    /// List the known providers and their endpoints.
    #[arg(long, conflicts_with_all = ["endpoint", "provider"])]
    pub list_providers: bool,
    // Secrets typed on the command line are caught here so that they can be refused without
    // echoing them (clap's own error would print the unexpected value in full).
    #[arg(long = "token", hide = true, value_name = "TOKEN")]
    token_arg: Option<String>,
    #[arg(long = "client-secret", hide = true, value_name = "SECRET")]
    client_secret_arg: Option<String>,
    #[arg(long = "client-id", hide = true, value_name = "ID")]
    client_id_arg: Option<String>,
    #[arg(hide = true, value_name = "TOKEN")]
    stray: Vec<String>,
}

/// RFC 7009's `token_type_hint` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenTypeHint {
    /// An access token.
    #[value(name = "access_token")]
    AccessToken,
    /// A refresh token.
    #[value(name = "refresh_token")]
    RefreshToken,
}

impl TokenTypeHint {
    fn as_str(self) -> &'static str {
        match self {
            TokenTypeHint::AccessToken => "access_token",
            TokenTypeHint::RefreshToken => "refresh_token",
        }
    }
}

/// `--auth`: the client authentication methods of the revocation data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMethod {
    /// HTTP Basic with the client id and secret.
    #[value(name = "client_secret_basic")]
    ClientSecretBasic,
    /// The client id and secret in the form body.
    #[value(name = "client_secret_post")]
    ClientSecretPost,
    /// Only the client id, in the form body (public clients).
    #[value(name = "client_id_only")]
    ClientIdOnly,
    /// No client authentication.
    #[value(name = "none")]
    None,
}

impl From<AuthMethod> for ClientAuth {
    fn from(m: AuthMethod) -> ClientAuth {
        match m {
            AuthMethod::ClientSecretBasic => ClientAuth::ClientSecretBasic,
            AuthMethod::ClientSecretPost => ClientAuth::ClientSecretPost,
            AuthMethod::ClientIdOnly => ClientAuth::ClientIdOnly,
            AuthMethod::None => ClientAuth::None,
        }
    }
}

fn auth_name(auth: ClientAuth) -> &'static str {
    match auth {
        ClientAuth::ClientSecretBasic => "client_secret_basic",
        ClientAuth::ClientSecretPost => "client_secret_post",
        ClientAuth::ClientIdOnly => "client_id_only",
        ClientAuth::None => "none",
    }
}

/// The endpoint to call, validated; what the rest of the command sees of the command line.
#[derive(Debug)]
struct Target {
    url: String,
    /// The provider's method, or `None` for a bare `--endpoint` (decided by the credentials).
    auth: Option<ClientAuth>,
    provider: Option<String>,
    docs: Option<String>,
}

/// The secrets, from the environment or standard input.
#[derive(Debug)]
struct Credentials {
    token: Secret,
    client_id: Option<String>,
    client_secret: Option<Secret>,
}

/// Runs `keyward revoke`.
pub fn run(args: RevokeArgs) -> Result<Outcome> {
    let rules = RuleSet::builtin();
    let known = rules.revocation_endpoints();
    if args.list_providers {
        for ep in known {
            println!(
                "{:<12} {:<20} {:<48} {}",
                ep.provider,
                auth_name(ep.auth),
                ep.url,
                ep.docs.as_deref().unwrap_or("")
            );
        }
        return Ok(Outcome::Clean);
    }
    refuse_secrets_in_argv(&args)?;
    let target = resolve_target(&args, known)?;
    check_url(&target.url, args.allow_http)?;
    let creds = read_credentials(args.token_stdin)?;
    let auth = args.auth.map(ClientAuth::from).or(target.auth).unwrap_or(
        if creds.client_secret.is_some() {
            ClientAuth::ClientSecretBasic
        } else if creds.client_id.is_some() {
            ClientAuth::ClientIdOnly
        } else {
            ClientAuth::None
        },
    );
    let request = prepare(&target, auth, args.token_type_hint, &creds)?;
    let answer = send(&request, args.timeout, args.allow_http);
    Ok(report(&target, &creds, args.timeout, answer))
}

fn refuse_secrets_in_argv(args: &RevokeArgs) -> Result<()> {
    let stray = args.stray.first().map(String::as_str);
    if let Some(token) = args.token_arg.as_deref().or(stray) {
        bail!(
            "refusing a token on the command line ({}): it would stay in your shell history. \
             Set {TOKEN_VAR}, or pipe it in with --token-stdin. If it is a live token, remove \
             it from your shell history too",
            Secret::new(token.as_bytes())
        );
    }
    if args.client_secret_arg.is_some() {
        bail!(
            "refusing --client-secret on the command line: it would stay in your shell \
             history. Set {CLIENT_SECRET_VAR} (and {CLIENT_ID_VAR}) instead"
        );
    }
    if args.client_id_arg.is_some() {
        bail!("--client-id is read from the environment: set {CLIENT_ID_VAR} instead");
    }
    Ok(())
}

/// `--endpoint` as given, or `--provider` looked up in the revocation data.
fn resolve_target(args: &RevokeArgs, known: &[RevocationEndpoint]) -> Result<Target> {
    let names = || {
        known
            .iter()
            .map(|e| e.provider.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(url) = &args.endpoint {
        return Ok(Target {
            url: url.trim().to_string(),
            auth: None,
            provider: None,
            docs: None,
        });
    }
    let Some(name) = &args.provider else {
        bail!(
            "say where to revoke: --provider NAME ({}) or --endpoint URL",
            names()
        );
    };
    let Some(ep) = known
        .iter()
        .find(|e| e.provider.eq_ignore_ascii_case(name.trim()))
    else {
        // A long "name" may be a token pasted in the wrong place: never echo it in full.
        let shown = if name.len() <= 24 {
            for_terminal(name)
        } else {
            Secret::new(name.as_bytes()).redacted()
        };
        bail!(
            "unknown provider {shown:?}; known providers: {}. For another server, give its \
             revocation endpoint with --endpoint URL",
            names()
        );
    };
    Ok(Target {
        url: endpoint_url(ep, args.domain.as_deref(), known)?,
        auth: Some(ep.auth),
        provider: Some(ep.provider.clone()),
        docs: ep.docs.clone(),
    })
}

/// The provider's URL, with `{domain}` filled in from `--domain` for per-tenant providers.
fn endpoint_url(
    ep: &RevocationEndpoint,
    domain: Option<&str>,
    known: &[RevocationEndpoint],
) -> Result<String> {
    const PLACEHOLDER: &str = "{domain}";
    if !ep.url.contains(PLACEHOLDER) {
        if domain.is_some() {
            let tenants: Vec<&str> = known
                .iter()
                .filter(|e| e.url.contains(PLACEHOLDER))
                .map(|e| e.provider.as_str())
                .collect();
            bail!(
                "{} has one endpoint for everyone ({}); --domain is for {}",
                ep.provider,
                ep.url,
                tenants.join(", ")
            );
        }
        return Ok(ep.url.clone());
    }
    let Some(domain) = domain else {
        bail!(
            "{} has one endpoint per tenant ({}): give the tenant's host name with --domain",
            ep.provider,
            ep.url
        );
    };
    check_host(domain)?;
    Ok(ep.url.replace(PLACEHOLDER, domain))
}

/// A DNS host name: letters, digits and hyphens in dot-separated labels.
fn check_host(host: &str) -> Result<()> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !ok {
        bail!(
            "--domain takes the tenant's host name, such as dev-123456.okta.com (no scheme, \
             path or port); got {:?}",
            for_terminal(host)
        );
    }
    Ok(())
}

/// TLS unless `--allow-http`; no credentials in the URL.
fn check_url(url: &str, allow_http: bool) -> Result<()> {
    let uri: ureq::http::Uri = url
        .parse()
        .ok()
        .filter(|u: &ureq::http::Uri| u.scheme().is_some() && u.host().is_some())
        // Not echoed: a value that is not a URL may be a token in the wrong place.
        .ok_or_else(|| anyhow!("the endpoint is not an absolute http(s) URL"))?;
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if allow_http => {}
        Some("http") => bail!(
            "refusing to send a token over plain http ({url}): TLS is required, or the token \
             and the client secret travel unencrypted. Use the https:// endpoint \
             (--allow-http is only for a local test server)"
        ),
        _ => bail!("the endpoint must be an https:// URL"),
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        bail!(
            "the endpoint URL must not carry credentials: set {CLIENT_ID_VAR} and \
             {CLIENT_SECRET_VAR} instead"
        );
    }
    let secret_param = uri.query().is_some_and(|q| {
        q.split('&').any(|pair| {
            let key = pair.split('=').next().unwrap_or("");
            matches!(
                key,
                "token" | "client_secret" | "access_token" | "refresh_token"
            )
        })
    });
    if secret_param {
        bail!(
            "the endpoint URL must not carry the token or the client secret (URLs end up in \
             logs): keyward sends them in the request body"
        );
    }
    Ok(())
}

fn read_credentials(token_stdin: bool) -> Result<Credentials> {
    let raw = if token_stdin {
        let stdin = io::stdin();
        if stdin.is_terminal() {
            eprint!("Paste the token, then press Enter: ");
        }
        let mut line = String::new();
        stdin
            .lock()
            .take(MAX_TOKEN as u64 + 2)
            .read_line(&mut line)
            .context("reading the token from standard input")?;
        line
    } else {
        match env::var(TOKEN_VAR) {
            Ok(v) => v,
            Err(VarError::NotPresent) => bail!(
                "no token to revoke: set {TOKEN_VAR}, or pipe the token in with --token-stdin"
            ),
            Err(VarError::NotUnicode(_)) => bail!("{TOKEN_VAR} is not valid UTF-8"),
        }
    };
    let token = raw.trim();
    if token.is_empty() {
        bail!(
            "the token is empty (read from {})",
            if token_stdin {
                "standard input"
            } else {
                TOKEN_VAR
            }
        );
    }
    if token.len() > MAX_TOKEN || token.chars().any(char::is_control) {
        bail!("that is not a token: longer than 16 KiB, or it contains control characters");
    }
    Ok(Credentials {
        token: Secret::new(token.as_bytes()),
        client_id: env_var(CLIENT_ID_VAR)?,
        client_secret: env_var(CLIENT_SECRET_VAR)?.map(|s| Secret::new(s.as_bytes())),
    })
}

/// A set, non-empty variable.
fn env_var(name: &str) -> Result<Option<String>> {
    match env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v.trim().to_string())),
        Err(VarError::NotPresent) => Ok(None),
        Err(VarError::NotUnicode(_)) => bail!("{name} is not valid UTF-8"),
    }
}

/// The request, ready to send: form fields (RFC 7009 section 2.1) and client authentication.
#[derive(Debug)]
struct Request {
    url: String,
    form: Vec<(&'static str, String)>,
    authorization: Option<String>,
}

fn prepare(
    target: &Target,
    auth: ClientAuth,
    hint: Option<TokenTypeHint>,
    creds: &Credentials,
) -> Result<Request> {
    let mut form = vec![("token", creds.token.expose().to_string())];
    if let Some(hint) = hint {
        form.push(("token_type_hint", hint.as_str().to_string()));
    }
    let whose = target.provider.as_deref().unwrap_or("this endpoint");
    let missing = |what: &str| {
        anyhow!(
            "{whose} authenticates the client ({}): set {what} to the credentials of the \
             OAuth client the token was issued to",
            auth_name(auth)
        )
    };
    let both = format!("{CLIENT_ID_VAR} and {CLIENT_SECRET_VAR}");
    let mut authorization = None;
    match auth {
        ClientAuth::ClientSecretBasic => {
            let id = creds.client_id.as_deref().ok_or_else(|| missing(&both))?;
            let secret = creds.client_secret.as_ref().ok_or_else(|| missing(&both))?;
            authorization = Some(basic_authorization(id, secret.expose())?);
        }
        ClientAuth::ClientSecretPost => {
            let id = creds.client_id.as_deref().ok_or_else(|| missing(&both))?;
            let secret = creds.client_secret.as_ref().ok_or_else(|| missing(&both))?;
            form.push(("client_id", id.to_string()));
            form.push(("client_secret", secret.expose().to_string()));
        }
        ClientAuth::ClientIdOnly => {
            let id = creds
                .client_id
                .as_deref()
                .ok_or_else(|| missing(CLIENT_ID_VAR))?;
            form.push(("client_id", id.to_string()));
        }
        ClientAuth::None => {}
    }
    Ok(Request {
        url: target.url.clone(),
        form,
        authorization,
    })
}

/// `Basic base64(id:secret)`, as every provider in the revocation data documents it. RFC 6749
/// section 2.3.1 would form-encode id and secret first; that changes nothing for the usual
/// alphabets and breaks servers that do not decode, so it is not done. A colon in the id
/// cannot be expressed at all.
fn basic_authorization(id: &str, secret: &str) -> Result<String> {
    if id.contains(':') {
        bail!(
            "{CLIENT_ID_VAR} contains ':', which HTTP Basic cannot carry: use --auth \
             client_secret_post"
        );
    }
    Ok(format!(
        "Basic {}",
        base64(format!("{id}:{secret}").as_bytes())
    ))
}

/// Standard base64 with padding (RFC 4648 section 4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = byte(0) << 16 | byte(1) << 8 | byte(2);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What came back.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: String,
    retry_after: Option<String>,
    location: Option<String>,
}

fn send(req: &Request, timeout: Duration, allow_http: bool) -> Result<Answer, ureq::Error> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .https_only(!allow_http)
        .http_status_as_error(false)
        // A redirect would re-send the token somewhere else: report it instead.
        .max_redirects(0)
        .user_agent(concat!("keyward/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut builder = agent.post(&req.url).header("Accept", "application/json");
    if let Some(authorization) = &req.authorization {
        builder = builder.header("Authorization", authorization);
    }
    let mut response = builder.send_form(req.form.iter().map(|(k, v)| (*k, v.as_str())))?;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (retry_after, location) = (header("retry-after"), header("location"));
    let status = response.status().as_u16();
    // The body only explains a failure; an unreadable one leaves the status to speak.
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .unwrap_or_default();
    Ok(Answer {
        status,
        body,
        retry_after,
        location,
    })
}

/// Prints the outcome: the result on standard output when revoked, the failure and what to
/// do next on standard error otherwise.
fn report(
    target: &Target,
    creds: &Credentials,
    timeout: Duration,
    answer: Result<Answer, ureq::Error>,
) -> Outcome {
    let url = &target.url;
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            let (what, next) = match &e {
                ureq::Error::Timeout(_) => (
                    format!("no answer from {url} within {timeout:?}"),
                    "The token may or may not be revoked. Retry (a longer --timeout may \
                     help), or revoke it in the provider's console.",
                ),
                ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => (
                    format!("TLS with {url} failed: {e}"),
                    "The server's certificate could not be verified, so nothing was sent. \
                     Check the URL; keyward trusts the Mozilla root certificates it is built \
                     with.",
                ),
                _ => (
                    format!("could not reach {url}: {e}"),
                    "Nothing was revoked. Check the URL, the network and any HTTPS_PROXY \
                     setting, then retry, or revoke the token in the provider's console.",
                ),
            };
            return failure(&what, next, target);
        }
    };
    let status = answer.status;
    if (200..300).contains(&status) {
        println!(
            "revoked: token {} at {url} (HTTP {status})",
            creds.token.redacted()
        );
        eprintln!(
            "note: a revocation endpoint answers the same for a token that was already \
             invalid (RFC 7009), so check that the token no longer works; if the client \
             secret leaked too, rotate it as well."
        );
        return Outcome::Clean;
    }
    let secrets = [
        Some(creds.token.expose()),
        creds.client_secret.as_ref().map(Secret::expose),
    ];
    let (code, message) = server_error(&answer.body, &secrets);
    let mut what = format!("HTTP {status} from {url}");
    if let Some(message) = &message {
        what.push_str(": ");
        what.push_str(message);
    }
    let mut next = advice(status, code.as_deref()).to_string();
    if (300..400).contains(&status) {
        let location = answer
            .location
            .as_deref()
            .map_or(String::new(), |l| format!(" to {}", redact(l, &secrets)));
        next = format!(
            "The endpoint redirected{location}; keyward does not follow redirects with a \
             token. Check the URL and pass the final one with --endpoint."
        );
    }
    if let Some(after) = &answer.retry_after {
        let _ = write!(
            next,
            " The server asks to retry after {}.",
            for_terminal(after)
        );
    }
    failure(&what, &next, target)
}

fn failure(what: &str, next: &str, target: &Target) -> Outcome {
    eprintln!("keyward: revoke failed: {}", for_terminal(what));
    eprintln!("  next: {}", for_terminal(next));
    eprintln!("  {LAST_RESORT}");
    if let Some(docs) = &target.docs {
        eprintln!("  docs: {docs}");
    }
    Outcome::Error
}

/// What to do after a refusal, from the status and the OAuth `error` code.
fn advice(status: u16, code: Option<&str>) -> &'static str {
    match (code, status) {
        (Some("invalid_client"), _) | (_, 401) => {
            "The server refused the client authentication. Set KEYWARD_CLIENT_ID and \
             KEYWARD_CLIENT_SECRET to the credentials of the client the token was issued to, \
             and check --auth (client_secret_basic or client_secret_post)."
        }
        (Some("unsupported_token_type"), _) => {
            "This server does not revoke this kind of token. Revoke it in the provider's \
             console, or try the other token of the grant (a refresh token revokes its \
             access tokens at most providers)."
        }
        (Some("invalid_token" | "invalid_grant"), _) => {
            "The server does not know the token: it has expired or was revoked already, or \
             it was issued by another server or to another client. Check --provider, \
             --endpoint and the client credentials."
        }
        (Some("invalid_request"), _) => {
            "The server rejected the request: check --token-type-hint, --auth and the \
             endpoint against the provider's documentation."
        }
        (_, 403) => {
            "The server refused to revoke it: the token may belong to another client. Use \
             the credentials of the client the token was issued to."
        }
        (_, 404 | 405) => {
            "There is no revocation endpoint at this URL (or the server does not know the \
             client id). Check --endpoint, --provider and --domain."
        }
        (_, 429 | 500..=599) => {
            "The server could not revoke it now, so the token still works. Retry later, or \
             revoke it in the provider's console."
        }
        (_, 400) => {
            "The server rejected the token or the request: the token may have expired or \
             been revoked already, or belong to another client or provider. Check \
             --provider or --endpoint, --auth and --token-type-hint."
        }
        _ => "The server did not confirm the revocation, so the token may still work.",
    }
}

/// The OAuth `error` code and a printable message from an error response body: the JSON
/// fields `error` and `error_description` (or `message`), else the text itself. Secrets the
/// server echoes are redacted and terminal controls removed.
fn server_error(body: &str, secrets: &[Option<&str>]) -> (Option<String>, Option<String>) {
    let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let field = |key: &str| {
        json.as_ref()
            .and_then(|v| v.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let code = field("error");
    let description = field("error_description").or_else(|| field("message"));
    let text = match (&code, &description, &json) {
        (Some(c), Some(d), _) => format!("{c}: {d}"),
        (Some(c), None, _) => c.clone(),
        (None, Some(d), _) => d.clone(),
        (None, None, Some(v)) if v.as_object().is_some_and(|o| o.is_empty()) => String::new(),
        (None, None, Some(v)) => v.to_string(),
        (None, None, None) => body.split_whitespace().collect::<Vec<_>>().join(" "),
    };
    if text.is_empty() {
        return (code, None);
    }
    let mut text = for_terminal(&redact(&text, secrets));
    if let Some((cut, _)) = text.char_indices().nth(MAX_MESSAGE) {
        text.truncate(cut);
        text.push('…');
    }
    (code.map(|c| for_terminal(&c)), Some(text))
}

/// Replaces each secret (long enough to be one) with its redacted form.
fn redact(text: &str, secrets: &[Option<&str>]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().flatten().filter(|s| s.len() >= 8) {
        out = out.replace(secret, &Secret::new(secret.as_bytes()).redacted());
    }
    out
}

/// Parses `10s`, `500ms`, `1m`, `10` (seconds): between 1 ms and 1 hour.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (try 10s, 500ms or 1m)"))?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        u => return Err(format!("unknown unit {u:?} (use ms, s or m)")),
    };
    if !(0.001..=3600.0).contains(&secs) {
        return Err(format!("{s:?}: the timeout must be between 1ms and 1h"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
        // RFC 7617's example.
        assert_eq!(
            basic_authorization("Aladdin", "open sesame").expect("basic"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert!(basic_authorization("a:b", "s").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn hosts() {
        for ok in ["dev-123456.okta.com", "acme.my.salesforce.com", "localhost"] {
            assert!(check_host(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "https://acme.okta.com",
            "acme.okta.com/oauth2",
            "acme.okta.com:443",
            "user@acme.okta.com",
            "-acme.okta.com",
            "acme..okta.com",
        ] {
            assert!(check_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_need_tls_and_no_credentials() {
        assert!(check_url("https://oauth2.googleapis.com/revoke", false).is_ok());
        assert!(check_url("http://127.0.0.1:8080/revoke", false).is_err());
        assert!(check_url("http://127.0.0.1:8080/revoke", true).is_ok());
        assert!(check_url("ftp://example.com/revoke", true).is_err());
        assert!(check_url("ghp_notaurlatall", false).is_err());
        assert!(check_url("https://id:secret@example.com/revoke", false).is_err());
        assert!(check_url("https://example.com/revoke?token=abc", false).is_err());
        assert!(check_url("https://example.com/revoke?realm=x", false).is_ok());
    }

    /// Every built-in endpoint (patterns/revocation.yaml) is https, parses, names a unique
    /// lowercase provider and links its documentation.
    #[test]
    fn builtin_endpoints_are_https_and_parse() {
        let rules = RuleSet::builtin();
        let known = rules.revocation_endpoints();
        assert!(known.len() >= 5, "revocation.yaml not loaded: {known:?}");
        let mut seen = std::collections::HashSet::new();
        for ep in known {
            assert!(seen.insert(&ep.provider), "duplicate {}", ep.provider);
            assert_eq!(ep.provider, ep.provider.to_ascii_lowercase());
            assert!(ep.url.starts_with("https://"), "{}", ep.url);
            let url = endpoint_url(
                ep,
                ep.url.contains("{domain}").then_some("tenant.example.com"),
                known,
            )
            .expect("url");
            check_url(&url, false).unwrap_or_else(|e| panic!("{}: {e}", ep.provider));
            assert!(!url.contains('{'), "{url}");
            let docs = ep
                .docs
                .as_deref()
                .unwrap_or_else(|| panic!("{}: no docs", ep.provider));
            assert!(docs.starts_with("https://"), "{docs}");
        }
    }

    #[test]
    fn domain_only_for_tenant_providers() {
        let rules = RuleSet::builtin();
        let known = rules.revocation_endpoints();
        let find = |p: &str| known.iter().find(|e| e.provider == p).expect(p);
        assert!(endpoint_url(find("okta"), None, known).is_err());
        assert_eq!(
            endpoint_url(find("okta"), Some("dev-1.okta.com"), known).expect("okta"),
            "https://dev-1.okta.com/oauth2/v1/revoke"
        );
        assert!(endpoint_url(find("google"), Some("example.com"), known).is_err());
    }

    #[test]
    fn server_errors_are_summarised_and_redacted() {
        let token = "tok_abcdefghijklmnop";
        let (code, msg) = server_error(
            r#"{"error":"invalid_token","error_description":"tok_abcdefghijklmnop is bad\u001b[2J"}"#,
            &[Some(token)],
        );
        assert_eq!(code.as_deref(), Some("invalid_token"));
        let msg = msg.expect("message");
        assert!(
            !msg.contains(token) && msg.contains("tok_…") && !msg.contains('\x1b'),
            "{msg}"
        );
        let (code, msg) = server_error(r#"{"status":400,"message":"Invalid token"}"#, &[]);
        assert_eq!((code, msg.as_deref()), (None, Some("Invalid token")));
        let (_, msg) = server_error("<html>\n Service  Unavailable </html>", &[]);
        assert_eq!(msg.as_deref(), Some("<html> Service Unavailable </html>"));
        assert_eq!(server_error("{}", &[]), (None, None));
        assert_eq!(server_error("", &[]), (None, None));
    }

    #[test]
    fn advice_follows_the_oauth_error() {
        assert!(advice(400, Some("invalid_client")).contains("client authentication"));
        assert!(advice(401, None).contains("client authentication"));
        assert!(advice(400, Some("unsupported_token_type")).contains("does not revoke"));
        assert!(advice(503, None).contains("still works"));
    }
}
