//! The API takes only tokens the identity provider signed for it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;

use crate::fixture::Fixture;

fn part(json: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

#[tokio::test]
async fn forged_and_foreign_tokens_are_refused() {
    let f = Fixture::new().await;
    let tokens = intake_tests::oidc::sign_in(&f.stack, "mikko").await;
    let (status, me) = f.get("/me", &tokens.access_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["roles"], serde_json::json!(["caseworker"]));

    let pieces: Vec<&str> = tokens.access_token.split('.').collect();
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(pieces[0]).expect("b64")).expect("json");
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(pieces[1]).expect("b64")).expect("json");
    payload["roles"] = serde_json::json!(["caseworker", "auditor"]);
    payload["units"] =
        serde_json::json!(["residence-permits-helsinki", "residence-permits-tampere"]);

    let promoted = format!("{}.{}.{}", pieces[0], part(&payload), pieces[2]);
    let unsigned = format!(
        "{}.{}.",
        part(&serde_json::json!({"alg": "none", "typ": "JWT"})),
        part(&payload)
    );
    let mut hs = header.clone();
    hs["alg"] = "HS256".into();
    let symmetric = format!("{}.{}.{}", part(&hs), part(&payload), pieces[2]);
    let mut unknown = header.clone();
    unknown["kid"] = "no-such-key".into();
    let unknown_key = format!("{}.{}.{}", part(&unknown), pieces[1], pieces[2]);

    for (what, token) in [
        ("payload changed", promoted.as_str()),
        ("alg none", &unsigned),
        ("HS256", &symmetric),
        ("unknown key id", &unknown_key),
        ("an ID token (audience is the client)", &tokens.id_token),
        ("garbage", "not.a.token"),
    ] {
        let (status, body) = f.get("/queue?unit=residence-permits-helsinki", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
    }
    let r = f
        .inbox
        .client()
        .get(format!("{}/api/v1/me", f.inbox.url))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "no token at all");
}
