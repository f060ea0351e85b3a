//! The inbox's own settings (`INTAKE_INBOX__*`).

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxConfig {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The address people reach the inbox at (`https://...` in
    /// production); redirects after sign-in and the Origin check use it.
    #[serde(default = "default_public_url")]
    pub public_url: String,
    /// The database login the inbox serves people with: a role that is a
    /// member of `intake_inbox_access` and nothing else, so a compromised
    /// inbox cannot reset its way back to the tables' owner. Without it the
    /// inbox serves with `postgres.url` and takes the access role per
    /// connection, which keeps the rules but not that guarantee.
    #[serde(default)]
    pub database_url: Option<SecretString>,
    /// The age identities that open stored files (newest first), as the
    /// worker's: the inbox decrypts downloads on the fly.
    pub identities: SecretString,
    /// How long "take next" holds a supplement for one caseworker.
    #[serde(default = "default_lease", with = "humantime_serde")]
    pub lease: Duration,
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// 64 random bytes, base64: the key that encrypts and authenticates
    /// session cookies (`intake keygen` style secret; rotate by replacing,
    /// which signs everyone out).
    pub session_key: SecretString,
    /// How long a web session lasts; roles are read again at the next
    /// sign-in.
    #[serde(default = "default_session_ttl", with = "humantime_serde")]
    pub session_ttl: Duration,
    pub oidc: OidcConfig,
    /// Prometheus's address (`http://prometheus:9090`), read by the
    /// operations page; without it the page says it has no figures.
    #[serde(default)]
    pub prometheus_url: Option<String>,
}

/// The identity provider: the agency's Entra ID or Keycloak in
/// production, the local stack's own provider here.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// Issuer URL; discovery is read from `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// The web page's client (authorization code with PKCE).
    pub client_id: String,
    pub client_secret: SecretString,
    /// Scopes the web page asks for: the ID token's, and the API's, so the
    /// access token that comes back is one the API takes (Entra ID:
    /// `api://<app>/inbox`).
    #[serde(default = "default_scopes")]
    pub scopes: String,
    /// The audience API access tokens must be issued for.
    #[serde(default = "default_audience")]
    pub audience: String,
    /// The `typ` header of access tokens: `at+jwt` (RFC 9068; the local
    /// provider, Keycloak) or `JWT` (Entra ID).
    #[serde(default = "default_token_type")]
    pub access_token_type: String,
    /// Claim holding the app roles (Entra ID and the local provider: `roles`).
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
    /// Claim holding the units a person works in.
    #[serde(default = "default_units_claim")]
    pub units_claim: String,
    /// The longest a cached key set is trusted before it is fetched again;
    /// an unknown key id fetches it at once (rotation), at most once per
    /// `jwks_min_refresh`.
    #[serde(default = "default_jwks_max_age", with = "humantime_serde")]
    pub jwks_max_age: Duration,
    #[serde(default = "default_jwks_min_refresh", with = "humantime_serde")]
    pub jwks_min_refresh: Duration,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8790))
}

fn default_public_url() -> String {
    "http://127.0.0.1:8790".into()
}

fn default_lease() -> Duration {
    Duration::from_secs(30 * 60)
}

fn default_session_ttl() -> Duration {
    Duration::from_secs(60 * 60)
}

fn default_page_size() -> u32 {
    50
}

fn default_scopes() -> String {
    "openid profile inbox".into()
}

fn default_audience() -> String {
    "intake-inbox-api".into()
}

fn default_token_type() -> String {
    "at+jwt".into()
}

fn default_roles_claim() -> String {
    "roles".into()
}

fn default_units_claim() -> String {
    "units".into()
}

fn default_jwks_max_age() -> Duration {
    Duration::from_secs(60 * 60)
}

fn default_jwks_min_refresh() -> Duration {
    Duration::from_secs(30)
}

impl InboxConfig {
    /// Settings that parse but cannot work together.
    pub fn check(&self) -> Result<(), String> {
        if self.oidc.client_id == self.oidc.audience {
            return Err(
                "inbox.oidc.audience equals the client id: ID tokens would pass as access tokens"
                    .into(),
            );
        }
        if self.lease.is_zero() || self.lease > Duration::from_secs(4 * 60 * 60) {
            return Err("inbox.lease: more than nothing and at most 4h".into());
        }
        if !(1..=200).contains(&self.page_size) {
            return Err("inbox.page_size: between 1 and 200".into());
        }
        Ok(())
    }

    pub fn identity_secrets(&self) -> Vec<SecretString> {
        self.identities
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(SecretString::from)
            .collect()
    }
}
