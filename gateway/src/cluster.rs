//! Rate limits shared by every gateway of an environment, through Redis: backend max TPS and
//! burst control hold cluster-wide, not per gateway.
//!
//! Each limit is a GCRA bucket (the same arithmetic as the local limiters) whose state (the
//! theoretical arrival time) lives in Redis and is changed only by one Lua script, which reads
//! Redis's own clock, so gateways need no synchronised clocks. The **hybrid** part: while a
//! bucket has plenty of room, a gateway takes a lease of several requests in one round trip and
//! lets them through locally; close to the limit it takes one request per round trip (exact);
//! refused, it refuses locally until the bucket can have room again (no round trip per refused
//! request in a flood).
//!
//! Redis unreachable: each gateway falls back to a local bucket of the limit divided by the
//! number of live gateways (from their heartbeats), logs it once, tries Redis again after a
//! second, and says so when it is back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::redis::{Conn, Script, Target, Value};
use crate::snapshot::Rate;

/// Round trips to Redis that take longer count as Redis being unreachable.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// After a failure, Redis is tried again this much later.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// A gateway whose heartbeat is older than this is not counted as live.
const HEARTBEAT_TTL_MS: u64 = 5_000;
/// Local state of a bucket unused for this long is dropped.
const IDLE: Duration = Duration::from_secs(60);

/// Takes up to ARGV[3] requests from the bucket KEYS[1] (ARGV[1] µs per request, ARGV[2]
/// requests of capacity). Returns {granted, µs}: with requests granted, the room left in
/// µs; with none, how long until one fits.
static TAKE: Script = Script::new(
    r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local cap = tonumber(ARGV[2]) * interval
local want = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local fit = math.floor((cap - (tat - now)) / interval)
if fit < 1 then
  return {0, (tat - now) - (cap - interval)}
end
local n = math.min(want, fit)
local new = tat + n * interval
redis.call('SET', KEYS[1], string.format('%d', new), 'PX', math.ceil((new - now) / 1000) + 1000)
return {n, cap - (new - now)}
"#,
);

/// Records this gateway's heartbeat, forgets stale ones, returns how many are live.
static HEARTBEAT: Script = Script::new(
    r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return redis.call('ZCARD', KEYS[1])
"#,
);

/// A worker's connection to Redis (made on first use, dropped on error).
pub type Slot = tokio::sync::Mutex<Option<Conn>>;

/// What a shared bucket says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Refused(Duration),
}

#[derive(Default)]
struct Bucket {
    /// Requests granted by the shared bucket and not used yet.
    lease: u64,
    /// The room the shared bucket reported last, in requests.
    room: u64,
    /// Refused by the shared bucket until then.
    blocked_until: Option<Instant>,
    /// The local bucket while Redis is unreachable (its theoretical arrival time).
    fallback_tat: Option<Instant>,
    touched: Option<Instant>,
}

pub struct Cluster {
    target: Target,
    prefix: String,
    id: String,
    live: AtomicUsize,
    /// Milliseconds since `epoch` until which Redis is not tried.
    down_until_ms: AtomicU64,
    down: AtomicBool,
    epoch: Instant,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// Round trips made and requests decided locally (tests, diagnostics).
    pub round_trips: AtomicU64,
    pub local: AtomicU64,
}

/// A rate as GCRA sees it: µs per request and capacity in requests.
fn gcra(rate: &Rate) -> (u64, u64) {
    let requests = rate.requests.max(1);
    let period_us = rate.period_seconds.max(1) * 1_000_000;
    ((period_us / requests).max(1), requests)
}

impl Cluster {
    /// `environment` scopes the keys, `id` names this gateway in the heartbeats.
    pub fn new(target: Target, environment: &str, id: String) -> Cluster {
        Cluster {
            target,
            prefix: format!("gatehouse:{environment}:"),
            id,
            live: AtomicUsize::new(1),
            down_until_ms: AtomicU64::new(0),
            down: AtomicBool::new(false),
            epoch: Instant::now(),
            buckets: Mutex::new(HashMap::new()),
            round_trips: AtomicU64::new(0),
            local: AtomicU64::new(0),
        }
    }

    /// Gateways of the environment seen alive (at least this one).
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed).max(1)
    }

    /// Whether Redis is being used now (not in the fallback).
    pub fn shared(&self) -> bool {
        !self.down.load(Ordering::Relaxed)
    }

    fn ms(&self, at: Instant) -> u64 {
        at.duration_since(self.epoch).as_millis() as u64
    }

    fn mark_down(&self, error: &str) {
        let until = self.ms(Instant::now()) + RETRY_AFTER.as_millis() as u64;
        self.down_until_ms.store(until, Ordering::Relaxed);
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                redis = %self.target.addr,
                error,
                live_gateways = self.live(),
                "Redis unreachable: shared rate limits fall back to local ones divided by the live gateways"
            );
        }
    }

    fn mark_up(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!(redis = %self.target.addr, "Redis reachable again: shared rate limits resume");
        }
    }

    /// Counts one request against the shared bucket `key` of `rate`.
    pub async fn check(&self, slot: &Slot, key: &str, rate: &Rate) -> Verdict {
        let now = Instant::now();
        let (interval_us, capacity) = gcra(rate);
        // As many requests as 20 ms of the rate, when the bucket has room for far more.
        let lease_size = (1_000_000 / interval_us / 50).clamp(1, 1_000);
        let want = {
            let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
            if !buckets.contains_key(key) {
                buckets.insert(key.to_string(), Bucket::default());
            }
            let b = buckets.get_mut(key).expect("inserted above");
            b.touched = Some(now);
            if let Some(until) = b.blocked_until {
                if until > now {
                    self.local.fetch_add(1, Ordering::Relaxed);
                    return Verdict::Refused(until - now);
                }
                b.blocked_until = None;
            }
            if b.lease > 0 {
                b.lease -= 1;
                self.local.fetch_add(1, Ordering::Relaxed);
                return Verdict::Allowed;
            }
            if self.down_until_ms.load(Ordering::Relaxed) > self.ms(now) {
                return self.fallback(b, rate, now);
            }
            if b.room >= 4 * lease_size * self.live() as u64 {
                lease_size
            } else {
                1
            }
        };
        let reply = self.take(slot, key, interval_us, capacity, want).await;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        // Forgotten meanwhile only if idle for a minute: then it starts afresh.
        let b = buckets.entry(key.to_string()).or_default();
        match reply {
            Ok((0, wait_us)) => {
                self.mark_up();
                let wait = Duration::from_micros(wait_us.max(1));
                b.blocked_until = Some(now + wait);
                b.room = 0;
                Verdict::Refused(wait)
            }
            Ok((granted, room_us)) => {
                self.mark_up();
                b.lease += granted - 1;
                b.room = room_us / interval_us;
                Verdict::Allowed
            }
            Err(e) => {
                self.mark_down(&e);
                self.fallback(b, rate, now)
            }
        }
    }

    /// The local bucket: the limit divided by the live gateways.
    fn fallback(&self, b: &mut Bucket, rate: &Rate, now: Instant) -> Verdict {
        self.local.fetch_add(1, Ordering::Relaxed);
        let live = self.live() as u64;
        let share = Rate {
            requests: rate.requests.div_ceil(live).max(1),
            period_seconds: rate.period_seconds,
        };
        let (interval_us, capacity) = gcra(&share);
        let interval = Duration::from_micros(interval_us);
        let cap = Duration::from_micros(interval_us.saturating_mul(capacity));
        let tat = b.fallback_tat.filter(|t| *t > now).unwrap_or(now);
        let next = tat + interval;
        if next - now > cap {
            Verdict::Refused(next - now - cap)
        } else {
            b.fallback_tat = Some(next);
            Verdict::Allowed
        }
    }

    async fn take(
        &self,
        slot: &Slot,
        key: &str,
        interval_us: u64,
        capacity: u64,
        want: u64,
    ) -> Result<(u64, u64), String> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let redis_key = format!("{}rl:{key}", self.prefix);
        let (interval, capacity, want) = (
            interval_us.to_string(),
            capacity.to_string(),
            want.to_string(),
        );
        let mut conn = slot.lock().await;
        let reply = self
            .run(
                &mut conn,
                &TAKE,
                &[redis_key.as_bytes()],
                &[interval.as_bytes(), capacity.as_bytes(), want.as_bytes()],
            )
            .await?;
        match reply {
            Value::Array(v) => match v.as_slice() {
                [Value::Int(n), Value::Int(us)] => Ok((*n as u64, (*us).max(0) as u64)),
                _ => Err(format!("unexpected reply {v:?}")),
            },
            Value::Error(e) => Err(e),
            other => Err(format!("unexpected reply {other:?}")),
        }
    }

    /// Runs `script` on `conn` (connecting first when there is none) within `REDIS_TIMEOUT`; a
    /// failed or late call drops the connection.
    async fn run(
        &self,
        conn: &mut Option<Conn>,
        script: &Script,
        keys: &[&[u8]],
        args: &[&[u8]],
    ) -> Result<Value, String> {
        let result = tokio::time::timeout(REDIS_TIMEOUT, async {
            if conn.is_none() {
                *conn = Some(Conn::connect(&self.target, REDIS_TIMEOUT).await?);
            }
            script
                .run(conn.as_mut().expect("connected above"), keys, args)
                .await
        })
        .await;
        match result {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => {
                *conn = None;
                Err(e.to_string())
            }
            Err(_) => {
                *conn = None;
                Err("no answer in time".into())
            }
        }
    }

    /// Every second: this gateway's heartbeat (and the count of live ones), and local state
    /// of idle buckets forgotten. Runs for ever.
    pub async fn heartbeats(&self) {
        let mut conn: Option<Conn> = None;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let key = format!("{}gateways", self.prefix);
        let ttl = HEARTBEAT_TTL_MS.to_string();
        loop {
            tick.tick().await;
            let beat = self
                .run(
                    &mut conn,
                    &HEARTBEAT,
                    &[key.as_bytes()],
                    &[self.id.as_bytes(), ttl.as_bytes()],
                )
                .await;
            match beat {
                Ok(Value::Int(n)) => self.live.store(n.max(1) as usize, Ordering::Relaxed),
                // The request path notices and logs an outage; keep the last count.
                _ => conn = None,
            }
            let now = Instant::now();
            let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
            buckets.retain(|_, b| b.touched.is_some_and(|t| now.duration_since(t) < IDLE));
        }
    }

    /// Buckets with local state now.
    pub fn buckets(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_redis_each_gateway_keeps_its_share_of_the_limit() {
        // Nothing listens there: the first request finds Redis unreachable.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = Cluster::new(
            Target::parse(&format!("redis://127.0.0.1:{port}")).unwrap(),
            "Test",
            "gw-1".into(),
        );
        c.live.store(3, Ordering::Relaxed);
        let slot = Slot::default();
        let rate = Rate {
            requests: 60,
            period_seconds: 1,
        };
        let mut allowed = 0;
        for _ in 0..40 {
            if c.check(&slot, "tps:api:production", &rate).await == Verdict::Allowed {
                allowed += 1;
            }
        }
        assert!(!c.shared());
        // A third of 60 at once, then one every 50 ms: the loop takes far less than that.
        assert!((20..=21).contains(&allowed), "{allowed}");
        // Only the first request tried Redis; the rest waited for the retry time.
        assert_eq!(c.round_trips.load(Ordering::Relaxed), 1);
        match c.check(&slot, "tps:api:production", &rate).await {
            Verdict::Refused(wait) => assert!(wait <= Duration::from_millis(50), "{wait:?}"),
            Verdict::Allowed => panic!("over the share"),
        }
    }
}
