//! The real PostgreSQL: every migration applies to an empty database, rows
//! can be written and read, and the schema's own guarantees hold.

use intake_tests::Stack;
use sqlx::Row;

async fn insert_application(pool: &sqlx::PgPool, id: &str) {
    sqlx::query(
        "insert into applications (application_id, customer_number, status, unit, confidential, language, version, updated_at)
         values ($1, '12345678-6', 'pending', 'unit-a', false, 'fi', 1, now())",
    )
    .bind(id)
    .execute(pool)
    .await
    .expect("insert application");
}

#[tokio::test]
async fn migrations_apply_and_a_supplement_is_written_and_read() {
    let db = Stack::new().database().await;
    let applied: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations where success")
        .fetch_one(&db.pool)
        .await
        .expect("migrations table");
    assert_eq!(
        applied as usize,
        intake_adapters::pg::MIGRATOR.iter().count()
    );

    insert_application(&db.pool, "MIG-2026-004217-5").await;
    let id = uuid::Uuid::new_v4();
    sqlx::query(
        "insert into supplements (supplement_id, event_id, channel, arrived_at, outcome, application_id, sequence, receipt_reference)
         values ($1, $2, 'enter_finland', now(), 'routed', 'MIG-2026-004217-5', 1, 'R-TEST-0001')",
    )
    .bind(id)
    .bind(uuid::Uuid::new_v4())
    .execute(&db.pool)
    .await
    .expect("insert supplement");
    let row =
        sqlx::query("select application_id, sequence from supplements where supplement_id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .expect("read back");
    assert_eq!(row.get::<String, _>("application_id"), "MIG-2026-004217-5");
    assert_eq!(row.get::<i64, _>("sequence"), 1);
}

#[tokio::test]
async fn a_sequence_number_cannot_be_used_twice_for_one_application() {
    let db = Stack::new().database().await;
    insert_application(&db.pool, "MIG-2026-004217-5").await;
    let insert = |reference: &'static str| {
        sqlx::query(
            "insert into supplements (supplement_id, event_id, channel, arrived_at, outcome, application_id, sequence, receipt_reference)
             values ($1, $2, 'securemail', now(), 'routed', 'MIG-2026-004217-5', 1, $3)",
        )
        .bind(uuid::Uuid::new_v4())
        .bind(uuid::Uuid::new_v4())
        .bind(reference)
        .execute(&db.pool)
    };
    insert("R-TEST-0001").await.expect("first");
    let err = insert("R-TEST-0002").await.expect_err("duplicate sequence");
    let code = err
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("23505"), "{err}");
}

#[tokio::test]
async fn the_audit_log_is_append_only() {
    let db = Stack::new().database().await;
    sqlx::query("insert into audit_log (actor, action) values ('caseworker:1', 'read')")
        .execute(&db.pool)
        .await
        .expect("append");
    for statement in [
        "update audit_log set actor = 'someone else'",
        "delete from audit_log",
        "truncate audit_log",
    ] {
        let err = sqlx::query(statement)
            .execute(&db.pool)
            .await
            .expect_err(statement);
        assert!(
            err.to_string().contains("append-only"),
            "{statement}: {err}"
        );
    }
    let count: i64 =
        sqlx::query_scalar("select count(*) from audit_log where actor = 'caseworker:1'")
            .fetch_one(&db.pool)
            .await
            .expect("count");
    assert_eq!(count, 1);
}

#[tokio::test]
async fn an_older_binary_starts_against_a_newer_schema() {
    // A newer release applied a migration this binary does not know; during
    // a rolling deploy the older replica must still start.
    let db = Stack::new().database().await;
    sqlx::query(
        "insert into _sqlx_migrations (version, description, success, checksum, execution_time)
         values (99990101000000, 'from a newer release', true, '\\x00', 0)",
    )
    .execute(&db.pool)
    .await
    .expect("record a newer migration");
    intake_adapters::pg::migrate(&db.pool)
        .await
        .expect("older binary tolerates newer migrations");
}
