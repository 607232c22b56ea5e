//! JSON Web Tokens, decoded offline: header and claims are read, the signature is never
//! verified and nothing goes over the network. What the claims say decides how a finding is
//! reported: an expired token matters less, an unsigned one (`alg: none`) or one valid for
//! more than a year more, and a Supabase `anon` key is public by design.

use serde::Serialize;
use serde_json::Value;

use crate::decode::base64_decode;

/// What a token is for, as far as its claims tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JwtKind {
    /// An OAuth access token (`typ: at+jwt`, `token_use: access`, `scope`…).
    Access,
    /// An OpenID Connect ID token (`nonce`, `at_hash`, `token_use: id`…).
    Id,
    /// A refresh token (`token_use: refresh`, Keycloak `typ: Refresh`/`Offline`).
    Refresh,
    /// An API key issued as a JWT (Supabase `service_role`).
    ApiKey,
    /// A key that is public by design (Supabase `anon`).
    PublicKey,
    /// The claims do not say.
    Unknown,
}

/// The readable parts of a JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JwtInfo {
    /// Signature algorithm (`alg`).
    pub alg: Option<String>,
    /// Header `typ`.
    pub typ: Option<String>,
    /// Issuer (`iss`).
    pub iss: Option<String>,
    /// Audiences (`aud`).
    pub aud: Vec<String>,
    /// Expiry, seconds since the epoch (`exp`).
    pub exp: Option<i64>,
    /// Issued at (`iat`).
    pub iat: Option<i64>,
    /// Has it expired (relative to the time given to [`decode_jwt`])?
    pub expired: bool,
    /// What it is for.
    pub kind: JwtKind,
    /// What deserves attention: `alg none`, `valid for more than a year`, `no expiry`.
    pub warnings: Vec<&'static str>,
}

const YEAR: i64 = 366 * 24 * 3600;

/// Decodes `token` (`header.payload.signature`, base64url) as of `now` (seconds since the
/// epoch); `None` when it is not a JWT with JSON header and payload.
pub fn decode_jwt(token: &str, now: i64) -> Option<JwtInfo> {
    let mut parts = token.trim().split('.');
    let (h, p) = (parts.next()?, parts.next()?);
    let header: Value = serde_json::from_slice(&base64_decode(h.as_bytes())?).ok()?;
    let claims: Value = serde_json::from_slice(&base64_decode(p.as_bytes())?).ok()?;
    if !header.is_object() || !claims.is_object() {
        return None;
    }
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let int = |k: &str| {
        claims
            .get(k)
            .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
    };
    let alg = text(&header, "alg");
    let typ = text(&header, "typ");
    let aud = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let (exp, iat) = (int("exp"), int("iat"));
    let mut warnings = Vec::new();
    if alg
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case("none"))
    {
        warnings.push("alg none: unsigned, anyone can forge such a token");
    }
    match exp {
        None => warnings.push("no expiry"),
        // Saturating: `exp` and `iat` come from the token and may be anywhere in i64.
        Some(e) if e.saturating_sub(iat.unwrap_or(now).min(now)) > YEAR => {
            warnings.push("valid for more than a year")
        }
        _ => {}
    }
    Some(JwtInfo {
        kind: kind(&header, &claims),
        expired: exp.is_some_and(|e| e < now),
        alg,
        typ,
        iss: text(&claims, "iss"),
        aud,
        exp,
        iat,
        warnings,
    })
}

fn kind(header: &Value, claims: &Value) -> JwtKind {
    let lower = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
    };
    if let Some(role) = lower(claims, "role") {
        if role == "anon" {
            return JwtKind::PublicKey;
        }
        if role == "service_role" {
            return JwtKind::ApiKey;
        }
    }
    if lower(header, "typ").is_some_and(|t| t == "at+jwt" || t == "application/at+jwt") {
        return JwtKind::Access;
    }
    for key in ["token_use", "typ", "token_type"] {
        match lower(claims, key).as_deref() {
            Some("access" | "bearer" | "access_token") => return JwtKind::Access,
            Some("id" | "id_token") => return JwtKind::Id,
            Some("refresh" | "offline" | "refresh_token") => return JwtKind::Refresh,
            _ => {}
        }
    }
    if claims.get("nonce").is_some() || claims.get("at_hash").is_some() {
        return JwtKind::Id;
    }
    if claims.get("scope").is_some() || claims.get("scp").is_some() {
        return JwtKind::Access;
    }
    JwtKind::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64url(s: &str) -> String {
        crate::test_util::base64(s.as_bytes(), true)
    }

    fn token(header: &str, claims: &str) -> String {
        format!("{}.{}.c2lnbmF0dXJl", b64url(header), b64url(claims))
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn access_id_refresh_and_public() {
        let t = token(
            r#"{"alg":"RS256","typ":"at+jwt"}"#,
            r#"{"iss":"https://id.example.com","aud":"api","exp":1800003600,"iat":1799996400}"#,
        );
        let i = decode_jwt(&t, NOW).expect("jwt");
        assert_eq!(
            (i.kind, i.expired, i.alg.as_deref()),
            (JwtKind::Access, false, Some("RS256"))
        );
        assert_eq!(i.aud, ["api"]);
        assert!(i.warnings.is_empty());

        let id = token(
            r#"{"alg":"RS256"}"#,
            r#"{"aud":["c1","c2"],"nonce":"n","exp":1700000000}"#,
        );
        let i = decode_jwt(&id, NOW).expect("jwt");
        assert_eq!((i.kind, i.expired), (JwtKind::Id, true));

        let refresh = token(
            r#"{"alg":"HS256"}"#,
            r#"{"typ":"Refresh","exp":1800000100}"#,
        );
        assert_eq!(
            decode_jwt(&refresh, NOW).expect("jwt").kind,
            JwtKind::Refresh
        );

        let anon = token(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            r#"{"iss":"supabase","role":"anon","exp":2000000000}"#,
        );
        let i = decode_jwt(&anon, NOW).expect("jwt");
        assert_eq!(i.kind, JwtKind::PublicKey);
        assert_eq!(i.warnings, ["valid for more than a year"]);
    }

    #[test]
    fn unsigned_and_eternal_tokens_are_called_out() {
        let t = token(r#"{"alg":"none"}"#, r#"{"sub":"admin"}"#);
        let i = decode_jwt(&t, NOW).expect("jwt");
        assert_eq!(
            i.warnings,
            [
                "alg none: unsigned, anyone can forge such a token",
                "no expiry"
            ]
        );
        assert!(!i.expired);
    }

    #[test]
    fn not_a_jwt() {
        assert_eq!(decode_jwt("eyJhbGciOiJIUzI1NiJ9", NOW), None);
        assert_eq!(decode_jwt("abc.def.ghi", NOW), None);
        assert_eq!(
            decode_jwt(&format!("{}.{}.x", b64url("[1]"), b64url("{}")), NOW),
            None
        );
        assert_eq!(decode_jwt("", NOW), None);
    }
}
