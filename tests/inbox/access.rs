//! Who sees what, for every role: lists, counts, filters, detail and
//! downloads all go through the same rule, so nothing leaks through a side.

use reqwest::{Method, StatusCode};

use crate::fixture::{CLEAN_PDF, Fixture, HELSINKI, TAMPERE, ids};

#[tokio::test]
async fn the_queue_shows_a_units_supplements_in_arrival_order_and_confidential_ones_as_placeholders()
 {
    let f = Fixture::new().await;
    let (aino, mikko, lauri) = (
        f.token("aino").await,
        f.token("mikko").await,
        f.token("lauri").await,
    );

    let assigned = f.queue(&aino, "").await;
    assert_eq!(
        ids(&assigned),
        [f.first, f.secret, f.second],
        "arrival order, routed only"
    );
    assert_eq!(assigned["total"], 3);
    assert_eq!(assigned["entries"][1]["sender"], "secret@example.org");
    assert_eq!(assigned["entries"][1]["readable"], true);

    for (who, token) in [("mikko", &mikko), ("lauri (delegate)", &lauri)] {
        let page = f.queue(token, "").await;
        assert_eq!(
            ids(&page),
            [f.first, f.secret, f.second],
            "{who}: the placeholder keeps its place"
        );
        let placeholder = &page["entries"][1];
        assert_eq!(placeholder["readable"], false, "{who}");
        assert_eq!(placeholder["why_not"], "confidential", "{who}");
        assert_eq!(placeholder["assigned_to"], "aino", "{who}");
        for hidden in [
            "sender",
            "flags",
            "files",
            "application_id",
            "sequence",
            "channel",
        ] {
            assert!(
                placeholder[hidden].is_null(),
                "{who} sees {hidden}: {placeholder}"
            );
        }
        assert_eq!(page["entries"][0]["sender"], "first@example.org", "{who}");
        assert_eq!(page["entries"][0]["files"], 2, "{who}");
    }
}

#[tokio::test]
async fn counts_and_filters_never_reveal_a_confidential_supplement() {
    let f = Fixture::new().await;
    let (aino, mikko) = (f.token("aino").await, f.token("mikko").await);
    // Both the plain and the confidential supplement carry the flag.
    let flagged = f.queue(&aino, "&flag=possible_resend").await;
    assert_eq!(flagged["total"], 2);
    let flagged = f.queue(&mikko, "&flag=possible_resend").await;
    assert_eq!(
        flagged["total"], 1,
        "a filter on a hidden column must not count it"
    );
    assert_eq!(ids(&flagged), [f.first]);

    let by_channel = f.queue(&mikko, "&channel=enter_finland").await;
    assert_eq!(ids(&by_channel), [f.second]);
    let waiting = f.queue(&mikko, "&handled=false").await;
    assert_eq!(waiting["total"], 3);
    let handled = f.queue(&mikko, "&handled=true").await;
    assert_eq!(handled["total"], 0);
}

#[tokio::test]
async fn paging_walks_the_whole_queue_once() {
    let f = Fixture::new().await;
    let mikko = f.token("mikko").await;
    let mut seen = Vec::new();
    // The first page names no cursor; each next one the `next` it got.
    let mut after = String::new();
    loop {
        let page = f.queue(&mikko, &format!("&limit=1{after}")).await;
        assert_eq!(page["total"], 3, "the total is the whole queue's");
        seen.extend(ids(&page));
        match page["next"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => break,
        }
    }
    assert_eq!(seen, [f.first, f.secret, f.second]);
    let (status, _) = f
        .get(
            &format!("/queue?unit={HELSINKI}&after=not-a-cursor"),
            &mikko,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn other_units_and_other_roles_see_nothing_of_the_queue() {
    let f = Fixture::new().await;
    for user in ["elina", "tiina", "sami", "olli", "anja"] {
        let page = f.queue(&f.token(user).await, "").await;
        assert_eq!(page["total"], 0, "{user}: {page}");
        assert!(ids(&page).is_empty(), "{user}");
    }
    let elina = f.token("elina").await;
    let (status, page) = f.get(&format!("/queue?unit={TAMPERE}"), &elina).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&page), [f.tampere]);
}

#[tokio::test]
async fn opening_a_supplement_follows_the_same_rule() {
    let f = Fixture::new().await;
    let tokens = |u: &'static str| f.token(u);
    let (aino, mikko, lauri, elina, tiina, anja) = (
        tokens("aino").await,
        tokens("mikko").await,
        tokens("lauri").await,
        tokens("elina").await,
        tokens("tiina").await,
        tokens("anja").await,
    );
    let open = |id: uuid::Uuid, token: &String| {
        let path = format!("/supplements/{id}");
        let token = token.clone();
        let f = &f;
        async move { f.get(&path, &token).await }
    };

    let (status, body) = open(f.secret, &aino).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["supplement"]["sender"], "secret@example.org");
    assert_eq!(body["files"][0]["filename"], "secret-plan.pdf");

    for (who, token) in [("mikko", &mikko), ("lauri", &lauri)] {
        let (status, body) = open(f.secret, token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {body}");
        assert_eq!(body["reason"], "confidential", "{who}");
        assert_eq!(body["assigned_to"], "aino", "{who}");
        assert!(
            !body.to_string().contains("secret@example.org"),
            "{who}: {body}"
        );
        assert!(!body.to_string().contains("secret-plan"), "{who}: {body}");
    }
    for (who, token) in [("elina", &elina), ("tiina", &tiina), ("anja", &anja)] {
        let (status, _) = open(f.secret, token).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{who} must not learn it exists"
        );
        let (status, _) = open(f.first, token).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who}");
    }

    let (status, body) = open(f.first, &mikko).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["duplicates"],
        serde_json::json!([f.duplicate.to_string()])
    );
    assert_eq!(
        body["gaps"][0]["stage"], "quarantined",
        "the quarantined earlier one is a gap"
    );
    let verdicts: Vec<_> = body["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["verdict"].as_str().unwrap_or("").to_owned(),
                f["downloadable"].as_bool(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("clean".to_owned(), Some(true)),
            ("infected".to_owned(), Some(false))
        ]
    );

    let (status, body) = open(f.triage, &tiina).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the triage officer reads triage: {body}"
    );
    let (status, _) = open(f.triage, &mikko).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = open(f.tampere, &elina).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = open(f.tampere, &aino).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = open(uuid::Uuid::new_v4(), &aino).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn downloads_stream_clean_files_only_and_never_inline() {
    let f = Fixture::new().await;
    let (aino, mikko, lauri, elina) = (
        f.token("aino").await,
        f.token("mikko").await,
        f.token("lauri").await,
        f.token("elina").await,
    );
    let download = |id: uuid::Uuid, token: &String| {
        f.request(Method::GET, &format!("/files/{id}"), token)
            .send()
    };

    let response = download(f.clean_file, &mikko).await.expect("answer");
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-disposition"]
            .to_str()
            .expect("ascii")
            .starts_with("attachment; filename=\"passport.pdf\""),
        "{headers:?}"
    );
    assert_eq!(response.bytes().await.expect("body").as_ref(), CLEAN_PDF);

    let (status, body) = {
        let r = download(f.infected_file, &aino).await.expect("answer");
        (
            r.status(),
            r.json::<serde_json::Value>().await.unwrap_or_default(),
        )
    };
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a refused file is never downloadable: {body}"
    );
    assert_eq!(body["reason"], "verdict_infected");

    for token in [&mikko, &lauri] {
        // Not even that the file exists: attachment ids can be derived, and
        // a 403 here would count a confidential supplement's files.
        let r = download(f.secret_file, token).await.expect("answer");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = download(uuid::Uuid::new_v4(), token).await.expect("answer");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    let r = download(f.secret_file, &aino).await.expect("answer");
    assert_eq!(r.status(), StatusCode::OK);
    let r = download(f.clean_file, &elina).await.expect("answer");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
