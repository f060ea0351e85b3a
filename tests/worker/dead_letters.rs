//! Dead letters on record (`intake_adapters::pg::dead_letters`) on a
//! database of their own: a record parked twice is one letter with two
//! attempts, a replayed copy comes back to its letter and is quarantined
//! once its replays are spent, a stale or repeated copy changes nothing,
//! and neither text PostgreSQL would refuse nor a letter it refuses can
//! hold a partition up.

use std::time::Duration;

use intake_adapters::pg::MIGRATOR;
use intake_adapters::pg::dead_letters::{self, Filed, Filter, Origin, Parked};
use intake_adapters::pg::replays::{self, Operator};
use intake_adapters::retry::Backoff;
use intake_core::dead_letter::{MAX_ERROR_BYTES, MAX_REPLAYS, REPLAY_HEADER, ReplayTag, State};
use sqlx::PgPool;
use uuid::Uuid;

fn letter<'a>(offset: i64, error: &'a str, headers: &'a [(&'a str, &'a [u8])]) -> Parked<'a> {
    Parked {
        service: "worker",
        reason: "failed",
        error,
        origin: Origin {
            topic: "in",
            partition: 2,
            offset,
        },
        supplement_id: Some(Uuid::from_u128(9)),
        key: Some(b"2026-000077"),
        headers,
        payload: b"{\"secret\":\"applicant data\"}",
    }
}

async fn row(pool: &PgPool, id: Uuid) -> (String, i32, i32, String) {
    sqlx::query_as("select state, attempts, replays, error from dead_letters where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("letter")
}

const OPERATOR: Operator<'static> = Operator {
    name: "olli",
    why: "the bug is fixed",
};

/// What a replay does to a letter before its copy goes out.
async fn start_replay(pool: &PgPool, id: Uuid) -> ReplayTag {
    replays::begin(pool, id, OPERATOR)
        .await
        .expect("begun")
        .expect("the letter is open with a replay left")
        .tag()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_record_parked_twice_is_one_letter_with_two_attempts(pool: PgPool) {
    let headers = [("traceparent", b"00-1-2-01".as_slice())];
    let first = dead_letters::park(&pool, &letter(5, "first", &headers))
        .await
        .expect("parked");
    let again = dead_letters::park(&pool, &letter(5, "second", &headers))
        .await
        .expect("parked again");
    assert!(matches!(first, Filed::Parked(_)), "{first:?}");
    assert_eq!(first, again, "the origin names the letter");
    let first = first.id();
    assert_eq!(
        row(&pool, first).await,
        ("open".into(), 2, 0, "second".into()),
        "the last failure's message is kept"
    );
    let other = dead_letters::park(&pool, &letter(6, "other", &headers))
        .await
        .expect("parked")
        .id();
    assert_ne!(other, first);

    let (payload, names): (Vec<u8>, Vec<String>) =
        sqlx::query_as("select payload, header_names from dead_letters where id = $1")
            .bind(first)
            .fetch_one(&pool)
            .await
            .expect("stored");
    assert_eq!(
        payload, b"{\"secret\":\"applicant data\"}",
        "kept for a replay"
    );
    assert_eq!(names, ["traceparent"]);

    let listed = dead_letters::list(
        &pool,
        &Filter {
            limit: 10,
            ..Filter::default()
        },
    )
    .await
    .expect("listed");
    assert_eq!(
        listed.iter().map(|l| l.id).collect::<Vec<_>>(),
        [first, other],
        "oldest failure first"
    );
    let page = dead_letters::list(
        &pool,
        &Filter {
            after: Some(first),
            limit: 10,
            ..Filter::default()
        },
    )
    .await
    .expect("next page");
    assert_eq!(page.iter().map(|l| l.id).collect::<Vec<_>>(), [other]);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_replayed_copy_that_fails_comes_back_to_its_letter_until_quarantined(pool: PgPool) {
    let id = dead_letters::park(&pool, &letter(5, "first", &[]))
        .await
        .expect("parked")
        .id();
    for replay in 1..=MAX_REPLAYS {
        let tag = start_replay(&pool, id).await;
        assert_eq!(tag.replay, replay);
        let value = tag.header_value();
        let headers = [(REPLAY_HEADER, value.as_bytes())];
        // The copy failed at another offset of the origin topic.
        let back = dead_letters::park(&pool, &letter(100 + i64::from(replay), "again", &headers))
            .await
            .expect("parked");
        assert_eq!(
            back,
            Filed::Returned(id),
            "no new letter for a replayed copy"
        );
        let expected = if replay == MAX_REPLAYS {
            State::Quarantined
        } else {
            State::Open
        };
        let (state, attempts, replays, _) = row(&pool, id).await;
        assert_eq!(state, expected.as_str(), "after replay {replay}");
        assert_eq!((attempts, replays), (1 + replay as i32, replay as i32));

        // The same copy delivered again (Kafka is at-least-once) changes
        // nothing: the letter no longer waits for that replay.
        let repeated =
            dead_letters::park(&pool, &letter(100 + i64::from(replay), "again", &headers))
                .await
                .expect("parked");
        assert_eq!(repeated, Filed::Stale(id));
        assert_eq!(row(&pool, id).await.1, attempts, "not counted twice");
    }
    assert!(
        replays::begin(&pool, id, OPERATOR)
            .await
            .expect("asked")
            .is_none(),
        "a quarantined letter is not replayed again"
    );
    let audited: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "select actor, detail from audit_log where action = 'dlq.replay' order by id",
    )
    .fetch_all(&pool)
    .await
    .expect("audit");
    assert_eq!(audited.len(), MAX_REPLAYS as usize, "each replay audited");
    assert_eq!(audited[0].0, "operator:olli");
    assert_eq!(audited[2].1["replay"], 3);
    assert_eq!(audited[2].1["why"], "the bug is fixed");
    let count: i64 = sqlx::query_scalar("select count(*) from dead_letters")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(count, 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_tag_naming_no_letter_is_parked_as_a_record_of_its_own(pool: PgPool) {
    let stray = ReplayTag {
        dead_letter: Uuid::from_u128(1),
        replay: 1,
    }
    .header_value();
    let headers = [(REPLAY_HEADER, stray.as_bytes())];
    let id = dead_letters::park(&pool, &letter(7, "failed", &headers))
        .await
        .expect("parked")
        .id();
    assert_ne!(id, Uuid::from_u128(1));
    assert_eq!(row(&pool, id).await.0, "open");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_error_with_nul_or_of_any_length_is_put_on_record(pool: PgPool) {
    let error = format!("bad byte \0 in {}", "x".repeat(100_000));
    let headers = [("odd\0name", b"v".as_slice())];
    let id = dead_letters::park(&pool, &letter(8, &error, &headers))
        .await
        .expect("PostgreSQL takes it")
        .id();
    let (_, _, _, stored) = row(&pool, id).await;
    assert!(
        stored.starts_with("bad byte \u{fffd} in x"),
        "{}",
        &stored[..20]
    );
    assert!(stored.len() <= MAX_ERROR_BYTES);
    let shown = dead_letters::show(&pool, id)
        .await
        .expect("shown")
        .expect("found");
    assert_eq!(shown.header_names, ["odd\u{fffd}name"]);
    assert_eq!(shown.payload_bytes, 27, "only its size is shown");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn another_record_at_the_same_place_is_a_letter_of_its_own(pool: PgPool) {
    // After a topic is recreated its offsets start again.
    let first = dead_letters::park(&pool, &letter(5, "first", &[]))
        .await
        .expect("parked")
        .id();
    let other = Parked {
        payload: b"another record",
        ..letter(5, "second", &[])
    };
    let second = dead_letters::park(&pool, &other).await.expect("parked");
    assert_ne!(first, second.id());
    assert_eq!(
        row(&pool, first).await.1,
        1,
        "the first is not counted again"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_tag_is_trusted_only_on_its_letters_own_topic(pool: PgPool) {
    let id = dead_letters::park(&pool, &letter(5, "first", &[]))
        .await
        .expect("parked")
        .id();
    let tag = start_replay(&pool, id).await.header_value();
    let headers = [(REPLAY_HEADER, tag.as_bytes())];
    let elsewhere = Parked {
        origin: Origin {
            topic: "another-topic",
            partition: 0,
            offset: 1,
        },
        ..letter(1, "elsewhere", &headers)
    };
    let own = dead_letters::park(&pool, &elsewhere).await.expect("parked");
    assert!(
        matches!(own, Filed::Parked(o) if o != id),
        "a letter of its own: {own:?}"
    );
    assert!(
        !replays::take(
            &pool,
            ReplayTag::parse(tag.as_bytes()).expect("tag"),
            "another-topic"
        )
        .await
        .expect("asked"),
        "nor is a copy read elsewhere taken"
    );
    assert_eq!(
        row(&pool, id).await.0,
        "replaying",
        "the letter still waits for its copy"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_letter_the_database_refuses_is_kept_without_its_record(pool: PgPool) {
    // A rule of the database's own that refuses any record kept whole.
    sqlx::raw_sql(
        "create function refuse_payloads() returns trigger language plpgsql as $$
         begin
             if octet_length(new.payload) > 0 then
                 raise exception 'payload refused' using errcode = '22023';
             end if;
             return new;
         end $$;
         create trigger refuse_payloads before insert on dead_letters
             for each row execute function refuse_payloads();",
    )
    .execute(&pool)
    .await
    .expect("trigger");
    let quick = Backoff::new(Duration::from_millis(1), Duration::from_millis(5));
    tokio::time::timeout(
        Duration::from_secs(30),
        dead_letters::park_durably(&pool, &letter(5, "the failure", &[]), quick),
    )
    .await
    .expect("does not retry a refusal for ever");
    let (error, payload_bytes, names): (String, i32, Vec<String>) =
        sqlx::query_as("select error, octet_length(payload), header_names from dead_letters")
            .fetch_one(&pool)
            .await
            .expect("a letter without its record");
    assert!(
        error.starts_with("the failure (the record itself could not be kept"),
        "{error}"
    );
    assert_eq!((payload_bytes, names.len()), (0, 0));

    // Refused even stripped: logged, and the caller goes on.
    sqlx::raw_sql(
        "drop trigger refuse_payloads on dead_letters;
         create function refuse_everything() returns trigger language plpgsql as $$
         begin raise exception 'refused' using errcode = '22023'; end $$;
         create trigger refuse_all before insert on dead_letters
             for each row execute function refuse_everything();",
    )
    .execute(&pool)
    .await
    .expect("trigger");
    tokio::time::timeout(
        Duration::from_secs(30),
        dead_letters::park_durably(&pool, &letter(6, "again", &[]), quick),
    )
    .await
    .expect("gives up instead of holding its partition");
}
