//! intake-inbox: the caseworkers' queue over PostgreSQL and S3.

use std::sync::Arc;

use anyhow::Context;
use axum_extra::extract::cookie::Key;
use base64::prelude::*;
use intake_adapters::clamav::{ClamavConfig, Scanner};
use intake_adapters::local_secrets::refuse_committed;
use intake_adapters::ops::{HttpMetrics, probes};
use intake_adapters::s3::{ObjectStore, S3Config};
use intake_adapters::sealing::KeyRing;
use intake_adapters::{pg, telemetry};
use intake_inbox::{
    App, InboxConfig, Inner, KeyCache, RelyingParty, Store, TokenVerifier, WebSettings,
};
use secrecy::ExposeSecret;

#[derive(Debug, serde::Deserialize)]
struct Config {
    inbox: InboxConfig,
    s3: S3Config,
    /// clamd, for the second scan before a quarantined file is released.
    clamav: ClamavConfig,
    postgres: pg::PostgresConfig,
    #[serde(default)]
    telemetry: telemetry::TelemetryConfig,
    #[serde(default)]
    ops: intake_adapters::ops::OpsConfig,
    /// Only the topic prefix is read: attached supplements are announced
    /// on the worker's routed topic through the outbox.
    #[serde(default)]
    kafka: KafkaNames,
    /// Runs the local stack, whose committed secrets it may then use.
    #[serde(default)]
    local_stack: bool,
}

/// `INTAKE_KAFKA__TOPIC_PREFIX`, as every service reads it; the rest of
/// the Kafka settings are not the inbox's business.
#[derive(Debug, Default, serde::Deserialize)]
struct KafkaNames {
    #[serde(default)]
    topic_prefix: String,
}

/// The local stack's port for the inbox's `/metrics` and `/health`.
const OPS_PORT: u16 = 9463;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config: Config = intake_adapters::config::load().context("failed to load configuration")?;
    let telemetry = telemetry::init("intake-inbox", &config.telemetry)?;
    config
        .inbox
        .check()
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    let identities = config.inbox.identity_secrets();
    let s3_secret = config
        .s3
        .secret_access_key
        .as_ref()
        .map(|s| s.expose_secret().as_bytes());
    refuse_committed(
        config.local_stack,
        identities
            .iter()
            .map(|i| ("inbox.identities", i.expose_secret().as_bytes()))
            .chain([
                (
                    "inbox.oidc.client_secret",
                    config.inbox.oidc.client_secret.expose_secret().as_bytes(),
                ),
                (
                    "inbox.session_key",
                    config.inbox.session_key.expose_secret().as_bytes(),
                ),
            ])
            .chain(s3_secret.map(|s| ("s3.secret_access_key", s))),
    )?;
    let keys = KeyRing::parse(&identities).context("invalid inbox.identities")?;
    let cookie_key = BASE64_STANDARD
        .decode(config.inbox.session_key.expose_secret().trim())
        .ok()
        .and_then(|bytes| Key::try_from(bytes.as_slice()).ok())
        .context("inbox.session_key must be at least 64 random bytes in base64")?;
    let (http_metrics, health) =
        intake_adapters::ops::start(&config.ops, OPS_PORT, HttpMetrics::new).await?;
    // Migrations as the owner; then every connection serves as the access role.
    pg::connect_and_migrate(&config.postgres)
        .await
        .context("failed to prepare PostgreSQL")?
        .close()
        .await;
    if config.inbox.database_url.is_none() {
        tracing::warn!(
            "inbox.database_url is not set: serving with the owner's login, which can reset \
             its way out of the access role; give the inbox its own login role"
        );
    }
    let store = Store::connect(&config.postgres, config.inbox.database_url.as_ref())
        .await
        .context("cannot connect to PostgreSQL as the inbox's access role")?;
    let pinged = store.clone();
    health.probe("postgres", probes::EVERY, move || {
        let store = pinged.clone();
        async move { store.ping().await }
    });
    let scanner = Scanner::new(&config.clamav);
    // Only a release needs clamd; the queue works without it.
    let pinged_scanner = scanner.clone();
    health.probe_optional("clamd", probes::EVERY, move || {
        let scanner = pinged_scanner.clone();
        async move { scanner.ping().await }
    });
    let objects = ObjectStore::connect(&config.s3)
        .await
        .context("failed to configure S3")?;
    let oidc = &config.inbox.oidc;
    // Never follows a redirect: the provider's endpoints are called as
    // discovery names them, nowhere else.
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot build the HTTP client")?;
    let prometheus = config
        .inbox
        .prometheus_url
        .as_deref()
        .map(|url| intake_inbox::Prometheus::new(http.clone(), url));
    let key_cache = Arc::new(KeyCache::new(
        http.clone(),
        &oidc.issuer,
        oidc.jwks_max_age,
        oidc.jwks_min_refresh,
    ));
    let tokens = TokenVerifier::new(
        key_cache.clone(),
        &oidc.audience,
        &oidc.access_token_type,
        &oidc.roles_claim,
        &oidc.units_claim,
    );
    let rp = RelyingParty::new(http, key_cache, oidc.clone(), &config.inbox.public_url)
        .context("invalid inbox.public_url")?;
    let public = config.inbox.public_url.trim_end_matches('/');
    let web = WebSettings {
        cookie_key,
        rp,
        secure_cookies: !intake_inbox::is_loopback_http(public),
        origin: intake_inbox::origin_of(public),
        session_ttl: config.inbox.session_ttl,
    };
    let listener = tokio::net::TcpListener::bind(config.inbox.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.inbox.listen))?;
    let app = App::new(Inner {
        config: config.inbox,
        store,
        objects,
        keys: Arc::new(keys),
        tokens,
        web,
        topics: intake_core::topics::TopicNames::new(config.kafka.topic_prefix),
        scanner,
        http_metrics,
        prometheus,
    });
    health.started();
    tracing::info!(address = %listener.local_addr()?, "ready");
    intake_inbox::serve(listener, app, intake_adapters::shutdown::signal())
        .await
        .context("serving failed")?;
    tracing::info!("shutting down");
    telemetry.shutdown();
    Ok(())
}
