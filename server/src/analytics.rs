//! Analytics: the gateways' events (one per request, sent in batches) aggregated per minute
//! into `analytics_minute`, and the reports the portals chart (traffic, latency percentiles
//! from merged histograms, errors by cause, top APIs, applications and operations).
//!
//! A batch is checked whole before anything is written, then added to the minute rows in
//! one transaction (rows in key order, so replicas adding to the same minutes never
//! deadlock). The end user of an event is checked but not kept: the aggregates have no
//! per-user dimension.

use std::collections::BTreeMap;

use app::analytics::{CauseCount, Point, Range, Report, Scope, Top, Totals};
use app::auth::scopes as s;
use chrono::{DateTime, Utc};
use gateway::analytics::{BUCKETS, Batch, bucket, cause, quantile};
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::error::ApiError;
use crate::publisher::{Actor, Publisher};

/// Events in one batch at most.
pub const MAX_EVENTS: usize = 10_000;
/// Events older than this (a gateway that was cut off for long) are refused.
const MAX_AGE_MS: i64 = 24 * 3_600_000;
/// Clock skew allowed for events from the future.
const MAX_AHEAD_MS: i64 = 5 * 60_000;
/// Rows per INSERT statement (15 parameters each, PostgreSQL allows 65,535).
const ROWS_PER_STATEMENT: usize = 1_000;
/// Top-N lists.
const TOP: i64 = 10;

/// The aggregate key of a minute row (`minute` in Unix seconds).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    minute: i64,
    api: String,
    op: String,
    app: String,
    key_type: String,
    status: i16,
    cause: String,
}

struct Sums {
    requests: i64,
    total_us: i64,
    backend_us: i64,
    bytes_in: i64,
    bytes_out: i64,
    latency: [i64; BUCKETS],
}

/// Checks every event of `batch` (the first problem is named with its index).
fn check(batch: &Batch, now_ms: i64) -> Result<(), ApiError> {
    let gw = batch.gateway.trim();
    if gw.is_empty() || gw.len() > 200 {
        return Err(ApiError::field(
            "gateway",
            "the gateway's id (1–200 characters)",
        ));
    }
    if batch.events.len() > MAX_EVENTS {
        return Err(ApiError::field(
            "events",
            format!("at most {MAX_EVENTS} events per batch"),
        ));
    }
    for (i, e) in batch.events.iter().enumerate() {
        let field = |name: &str| format!("events[{i}].{name}");
        if e.t < now_ms - MAX_AGE_MS || e.t > now_ms + MAX_AHEAD_MS {
            return Err(ApiError::field(
                &field("t"),
                "must be a Unix time in milliseconds within the last 24 hours",
            ));
        }
        if !(100..=599).contains(&e.status) {
            return Err(ApiError::field(&field("status"), "must be an HTTP status"));
        }
        if !(e.cause.is_empty() || cause::ALL.contains(&e.cause.as_str())) {
            return Err(ApiError::field(
                &field("cause"),
                format!("must be empty or one of {}", cause::ALL.join(", ")),
            ));
        }
        if !matches!(e.key_type.as_str(), "" | "PRODUCTION" | "SANDBOX") {
            return Err(ApiError::field(
                &field("keyType"),
                "must be PRODUCTION or SANDBOX",
            ));
        }
        for (name, value, max) in [
            ("api", &e.api, 100),
            ("op", &e.op, 300),
            ("app", &e.app, 100),
            ("user", &e.user, 300),
        ] {
            if value.len() > max {
                return Err(ApiError::field(
                    &field(name),
                    format!("at most {max} characters"),
                ));
            }
        }
        // Microseconds that fit in a bigint sum comfortably: an hour at most.
        if e.total_us > 3_600_000_000 {
            return Err(ApiError::field(&field("totalUs"), "at most an hour"));
        }
        if e.backend_us > e.total_us {
            return Err(ApiError::field(
                &field("backendUs"),
                "cannot exceed totalUs",
            ));
        }
        if e.bytes_in > i64::MAX as u64 / 2 || e.bytes_out > i64::MAX as u64 / 2 {
            return Err(ApiError::field(&field("bytesIn"), "too large"));
        }
    }
    Ok(())
}

/// Adds a gateway's batch to the minute rows of `environment`; the number of events.
pub async fn ingest(db: &PgPool, environment: &str, batch: &Batch) -> Result<usize, ApiError> {
    check(batch, Utc::now().timestamp_millis())?;
    let known: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM gateway_environment WHERE name = $1)")
            .bind(environment)
            .fetch_one(db)
            .await?;
    if !known {
        return Err(ApiError::NotFound(format!(
            "No gateway environment {environment}"
        )));
    }
    let mut rows: BTreeMap<Key, Sums> = BTreeMap::new();
    for e in &batch.events {
        let key = Key {
            minute: e.t.div_euclid(60_000) * 60,
            api: e.api.clone(),
            op: e.op.clone(),
            app: e.app.clone(),
            key_type: e.key_type.clone(),
            status: e.status as i16,
            cause: e.cause.clone(),
        };
        let sums = rows.entry(key).or_insert_with(|| Sums {
            requests: 0,
            total_us: 0,
            backend_us: 0,
            bytes_in: 0,
            bytes_out: 0,
            latency: [0; BUCKETS],
        });
        sums.requests += 1;
        sums.total_us += e.total_us as i64;
        sums.backend_us += e.backend_us as i64;
        sums.bytes_in = sums.bytes_in.saturating_add(e.bytes_in as i64);
        sums.bytes_out = sums.bytes_out.saturating_add(e.bytes_out as i64);
        sums.latency[bucket(e.total_us)] += 1;
    }
    if rows.is_empty() {
        return Ok(0);
    }
    // The organization of each API (its rows show on that organization's Admin charts).
    let ids: Vec<String> = {
        let mut ids: Vec<String> = rows.keys().map(|k| k.api.clone()).collect();
        ids.sort();
        ids.dedup();
        ids.retain(|i| !i.is_empty());
        ids
    };
    let owners: Vec<(String, uuid::Uuid)> =
        sqlx::query_as("SELECT id::text, organization_id FROM api WHERE id::text = ANY($1)")
            .bind(&ids)
            .fetch_all(db)
            .await?;
    let owner = |api: &str| owners.iter().find(|(id, _)| id == api).map(|(_, o)| *o);

    let mut tx = db.begin().await?;
    let rows: Vec<(Key, Sums)> = rows.into_iter().collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
            "INSERT INTO analytics_minute (minute, environment, organization_id, api_id, operation,
                 application_id, key_type, status, cause, requests, total_us, backend_us,
                 bytes_in, bytes_out, latency) ",
        );
        q.push_values(chunk, |mut b, (k, v)| {
            b.push_bind(DateTime::<Utc>::from_timestamp(k.minute, 0).unwrap_or_default())
                .push_bind(environment)
                .push_bind(owner(&k.api))
                .push_bind(&k.api)
                .push_bind(&k.op)
                .push_bind(&k.app)
                .push_bind(&k.key_type)
                .push_bind(k.status)
                .push_bind(&k.cause)
                .push_bind(v.requests)
                .push_bind(v.total_us)
                .push_bind(v.backend_us)
                .push_bind(v.bytes_in)
                .push_bind(v.bytes_out)
                .push_bind(v.latency.to_vec());
        });
        q.push(
            " ON CONFLICT (minute, environment, api_id, operation, application_id, key_type, status, cause)
              DO UPDATE SET
                requests = analytics_minute.requests + EXCLUDED.requests,
                total_us = analytics_minute.total_us + EXCLUDED.total_us,
                backend_us = analytics_minute.backend_us + EXCLUDED.backend_us,
                bytes_in = analytics_minute.bytes_in + EXCLUDED.bytes_in,
                bytes_out = analytics_minute.bytes_out + EXCLUDED.bytes_out,
                organization_id = coalesce(EXCLUDED.organization_id, analytics_minute.organization_id),
                latency = ARRAY(SELECT a + b
                                  FROM unnest(analytics_minute.latency, EXCLUDED.latency)
                                       WITH ORDINALITY AS h(a, b, i)
                                 ORDER BY i)",
        );
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(batch.events.len())
}

/// Removes minute rows older than `days`; the number removed.
pub async fn prune(db: &PgPool, days: u32) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM analytics_minute WHERE minute < now() - make_interval(days => $1)",
    )
    .bind(days as i32)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Which rows a report reads: a condition on `m` (the minute rows) with `$1` bound to
/// `value`.
struct Filter {
    condition: &'static str,
    value: String,
    /// Operations are named without their API (one API's report).
    one_api: bool,
}

/// Checks that `actor` may see `scope`'s traffic: the API through the Publisher (its
/// scopes and organization), the application as its owner, the organization as an admin.
async fn authorize(
    publisher: &Publisher,
    km: &crate::keymanager::KeyManager,
    actor: &Actor,
    scope: &Scope,
) -> Result<Filter, ApiError> {
    Ok(match scope {
        Scope::Api { id } => {
            let api = match publisher.get(actor, id, false).await {
                Err(ApiError::NotFound(_)) => publisher.get(actor, id, true).await?,
                other => other?,
            };
            Filter {
                condition: "m.api_id = $1",
                value: api.id.unwrap_or_else(|| id.clone()),
                one_api: true,
            }
        }
        Scope::Application { id } => {
            let app = km.get_application(actor, id).await?;
            Filter {
                condition: "m.application_id = $1",
                value: app.application_id.unwrap_or_else(|| id.clone()),
                one_api: false,
            }
        }
        Scope::Organization => {
            actor.require(&[s::ADMIN, s::MONITORING_VIEW])?;
            Filter {
                condition: "m.organization_id = (SELECT id FROM organization WHERE name = $1)",
                value: actor.organization.clone(),
                one_api: false,
            }
        }
    })
}

/// The report of `scope` over `range`, ending now.
pub async fn report(
    db: &PgPool,
    publisher: &Publisher,
    km: &crate::keymanager::KeyManager,
    actor: &Actor,
    scope: &Scope,
    range: Range,
) -> Result<Report, ApiError> {
    let filter = authorize(publisher, km, actor, scope).await?;
    report_at(db, &filter, range, Utc::now()).await
}

async fn report_at(
    db: &PgPool,
    filter: &Filter,
    range: Range,
    now: DateTime<Utc>,
) -> Result<Report, ApiError> {
    let step = range.step_seconds();
    let last = now.timestamp().div_euclid(step) * step;
    let first = last - range.seconds() + step;
    let from = DateTime::<Utc>::from_timestamp(first, 0).unwrap_or_default();
    let to = DateTime::<Utc>::from_timestamp(last + step, 0).unwrap_or_default();
    let cond = filter.condition;
    let step_of = "(floor(extract(epoch FROM m.minute) / $4) * $4)::bigint";

    type StepRow = (i64, i64, i64, i64, i64, i64, i64);
    let steps: Vec<StepRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {step_of} AS t, sum(m.requests)::bigint,
                coalesce(sum(m.requests) FILTER (WHERE m.cause <> ''), 0)::bigint,
                sum(m.total_us)::bigint, sum(m.backend_us)::bigint,
                sum(m.bytes_in)::bigint, sum(m.bytes_out)::bigint
           FROM analytics_minute m
          WHERE {cond} AND m.minute >= $2 AND m.minute < $3
          GROUP BY 1 ORDER BY 1"
    )))
    .bind(&filter.value)
    .bind(from)
    .bind(to)
    .bind(step)
    .fetch_all(db)
    .await?;
    let buckets: Vec<(i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {step_of} AS t, h.i, sum(h.c)::bigint
           FROM analytics_minute m, unnest(m.latency) WITH ORDINALITY AS h(c, i)
          WHERE {cond} AND m.minute >= $2 AND m.minute < $3
          GROUP BY 1, 2"
    )))
    .bind(&filter.value)
    .bind(from)
    .bind(to)
    .bind(step)
    .fetch_all(db)
    .await?;

    // Histograms per step and over the range.
    let mut hists: BTreeMap<i64, [i64; BUCKETS]> = BTreeMap::new();
    let mut all = [0i64; BUCKETS];
    for (t, i, c) in buckets {
        let i = (i - 1) as usize;
        if i < BUCKETS {
            hists.entry(t).or_insert([0; BUCKETS])[i] += c;
            all[i] += c;
        }
    }
    let mut totals = Totals {
        p50_ms: quantile(&all, 0.50),
        p95_ms: quantile(&all, 0.95),
        p99_ms: quantile(&all, 0.99),
        ..Totals::default()
    };
    let (mut total_us, mut backend_us) = (0i64, 0i64);
    let mut by_step: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for (t, requests, errors, tu, bu, bin, bout) in steps {
        totals.requests += requests;
        totals.errors += errors;
        totals.bytes_in += bin;
        totals.bytes_out += bout;
        total_us += tu;
        backend_us += bu;
        by_step.insert(t, (requests, errors));
    }
    if totals.requests > 0 {
        let n = totals.requests as f64;
        totals.backend_ms = Some(backend_us as f64 / n / 1000.0);
        totals.gateway_ms = Some((total_us - backend_us) as f64 / n / 1000.0);
    }
    let series = (0..)
        .map(|k| first + k * step)
        .take_while(|t| *t <= last)
        .map(|t| {
            let (requests, errors) = by_step.get(&t).copied().unwrap_or_default();
            let h = hists.get(&t);
            let q = |p| h.and_then(|h| quantile(h, p));
            Point {
                t,
                requests,
                errors,
                p50_ms: q(0.50),
                p95_ms: q(0.95),
                p99_ms: q(0.99),
            }
        })
        .collect();

    let errors_by_cause: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT m.cause, sum(m.requests)::bigint FROM analytics_minute m
          WHERE {cond} AND m.minute >= $2 AND m.minute < $3 AND m.cause <> ''
          GROUP BY 1 ORDER BY 2 DESC, 1"
    )))
    .bind(&filter.value)
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await?;

    let errors = "coalesce(sum(m.requests) FILTER (WHERE m.cause <> ''), 0)::bigint";
    let top_apis: Vec<(String, String, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT m.api_id, coalesce(a.name || ' ' || a.version, m.api_id),
                sum(m.requests)::bigint, {errors}
           FROM analytics_minute m LEFT JOIN api a ON a.id::text = m.api_id
          WHERE {cond} AND m.minute >= $2 AND m.minute < $3 AND m.api_id <> ''
          GROUP BY 1, 2 ORDER BY 3 DESC, 2 LIMIT {TOP}"
    )))
    .bind(&filter.value)
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await?;
    let top_applications: Vec<(String, String, i64, i64)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT m.application_id, coalesce(p.name, m.application_id),
                sum(m.requests)::bigint, {errors}
           FROM analytics_minute m LEFT JOIN application p ON p.id::text = m.application_id
          WHERE {cond} AND m.minute >= $2 AND m.minute < $3 AND m.application_id <> ''
          GROUP BY 1, 2 ORDER BY 3 DESC, 2 LIMIT {TOP}"
        )))
        .bind(&filter.value)
        .bind(from)
        .bind(to)
        .fetch_all(db)
        .await?;
    let top_operations: Vec<(String, String, String, i64, i64)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT m.api_id, coalesce(a.name, m.api_id), m.operation,
                sum(m.requests)::bigint, {errors}
           FROM analytics_minute m LEFT JOIN api a ON a.id::text = m.api_id
          WHERE {cond} AND m.minute >= $2 AND m.minute < $3 AND m.operation <> ''
          GROUP BY 1, 2, 3 ORDER BY 4 DESC, 3 LIMIT {TOP}"
        )))
        .bind(&filter.value)
        .bind(from)
        .bind(to)
        .fetch_all(db)
        .await?;

    let top = |rows: Vec<(String, String, i64, i64)>| -> Vec<Top> {
        rows.into_iter()
            .map(|(id, name, requests, errors)| Top {
                id,
                name,
                requests,
                errors,
            })
            .collect()
    };
    Ok(Report {
        range: range.param().to_string(),
        from: from.to_rfc3339(),
        to: to.to_rfc3339(),
        step_seconds: step,
        totals,
        series,
        errors_by_cause: errors_by_cause
            .into_iter()
            .map(|(cause, count)| CauseCount { cause, count })
            .collect(),
        top_apis: top(top_apis),
        top_applications: top(top_applications),
        top_operations: top_operations
            .into_iter()
            .map(|(api, api_name, op, requests, errors)| Top {
                name: if filter.one_api {
                    op.clone()
                } else {
                    format!("{api_name}: {op}")
                },
                id: format!("{api} {op}"),
                requests,
                errors,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gateway::analytics::Event;

    fn event(t: i64) -> Event {
        Event {
            t,
            status: 200,
            total_us: 1_000,
            ..Event::default()
        }
    }

    #[test]
    fn a_bad_event_is_named_by_its_index_and_field() {
        let now = 1_800_000_000_000;
        let mut batch = Batch {
            gateway: "gw/1".into(),
            events: vec![event(now), event(now)],
        };
        assert!(check(&batch, now).is_ok());
        let named = |b: &Batch| match check(b, now) {
            Err(ApiError::BadRequest { errors, .. }) => errors[0].code.clone(),
            other => panic!("{other:?}"),
        };
        batch.events[1].status = 42;
        assert_eq!(named(&batch), "events[1].status");
        batch.events[1] = event(now - 2 * MAX_AGE_MS);
        assert_eq!(named(&batch), "events[1].t");
        batch.events[1] = Event {
            cause: "bad luck".into(),
            ..event(now)
        };
        assert_eq!(named(&batch), "events[1].cause");
        batch.events[1] = Event {
            backend_us: 5_000,
            ..event(now)
        };
        assert_eq!(named(&batch), "events[1].backendUs");
        batch.events[1] = Event {
            key_type: "TEST".into(),
            ..event(now)
        };
        assert_eq!(named(&batch), "events[1].keyType");
        batch.events.truncate(1);
        batch.gateway = " ".into();
        assert_eq!(named(&batch), "gateway");
    }
}
