//! Signing in to the web page: an OpenID Connect relying party
//! (authorization code with PKCE and a nonce, `openidconnect`). The ID
//! token says who signed in; the access token that comes with it is the
//! same kind of token the API takes, and the principal is read from it by
//! the same verifier, so the page and the API derive roles in one way.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::PrivateCookieJar;
use axum_extra::extract::cookie::Key;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tokio::sync::RwLock;

use super::forms::{CheckedForm, NoFields};
use super::session::{
    MAX_SESSION_JSON, Session, cookie, local_path, login_cookie, removal, session_cookie,
};
use crate::App;
use crate::auth::jwks::KeyCache;
use crate::config::OidcConfig;

/// The identity provider as the web page uses it.
pub struct RelyingParty {
    http: reqwest::Client,
    keys: Arc<KeyCache>,
    config: OidcConfig,
    redirect: RedirectUrl,
    /// Discovery, with the provider's keys as fetched then; fetched again
    /// after `jwks_max_age`, or at once when an ID token does not verify
    /// (the provider rotated its keys).
    metadata: RwLock<Option<(CoreProviderMetadata, std::time::Instant)>>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("the identity provider cannot be reached or answered wrongly: {0}")]
    Provider(String),
    #[error("the sign-in answer does not match a sign-in started here")]
    State,
    #[error("the identity provider refused: {0}")]
    Refused(String),
    #[error("the tokens are not valid: {0}")]
    Token(String),
}

/// What a started sign-in remembers until the provider sends the person
/// back: kept in an encrypted cookie, single use.
#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    return_to: String,
}

impl RelyingParty {
    pub fn new(
        http: reqwest::Client,
        keys: Arc<KeyCache>,
        config: OidcConfig,
        public_url: &str,
    ) -> Result<Self, LoginError> {
        let redirect = RedirectUrl::new(format!(
            "{}/auth/callback",
            public_url.trim_end_matches('/')
        ))
        .map_err(|e| LoginError::Provider(format!("public_url: {e}")))?;
        Ok(Self {
            http,
            keys,
            config,
            redirect,
            metadata: RwLock::new(None),
        })
    }

    async fn metadata(&self, fresh: bool) -> Result<CoreProviderMetadata, LoginError> {
        if let Some((m, at)) = self.metadata.read().await.as_ref()
            && !fresh
            && at.elapsed() < self.config.jwks_max_age
        {
            return Ok(m.clone());
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| LoginError::Provider(format!("issuer: {e}")))?;
        let http = self.http.clone();
        let m = CoreProviderMetadata::discover_async(issuer, &move |req| send(http.clone(), req))
            .await
            .map_err(|e| LoginError::Provider(e.to_string()))?;
        *self.metadata.write().await = Some((m.clone(), std::time::Instant::now()));
        Ok(m)
    }

    fn client(
        &self,
        metadata: CoreProviderMetadata,
    ) -> openidconnect::core::CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    > {
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(
                self.config.client_secret.expose_secret().to_owned(),
            )),
        )
        .set_redirect_uri(self.redirect.clone())
    }

    /// RP-initiated logout, when the provider offers it.
    pub async fn end_session_url(&self) -> Option<String> {
        self.keys.discovery().await.ok()?.end_session_endpoint
    }
}

/// oauth2's HTTP client over the workspace's reqwest: no redirects
/// followed (a provider cannot bounce the inbox elsewhere), answers capped.
async fn send(
    http: reqwest::Client,
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    const MAX_ANSWER: usize = 1 << 20;
    let (parts, body) = req.into_parts();
    let response = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| HttpError(e.to_string()))?;
    let mut builder = axum::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| HttpError(e.to_string()))?
    {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(HttpError(
                "the identity provider's answer is too large".into(),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    builder.body(body).map_err(|e| HttpError(e.to_string()))
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

#[derive(Deserialize)]
pub struct LoginParams {
    return_to: Option<String>,
}

/// Starts a sign-in: PKCE verifier, state and nonce remembered in an
/// encrypted cookie, the browser sent to the provider.
pub async fn start(
    State(app): State<App>,
    jar: PrivateCookieJar<Key>,
    Query(params): Query<LoginParams>,
) -> Response {
    let rp = &app.web.rp;
    let metadata = match rp.metadata(false).await {
        Ok(m) => m,
        Err(e) => return unavailable(&e),
    };
    let client = rp.client(metadata);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in rp
        .config
        .scopes
        .split_whitespace()
        .filter(|s| *s != "openid")
    {
        request = request.add_scope(Scope::new(scope.to_owned()));
    }
    let (url, state, nonce) = request.url();
    let pending = Pending {
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        return_to: local_path(params.return_to.as_deref().unwrap_or("/")),
    };
    let value = serde_json::to_string(&pending).unwrap_or_default();
    let secure = app.web.secure_cookies;
    let jar = jar.add(cookie(login_cookie(secure), value, secure));
    (jar, Redirect::to(url.as_str())).into_response()
}

#[derive(Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The provider sent the person back: check it answers the sign-in started
/// here, redeem the code, verify both tokens, start the session.
pub async fn callback(
    State(app): State<App>,
    jar: PrivateCookieJar<Key>,
    Query(params): Query<CallbackParams>,
) -> Response {
    let secure = app.web.secure_cookies;
    let pending: Option<Pending> = jar
        .get(login_cookie(secure))
        .and_then(|c| serde_json::from_str(c.value()).ok());
    let jar = jar.remove(removal(login_cookie(secure)));
    match finish(&app, pending, params).await {
        Ok((session, return_to)) => {
            let value = serde_json::to_string(&session).unwrap_or_default();
            if value.len() > MAX_SESSION_JSON {
                let e =
                    LoginError::Token("the token names more units than a session can hold".into());
                tracing::warn!(error = %e, "sign-in refused");
                return (
                    jar,
                    (
                        StatusCode::BAD_REQUEST,
                        super::pages::plain_error("Sign-in failed", &e.to_string()),
                    ),
                )
                    .into_response();
            }
            tracing::info!("signed in");
            let jar = jar.add(cookie(session_cookie(secure), value, secure));
            (jar, Redirect::to(&return_to)).into_response()
        }
        Err(e @ LoginError::Provider(_)) => (jar, unavailable(&e)).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "sign-in refused");
            (
                jar,
                (
                    StatusCode::BAD_REQUEST,
                    super::pages::plain_error("Sign-in failed", &e.to_string()),
                ),
            )
                .into_response()
        }
    }
}

async fn finish(
    app: &App,
    pending: Option<Pending>,
    params: CallbackParams,
) -> Result<(Session, String), LoginError> {
    let pending = pending.ok_or(LoginError::State)?;
    let state = params.state.unwrap_or_default();
    if !bool::from(state.as_bytes().ct_eq(pending.state.as_bytes())) {
        return Err(LoginError::State);
    }
    if let Some(error) = params.error {
        return Err(LoginError::Refused(format!(
            "{error}: {}",
            params.error_description.unwrap_or_default()
        )));
    }
    let code = params
        .code
        .ok_or_else(|| LoginError::Refused("no code".into()))?;
    let rp = &app.web.rp;
    let client = rp.client(rp.metadata(false).await?);
    let http = rp.http.clone();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| LoginError::Provider(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
        .request_async(&move |req| send(http.clone(), req))
        .await
        .map_err(|e| LoginError::Token(e.to_string()))?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| LoginError::Token("no ID token".into()))?;
    let nonce = Nonce::new(pending.nonce);
    let subject = match id_token.claims(&client.id_token_verifier(), &nonce) {
        Ok(claims) => claims.subject().as_str().to_owned(),
        Err(first) => {
            // Perhaps signed with a key newer than the cached discovery.
            let client = rp.client(rp.metadata(true).await?);
            id_token
                .claims(&client.id_token_verifier(), &nonce)
                .map_err(|_| LoginError::Token(first.to_string()))?
                .subject()
                .as_str()
                .to_owned()
        }
    };
    let principal = app
        .tokens
        .verify(tokens.access_token().secret())
        .await
        .map_err(|e| LoginError::Token(format!("access token: {e}")))?;
    if principal.sub() != subject {
        return Err(LoginError::Token(
            "the access token is for someone else than the ID token".into(),
        ));
    }
    Ok((
        Session::new(principal, app.web.session_ttl),
        pending.return_to,
    ))
}

fn unavailable(e: &LoginError) -> Response {
    tracing::error!(error = %e, "sign-in unavailable");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        super::pages::plain_error(
            "Sign-in is unavailable",
            "The identity provider does not answer. Try again in a moment.",
        ),
    )
        .into_response()
}

/// Signs out here and at the provider. A form post with the session's
/// CSRF token (`CheckedForm`), so no other site can sign anyone out.
pub async fn logout(
    State(app): State<App>,
    jar: PrivateCookieJar<Key>,
    _form: CheckedForm<NoFields>,
) -> Response {
    let jar = jar.remove(removal(session_cookie(app.web.secure_cookies)));
    let back = format!("{}/", app.config.public_url.trim_end_matches('/'));
    let target = match app.web.rp.end_session_url().await {
        Some(end) => format!(
            "{end}?client_id={}&post_logout_redirect_uri={}",
            super::session::urlencoding(&app.config.oidc.client_id),
            super::session::urlencoding(&back)
        ),
        None => "/".to_owned(),
    };
    (jar, Redirect::to(&target)).into_response()
}
