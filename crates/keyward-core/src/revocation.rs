//! Known OAuth 2.0 token revocation endpoints (RFC 7009), kept as data in `patterns/`.

use serde::{Deserialize, Serialize};

/// How the client authenticates to a revocation endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// HTTP Basic with the client id and secret (`client_secret_basic`).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    ClientSecretPost,
    /// Only `client_id` in the body (public clients).
    ClientIdOnly,
    /// No client authentication.
    None,
}

/// One provider's revocation endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationEndpoint {
    /// The provider's name as `--provider` takes it (lowercase, e.g. `google`).
    pub provider: String,
    /// The endpoint URL.
    pub url: String,
    /// How the client authenticates.
    pub auth: ClientAuth,
    /// Where the provider documents it.
    #[serde(default)]
    pub docs: Option<String>,
}
