//! `intake dlq replay` on the real stack. A fault (PostgreSQL refusing
//! routed supplements) leaves three supplements unprocessable and their
//! records as dead letters. After the fix, one replay run resumes two
//! replays an earlier run left half done (one begun and never sent, one
//! sent but not marked sent, so its copy arrives twice); the copies are
//! recorded once each, in their original arrival order, in place of the
//! unprocessable outcome. A letter whose record still fails comes back
//! open after each replay and is quarantined once its replays are spent.

use std::time::{Duration, Instant};

use intake_adapters::kafka::EventProducer;
use intake_adapters::pg::replays::{self, Operator};
use intake_core::dead_letter::MAX_REPLAYS;
use intake_generator::population::Population;
use intake_tests::Stack;
use intake_tests::process::{intake_command, succeeds};
use intake_tests::worker::TestWorker;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{gateway, publish_registry, submit, wait_until_done};

/// Refuses a routed supplement (all of them, or only `only`) the way
/// PostgreSQL refuses a value it cannot take: for good, not for now.
async fn refuse_routed(pool: &PgPool, name: &str, only: Option<Uuid>) {
    let only = only.map_or("true".to_owned(), |id| {
        format!("new.supplement_id = '{id}'")
    });
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "create function {name}() returns trigger language plpgsql as $$
         begin
             if new.outcome = 'routed' and {only} then
                 raise exception 'routed refused by {name}' using errcode = '22023';
             end if;
             return new;
         end $$;
         create trigger {name} before insert or update on supplements
             for each row execute function {name}();"
    )))
    .execute(pool)
    .await
    .expect("trigger");
}

async fn letter_of(pool: &PgPool, supplement: Uuid) -> Uuid {
    sqlx::query_scalar("select id from dead_letters where supplement_id = $1")
        .bind(supplement)
        .fetch_one(pool)
        .await
        .expect("a letter")
}

async fn letter_state(pool: &PgPool, letter: Uuid) -> (String, i32) {
    sqlx::query_as("select state, replays from dead_letters where id = $1")
        .bind(letter)
        .fetch_one(pool)
        .await
        .expect("letter")
}

/// Waits until `letter` has left `replaying`.
async fn settled(pool: &PgPool, letter: Uuid, worker: &TestWorker) -> (String, i32) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let state = letter_state(pool, letter).await;
        if state.0 != "replaying" {
            return state;
        }
        assert!(
            Instant::now() < deadline,
            "letter {letter} still replaying; worker log:\n{}",
            worker.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_resume_after_an_interruption_and_record_each_copy_once_in_arrival_order() {
    let stack = Stack::new();
    let gateway = gateway(&stack).await;
    let population = Population::generate(8, 5);
    publish_registry(&gateway, &population).await;
    let pool = &gateway.db.pool;
    refuse_routed(pool, "the_fault", None).await;
    let worker = TestWorker::start(&stack, &gateway, None).await;

    let a = &population.applications[0];
    let b = &population.applications[1];
    let (a_id, a_customer) = (a.application_id.to_string(), a.customer_number.as_str());
    // Different files: the same text and files would be a duplicate.
    let first = submit(&gateway, &a_id, a_customer, &[("a.txt", b"first".to_vec())]).await;
    let second = submit(
        &gateway,
        &a_id,
        a_customer,
        &[("b.txt", b"second".to_vec())],
    )
    .await;
    let stubborn = submit(
        &gateway,
        &b.application_id.to_string(),
        b.customer_number.as_str(),
        &[],
    )
    .await;
    wait_until_done(pool, 3, &worker, Duration::from_secs(120)).await;
    let outcomes: Vec<String> = sqlx::query_scalar("select outcome from supplements")
        .fetch_all(pool)
        .await
        .expect("outcomes");
    assert_eq!(outcomes, ["unprocessable"; 3]);

    // The fix, except for one supplement that keeps failing.
    sqlx::raw_sql("drop trigger the_fault on supplements")
        .execute(pool)
        .await
        .expect("fixed");
    refuse_routed(pool, "still_broken", Some(stubborn)).await;

    // An earlier run stopped half way: the first letter's replay begun and
    // never sent, the second's sent but not marked sent.
    let earlier = Operator {
        name: "olli",
        why: "refusal fixed",
    };
    let (first_letter, second_letter, stubborn_letter) = (
        letter_of(pool, first).await,
        letter_of(pool, second).await,
        letter_of(pool, stubborn).await,
    );
    // Begun in arrival order, but the second's copy goes out first: the
    // replayed first must still be numbered first.
    replays::begin(pool, first_letter, earlier)
        .await
        .expect("begun")
        .expect("open");
    let sent = replays::begin(pool, second_letter, earlier)
        .await
        .expect("begun")
        .expect("open");
    let tag = sent.tag().header_value();
    EventProducer::new(&gateway.kafka)
        .expect("producer")
        .send_bytes(
            &sent.origin_topic,
            sent.record_key.as_deref(),
            &sent.headers(&tag),
            &sent.payload,
        )
        .await
        .expect("sent");

    let replay = |args: &[&str]| {
        let mut command = intake_command(&stack, &gateway.db);
        command
            .env("INTAKE_KAFKA__BROKERS", stack.get("INTAKE_KAFKA__BROKERS"))
            .env("INTAKE_KAFKA__TOPIC_PREFIX", &gateway.kafka.topic_prefix)
            .args(["dlq", "replay"])
            .args(args);
        succeeds(command)
    };
    let planned = replay(&["--dry-run"]).await;
    assert!(
        planned.contains("2 interrupted replays would be sent again"),
        "{planned}"
    );
    assert!(planned.contains("1 would be replayed"), "{planned}");
    assert_eq!(
        letter_state(pool, stubborn_letter).await,
        ("open".into(), 0),
        "a dry run changes nothing"
    );

    let done = replay(&["--operator", "olli", "--why", "refusal fixed"]).await;
    assert!(done.contains("replayed 1, resumed 2"), "{done}");
    for letter in [first_letter, second_letter] {
        assert_eq!(settled(pool, letter, &worker).await, ("replayed".into(), 1));
    }
    assert_eq!(
        settled(pool, stubborn_letter, &worker).await,
        ("open".into(), 1),
        "failed again: open for another replay"
    );

    // Recorded in place of the failure, numbered in arrival order, in the
    // unit's queue, their arrivals finished.
    let routed: Vec<(Uuid, String, Option<i64>)> = sqlx::query_as(
        "select supplement_id, outcome, sequence from supplements
          where supplement_id = any($1) order by arrived_at",
    )
    .bind([first, second])
    .fetch_all(pool)
    .await
    .expect("rows");
    assert_eq!(
        routed,
        [
            (first, "routed".into(), Some(1)),
            (second, "routed".into(), Some(2))
        ]
    );
    let queued: i64 =
        sqlx::query_scalar("select count(*) from queue_items where supplement_id = any($1)")
            .bind([first, second])
            .fetch_one(pool)
            .await
            .expect("queue");
    assert_eq!(queued, 2, "caseworkers see them");
    let open_claims: i64 =
        sqlx::query_scalar("select count(*) from ingest_claims where finished_at is null")
            .fetch_one(pool)
            .await
            .expect("claims");
    assert_eq!(open_claims, 0, "no arrival left holding its application");

    // The second's copy arrived twice and was recorded once.
    let recorded: Vec<(Uuid, i64)> = sqlx::query_as(
        "select supplement_id, count(*) from audit_log where action = 'supplement.routed'
          group by supplement_id order by supplement_id",
    )
    .fetch_all(pool)
    .await
    .expect("audit");
    let mut expected = vec![(first, 1), (second, 1)];
    expected.sort();
    assert_eq!(recorded, expected);
    assert!(
        worker.log().contains("already processed"),
        "the repeated copy was seen and skipped"
    );

    // The stubborn one: replayed until its replays are spent.
    for replay_number in 2..=MAX_REPLAYS as i32 {
        let id = stubborn_letter.to_string();
        replay(&["--id", &id, "--why", "one more try", "--operator", "olli"]).await;
        let expected = if replay_number == MAX_REPLAYS as i32 {
            "quarantined"
        } else {
            "open"
        };
        assert_eq!(
            settled(pool, stubborn_letter, &worker).await,
            (expected.into(), replay_number)
        );
    }
    let after = replay(&["--dry-run"]).await;
    assert!(after.contains("0 would be replayed"), "{after}");
    let outcome: String =
        sqlx::query_scalar("select outcome from supplements where supplement_id = $1")
            .bind(stubborn)
            .fetch_one(pool)
            .await
            .expect("row");
    assert_eq!(outcome, "unprocessable", "its failure stands");

    // Every replay audited with its operator and reason: two by the
    // interrupted run, then one per replay of the stubborn letter.
    let audited: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "select actor, detail from audit_log where action = 'dlq.replay' order by id",
    )
    .fetch_all(pool)
    .await
    .expect("audit");
    assert_eq!(audited.len(), 2 + MAX_REPLAYS as usize);
    assert!(audited.iter().all(|(actor, _)| actor == "operator:olli"));
    assert_eq!(audited[0].1["why"], "refusal fixed");
    assert_eq!(audited.last().expect("last").1["why"], "one more try");
}
