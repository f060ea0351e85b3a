//! Tokens from the local stack's real identity provider, for a named user:
//! the authorization code flow with PKCE driven over HTTP as a browser
//! would (its login form, its redirects, its cookies), then the code
//! redeemed at the token endpoint.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::Stack;

pub const TEST_CLIENT: &str = "intake-tests";
pub const TEST_CLIENT_SECRET: &str = "local-tests-client-secret";
pub const TEST_REDIRECT: &str = "http://127.0.0.1:8791/callback";

pub struct Tokens {
    pub access_token: String,
    pub id_token: String,
}

pub async fn sign_in(stack: &Stack, user: &str) -> Tokens {
    let password = stack.get("STACK_OIDC_PASSWORD");
    sign_in_with(stack, user, &password)
        .await
        .unwrap_or_else(|e| panic!("sign in as {user}: {e}"))
}

/// The access token for `user`, or why the provider would not give one.
pub async fn sign_in_with(stack: &Stack, user: &str, password: &str) -> Result<Tokens, String> {
    let issuer = stack.get("INTAKE_INBOX__OIDC__ISSUER");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let mut jar = Jar::default();
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let state = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
    let start = reqwest::Url::parse_with_params(
        &format!("{issuer}/auth"),
        [
            ("client_id", TEST_CLIENT),
            ("response_type", "code"),
            ("scope", "openid profile inbox"),
            ("redirect_uri", TEST_REDIRECT),
            ("state", &state),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .map_err(|e| e.to_string())?;
    let mut location = jar.get(&http, start.as_str(), &issuer).await?;
    if !location.contains("/interaction/") {
        return Err(format!("no login form: {location}"));
    }
    let response = http
        .post(&location)
        .header("cookie", jar.header())
        .form(&[("username", user), ("password", password)])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    jar.take(&response);
    location = redirect(&response, &issuer)
        .ok_or_else(|| format!("login refused ({})", response.status()))?;
    for _ in 0..8 {
        if location.starts_with(TEST_REDIRECT) {
            break;
        }
        location = jar.get(&http, &location, &issuer).await?;
    }
    let back = reqwest::Url::parse(&location).map_err(|e| e.to_string())?;
    let params: HashMap<_, _> = back.query_pairs().into_owned().collect();
    if let Some(error) = params.get("error") {
        return Err(format!("authorization error {error}"));
    }
    if params.get("state") != Some(&state) {
        return Err("state mismatch".into());
    }
    let code = params.get("code").ok_or("no code")?;
    let answer: serde_json::Value = http
        .post(format!("{issuer}/token"))
        .basic_auth(TEST_CLIENT, Some(TEST_CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", TEST_REDIRECT),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let field = |name: &str| {
        answer[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no {name} in {answer}"))
    };
    Ok(Tokens {
        access_token: field("access_token")?,
        id_token: field("id_token")?,
    })
}

fn redirect(response: &reqwest::Response, issuer: &str) -> Option<String> {
    let location = response.headers().get("location")?.to_str().ok()?;
    Some(if location.starts_with('/') {
        format!("{issuer}{location}")
    } else {
        location.to_owned()
    })
}

/// The provider's cookies, sent back on every request (enough for one
/// host on loopback).
#[derive(Default)]
struct Jar(HashMap<String, String>);

impl Jar {
    fn take(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            if let Some((pair, _)) = value.to_str().unwrap_or("").split_once(';')
                && let Some((name, value)) = pair.split_once('=')
            {
                self.0
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(
        &mut self,
        http: &reqwest::Client,
        url: &str,
        issuer: &str,
    ) -> Result<String, String> {
        let response = http
            .get(url)
            .header("cookie", self.header())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        self.take(&response);
        redirect(&response, issuer)
            .ok_or_else(|| format!("{url} answered {} without a redirect", response.status()))
    }
}
