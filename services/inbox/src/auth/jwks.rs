//! The identity provider's signing keys: found through discovery, cached,
//! and fetched again when a token names a key id the cache does not hold
//! (the provider rotated), at most once per `min_refresh`, so a flood of
//! forged key ids cannot turn into a flood of requests to the provider.

use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("the identity provider cannot be reached: {0}")]
    Unreachable(String),
    #[error("the identity provider's answer is not what OpenID Connect discovery promises: {0}")]
    Invalid(String),
    #[error("no signing key {0:?} at the identity provider")]
    UnknownKey(String),
}

/// What the inbox reads from `/.well-known/openid-configuration`.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub jwks_uri: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

struct Cached {
    keys: JwkSet,
    fetched_at: Instant,
}

pub struct KeyCache {
    http: reqwest::Client,
    /// As configured: what tokens' `iss` must equal exactly.
    issuer: String,
    /// Without a trailing slash, for building URLs.
    base: String,
    /// When a fetch of the keys last failed: no other is tried for
    /// `min_refresh`, so requests do not queue behind a provider that is down.
    failed_at: std::sync::Mutex<Option<Instant>>,
    max_age: Duration,
    min_refresh: Duration,
    discovery: RwLock<Option<Discovery>>,
    keys: RwLock<Option<Cached>>,
    /// One fetch at a time; others wait for its result.
    fetching: Mutex<()>,
}

impl KeyCache {
    pub fn new(
        http: reqwest::Client,
        issuer: &str,
        max_age: Duration,
        min_refresh: Duration,
    ) -> Self {
        Self {
            http,
            issuer: issuer.to_owned(),
            base: issuer.trim_end_matches('/').to_owned(),
            failed_at: std::sync::Mutex::new(None),
            max_age,
            min_refresh,
            discovery: RwLock::new(None),
            keys: RwLock::new(None),
            fetching: Mutex::new(()),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The provider's metadata, fetched once. Its issuer must be the
    /// configured one exactly (OpenID Connect Discovery 1.0, 4.3).
    pub async fn discovery(&self) -> Result<Discovery, JwksError> {
        if let Some(d) = self.discovery.read().await.as_ref() {
            return Ok(d.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", self.base);
        let d: Discovery = self.get_json(&url).await?;
        if d.issuer != self.issuer {
            return Err(JwksError::Invalid(format!(
                "discovery names issuer {:?}, configured {:?}",
                d.issuer, self.issuer
            )));
        }
        *self.discovery.write().await = Some(d.clone());
        Ok(d)
    }

    /// The key a token names; fetched again if unknown or old.
    pub async fn key(&self, kid: &str) -> Result<DecodingKey, JwksError> {
        if let Some(key) = self.cached(kid, self.max_age).await {
            return key;
        }
        let _one = self.fetching.lock().await;
        // Someone else may have fetched while this one waited.
        if let Some(key) = self.cached(kid, self.min_refresh).await {
            return key;
        }
        let recently_failed = self
            .failed_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() < self.min_refresh);
        if recently_failed {
            return Err(JwksError::Unreachable(
                "the identity provider failed moments ago; not asking again yet".into(),
            ));
        }
        let fetched = match self.discovery().await {
            Ok(d) => self.get_json::<JwkSet>(&d.jwks_uri).await,
            Err(e) => Err(e),
        };
        let keys = match fetched {
            Ok(keys) => keys,
            Err(e) => {
                *self
                    .failed_at
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
                return Err(e);
            }
        };
        *self.keys.write().await = Some(Cached {
            keys,
            fetched_at: Instant::now(),
        });
        self.cached(kid, Duration::MAX)
            .await
            .unwrap_or_else(|| Err(JwksError::UnknownKey(shown(kid))))
    }

    /// The key from a cache younger than `fresh`; within `min_refresh` of
    /// the last fetch an unknown key id is final.
    async fn cached(&self, kid: &str, fresh: Duration) -> Option<Result<DecodingKey, JwksError>> {
        let guard = self.keys.read().await;
        let cached = guard.as_ref()?;
        let age = cached.fetched_at.elapsed();
        match cached.keys.find(kid) {
            Some(jwk) if age < fresh.max(self.min_refresh) => {
                Some(DecodingKey::from_jwk(jwk).map_err(|e| JwksError::Invalid(e.to_string())))
            }
            None if age < self.min_refresh => Some(Err(JwksError::UnknownKey(shown(kid)))),
            _ => None,
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, JwksError> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| JwksError::Unreachable(format!("{url}: {e}")))?;
        if !response.status().is_success() {
            return Err(JwksError::Unreachable(format!(
                "{url}: {}",
                response.status()
            )));
        }
        response
            .json()
            .await
            .map_err(|e| JwksError::Invalid(format!("{url}: {e}")))
    }
}

/// A key id as it may appear in a log line: it comes from the token.
fn shown(kid: &str) -> String {
    kid.chars().filter(|c| !c.is_control()).take(64).collect()
}
