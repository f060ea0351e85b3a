//! API access tokens: JWTs the identity provider signed for the inbox's
//! audience (RFC 9068), verified against its published keys.

use std::collections::HashSet;
use std::sync::Arc;

use intake_core::access::{ClaimsError, Principal};
use jsonwebtoken::{Algorithm, Validation, decode, decode_header};
use serde_json::{Map, Value};

use super::jwks::{JwksError, KeyCache};

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token is signed with {0:?}, which the inbox does not accept")]
    Algorithm(Algorithm),
    #[error("the token names no key id")]
    NoKeyId,
    #[error("the token is not an access token (typ {0:?})")]
    NotAnAccessToken(String),
    #[error(transparent)]
    Keys(#[from] JwksError),
    #[error("the token is not valid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Claims(#[from] ClaimsError),
}

impl TokenError {
    /// The provider could not be asked: not the caller's fault.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            TokenError::Keys(JwksError::Unreachable(_) | JwksError::Invalid(_))
        )
    }
}

/// Asymmetric algorithms only: a token "signed" with HS256 and the public
/// key as secret, or with `none`, never verifies.
const ACCEPTED: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
];

pub struct TokenVerifier {
    keys: Arc<KeyCache>,
    audience: String,
    /// The JOSE `typ` access tokens carry: `at+jwt` (RFC 9068), or `JWT`
    /// for Entra ID; an ID token (also a JWT) is refused by this and by its
    /// audience.
    token_type: String,
    roles_claim: String,
    units_claim: String,
}

impl TokenVerifier {
    pub fn new(
        keys: Arc<KeyCache>,
        audience: &str,
        token_type: &str,
        roles_claim: &str,
        units_claim: &str,
    ) -> Self {
        Self {
            keys,
            audience: audience.to_owned(),
            token_type: token_type.to_owned(),
            roles_claim: roles_claim.to_owned(),
            units_claim: units_claim.to_owned(),
        }
    }

    pub async fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(TokenError::Algorithm(header.alg));
        }
        let typ = header.typ.clone().unwrap_or_default();
        if !typ.eq_ignore_ascii_case(&self.token_type) {
            return Err(TokenError::NotAnAccessToken(typ.chars().take(20).collect()));
        }
        let kid = header.kid.ok_or(TokenError::NoKeyId)?;
        let key = self.keys.key(&kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[self.keys.issuer()]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        validation.validate_nbf = true;
        let data = decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        principal(&data.claims, &self.roles_claim, &self.units_claim)
    }
}

/// The principal a token's claims describe. Roles and units are arrays of
/// strings; anything else in them is refused rather than guessed at.
pub fn principal(
    claims: &Map<String, Value>,
    roles_claim: &str,
    units_claim: &str,
) -> Result<Principal, TokenError> {
    let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    let name = claims.get("name").and_then(Value::as_str);
    let roles = strings(claims.get(roles_claim), roles_claim)?;
    let units = strings(claims.get(units_claim), units_claim)?;
    Ok(Principal::from_claims(sub, name, &roles, &units)?)
}

fn strings(value: Option<&Value>, claim: &str) -> Result<Vec<String>, TokenError> {
    match value {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(items)) => {
            let mut seen = HashSet::new();
            items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(TokenError::Invalid(format!("{claim} holds a non-string"))),
                })
                .filter(|s| s.as_ref().map_or(true, |s| seen.insert(s.clone())))
                .collect()
        }
        Some(_) => Err(TokenError::Invalid(format!("{claim} is not an array"))),
    }
}

#[cfg(test)]
mod tests {
    use intake_core::access::Role;
    use serde_json::json;

    use super::*;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn roles_and_units_come_from_the_configured_claims() {
        let c = claims(json!({
            "sub": "aino", "name": "Aino",
            "app_roles": ["caseworker"], "groups": ["u1", "u1"],
        }));
        let p = principal(&c, "app_roles", "groups").expect("valid");
        assert!(p.has(Role::Caseworker));
        assert_eq!(p.units().collect::<Vec<_>>(), ["u1"]);
    }

    #[test]
    fn a_roles_claim_that_is_not_an_array_of_strings_is_refused() {
        for bad in [json!("caseworker"), json!([1]), json!({"a": 1})] {
            let c = claims(json!({"sub": "x", "roles": bad}));
            assert!(matches!(
                principal(&c, "roles", "units"),
                Err(TokenError::Invalid(_))
            ));
        }
    }

    #[test]
    fn no_role_means_no_principal() {
        let c = claims(json!({"sub": "x", "units": ["u1"]}));
        assert!(matches!(
            principal(&c, "roles", "units"),
            Err(TokenError::Claims(ClaimsError::NoRole))
        ));
    }
}
