//! "Take next" leases the oldest supplement one may handle, one
//! application at a time, and never the same one to two people.

use reqwest::{Method, StatusCode};

use crate::fixture::{Fixture, HELSINKI};

#[tokio::test]
async fn take_next_follows_arrival_order_and_holds_an_application_for_one_person() {
    let f = Fixture::new().await;
    let (aino, mikko, lauri) = (
        f.token("aino").await,
        f.token("mikko").await,
        f.token("lauri").await,
    );

    assert_eq!(f.take_next(&mikko).await, Some(f.first), "the oldest");
    assert_eq!(
        f.take_next(&mikko).await,
        Some(f.first),
        "asking again gives back what one holds"
    );
    // The second of the same application waits for the first; the
    // confidential one is only aino's.
    assert_eq!(f.take_next(&lauri).await, None);
    assert_eq!(f.take_next(&aino).await, Some(f.secret));

    let handled = |id: uuid::Uuid, token: &String| {
        f.request(Method::POST, &format!("/supplements/{id}/handled"), token)
            .send()
    };
    let r = handled(f.first, &lauri).await.expect("answer");
    assert_eq!(r.status(), StatusCode::CONFLICT, "held by mikko");
    let r = handled(f.first, &mikko).await.expect("answer");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = handled(f.first, &mikko).await.expect("answer");
    assert_eq!(r.status(), StatusCode::CONFLICT, "handled once");
    let r = handled(f.secret, &lauri).await.expect("answer");
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "a delegate may not handle a confidential one"
    );

    assert_eq!(
        f.take_next(&lauri).await,
        Some(f.second),
        "the application's next, now free"
    );
    let page = f.queue(&mikko, "&handled=true").await;
    assert_eq!(page["entries"][0]["handled_by"], "mikko");
    let r = f
        .request(Method::POST, "/queue/take-next", &f.token("elina").await)
        .json(&serde_json::json!({ "unit": HELSINKI }))
        .send()
        .await
        .expect("answer");
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "not a member of the unit"
    );
}

#[tokio::test]
async fn concurrent_takes_never_give_one_supplement_to_two_people() {
    let f = Fixture::new().await;
    // Twenty more applications with one supplement each.
    let mut expected = std::collections::BTreeSet::new();
    for n in 0..20 {
        let app = format!("MIG-2026-2000{n:02}-1");
        f.inbox
            .application(&app, HELSINKI, false, Some("mikko"))
            .await;
        let id = f
            .inbox
            .supplement(intake_tests::inbox::SupplementSeed {
                application_id: Some(&app),
                arrived_at: chrono::Utc::now() - chrono::Duration::seconds(100 - n),
                ..Default::default()
            })
            .await;
        expected.insert(id);
    }
    expected.insert(f.first);
    let (mikko, lauri) = (f.token("mikko").await, f.token("lauri").await);
    let mut taken = Vec::new();
    // Each round both take at once, then hand theirs in; every supplement
    // is taken exactly once over the rounds.
    for _ in 0..12 {
        let (a, b) = tokio::join!(f.take_next(&mikko), f.take_next(&lauri));
        if let (Some(a), Some(b)) = (a, b) {
            assert_ne!(a, b, "two people got the same supplement");
        }
        for (id, token) in [(a, &mikko), (b, &lauri)] {
            if let Some(id) = id {
                taken.push(id);
                let r = f
                    .request(Method::POST, &format!("/supplements/{id}/handled"), token)
                    .send()
                    .await
                    .expect("answer");
                assert_eq!(r.status(), StatusCode::NO_CONTENT);
            }
        }
    }
    let unique: std::collections::BTreeSet<_> = taken.iter().copied().collect();
    assert_eq!(unique.len(), taken.len(), "taken twice: {taken:?}");
    assert!(unique.is_subset(&expected.iter().copied().chain([f.second]).collect()));
    assert!(
        taken.len() >= 21,
        "all were worked through: {}",
        taken.len()
    );
}
