//! `intake dlq`: the dead letters on record. A listing and a letter shown
//! never print the payload; showing one is audited, since its error may
//! quote what an applicant sent.

use anyhow::Context;
use intake_adapters::pg::{self, dead_letters};
use intake_core::dead_letter::State;
use uuid::Uuid;

use crate::PostgresOnly;

pub struct ListArgs {
    pub state: Option<State>,
    pub reason: Option<String>,
    pub after: Option<Uuid>,
    pub limit: i64,
}

pub async fn list(args: ListArgs) -> anyhow::Result<()> {
    let pool = connect().await?;
    let counts = dead_letters::counts(&pool).await?;
    if counts.is_empty() {
        println!("no dead letters");
        return Ok(());
    }
    for state in State::ALL {
        let of_state: Vec<String> = counts
            .iter()
            .filter(|(s, _, _)| s == state.as_str())
            .map(|(_, reason, n)| format!("{reason} {n}"))
            .collect();
        if !of_state.is_empty() {
            println!("{state:<12} {}", of_state.join(", "));
        }
    }
    if let Some(after) = args.after
        && dead_letters::show(&pool, after).await?.is_none()
    {
        anyhow::bail!("no dead letter {after} to list after");
    }
    let letters = dead_letters::list(
        &pool,
        &dead_letters::Filter {
            state: args.state,
            reason: args.reason.as_deref(),
            after: args.after,
            limit: args.limit.max(1),
        },
    )
    .await?;
    println!();
    println!(
        "{:<36}  {:<8}  {:<11}  {:<11}  {:>8}  {:>7}  {:<20}  {:<20}  origin",
        "id", "service", "reason", "state", "attempts", "replays", "first failed", "last failed"
    );
    for l in &letters {
        println!(
            "{:<36}  {:<8}  {:<11}  {:<11}  {:>8}  {:>7}  {:<20}  {:<20}  {}/{}/{}",
            l.id,
            l.service,
            l.reason,
            l.state,
            l.attempts,
            l.replays,
            l.first_failed_at.format("%Y-%m-%d %H:%M:%S"),
            l.last_failed_at.format("%Y-%m-%d %H:%M:%S"),
            l.origin_topic,
            l.origin_partition,
            l.origin_offset,
        );
    }
    if letters.len() as i64 == args.limit.max(1)
        && let Some(last) = letters.last()
    {
        let mut next = format!("intake dlq list --after {} --limit {}", last.id, args.limit);
        if let Some(state) = args.state {
            next.push_str(&format!(" --state {state}"));
        }
        if let Some(reason) = &args.reason {
            next.push_str(&format!(" --reason {}", reason.escape_debug()));
        }
        println!("more: {next}");
    }
    Ok(())
}

pub async fn show(id: Uuid, operator: &str) -> anyhow::Result<()> {
    let pool = connect().await?;
    let mut tx = pool.begin().await?;
    let Some(letter) = dead_letters::show(&mut *tx, id).await? else {
        anyhow::bail!("no dead letter {id}");
    };
    sqlx::query(
        "insert into audit_log (actor, action, supplement_id, role, detail)
         values ($1, 'dlq.show', $2, 'operator', jsonb_build_object('dead_letter', $3::text))",
    )
    .bind(format!("operator:{operator}"))
    .bind(letter.listed.supplement_id)
    .bind(id.to_string())
    .execute(&mut *tx)
    .await
    .context("could not audit the look; nothing shown")?;
    tx.commit().await?;
    let l = &letter.listed;
    println!("id             {}", l.id);
    println!("service        {}", l.service);
    println!("reason         {}", l.reason);
    println!("state          {}", l.state);
    println!(
        "origin         {}/{}/{}",
        l.origin_topic, l.origin_partition, l.origin_offset
    );
    if let Some(supplement) = l.supplement_id {
        println!("supplement     {supplement}");
    }
    println!("attempts       {}", l.attempts);
    println!("replays        {}", l.replays);
    println!("first failed   {}", l.first_failed_at.to_rfc3339());
    println!("last failed    {}", l.last_failed_at.to_rfc3339());
    if let Some(sent) = letter.replay_sent_at {
        println!("replay sent    {}", sent.to_rfc3339());
    }
    println!(
        "headers        {}",
        letter.header_names.join(", ").escape_debug()
    );
    println!("payload        {} bytes (not shown)", letter.payload_bytes);
    println!("error          {}", letter.error.escape_debug());
    Ok(())
}

async fn connect() -> anyhow::Result<sqlx::PgPool> {
    let config: PostgresOnly =
        intake_adapters::config::load().context("failed to load configuration")?;
    Ok(pg::connect(&config.postgres).await?)
}
