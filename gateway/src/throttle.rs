//! Rate limiting at the gateway: GCRA limiters (governor) for application policies (per
//! application and end user) and subscription tiers (per application and API), each with
//! optional burst control. Checked after authentication, application level first. A policy
//! may limit data instead of requests: each caller then has a byte budget (a GCRA cell, as for
//! advanced policies) charged with the request body's Content-Length before forwarding and
//! the response's once its head arrives.
//!
//! A policy's limiter lives as long as the policy stays the same: a new snapshot with the same
//! policy reuses it, so counters survive swaps. Keys of callers that have gone quiet (whose
//! state is back to a fresh bucket) are dropped by `evict_idle`, so memory follows the active
//! callers, not every caller ever seen.
//!
//! Advanced policies (API and resource level, with conditional groups) are in `advanced`.

pub mod advanced;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::snapshot::{Rate, ThrottlingPolicy};
use advanced::ByteBucket;

type Keyed<C> = RateLimiter<String, DashMapStateStore<String>, C, StateInformationMiddleware>;

/// A quota as GCRA sees it: `requests` per `period`, all of them usable at once.
pub(crate) fn quota(rate: &Rate) -> Quota {
    let requests = u32::try_from(rate.requests.max(1)).unwrap_or(u32::MAX);
    let period = Duration::from_secs(rate.period_seconds.max(1));
    let per_request = (period / requests).max(Duration::from_nanos(1));
    Quota::with_period(per_request)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(requests).unwrap_or(NonZeroU32::MIN))
}

/// One policy's limiters, shared by every snapshot that has the same policy.
pub struct PolicyLimiter<C: Clock = DefaultClock> {
    pub spec: ThrottlingPolicy,
    quota: Counters<C>,
    burst: Option<Keyed<C>>,
    clock: C,
}

/// The quota's counters, one per caller: requests (governor), or bytes.
enum Counters<C: Clock> {
    Requests(Keyed<C>),
    Bytes(DashMap<String, Arc<ByteBucket<C>>>),
}

/// A request let through: what the rate-limit headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the quota is whole again.
    pub reset_seconds: u64,
}

/// What a request let through was counted as.
pub enum Counted<C: Clock = DefaultClock> {
    /// One request: what the rate-limit headers say.
    Requests(Allowance),
    /// Its body's bytes, from the caller's budget; the response is charged to it too
    /// (`charge_responses`).
    Bytes(Arc<ByteBucket<C>>),
}

/// Charges a response body (by its Content-Length) to the byte budgets that counted the
/// request.
pub fn charge_responses<C: Clock>(budgets: &[Arc<ByteBucket<C>>], headers: &hyper::HeaderMap) {
    if budgets.is_empty() {
        return;
    }
    let length = advanced::content_length(headers);
    for b in budgets {
        b.charge(length);
    }
}

/// A request refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttled {
    /// `application`, `subscription`, or for advanced policies `api` or `resource`.
    pub level: String,
    pub policy: String,
    /// The quota or the burst control.
    pub burst: bool,
    /// Requests, or (`bytes`, a bandwidth limit) bytes.
    pub limit: u64,
    pub retry_after: Duration,
    pub bytes: bool,
}

impl<C: Clock + Clone> PolicyLimiter<C> {
    pub fn with_clock(spec: ThrottlingPolicy, clock: C) -> Self {
        let quota_ = match spec.bytes {
            Some(_) => Counters::Bytes(DashMap::new()),
            None => Counters::Requests(
                RateLimiter::dashmap_with_clock(
                    quota(&Rate {
                        requests: spec.requests,
                        period_seconds: spec.period_seconds,
                    }),
                    clock.clone(),
                )
                .with_middleware::<StateInformationMiddleware>(),
            ),
        };
        PolicyLimiter {
            quota: quota_,
            burst: spec.burst.as_ref().map(|b| {
                RateLimiter::dashmap_with_clock(quota(b), clock.clone())
                    .with_middleware::<StateInformationMiddleware>()
            }),
            spec,
            clock,
        }
    }

    pub fn refused(&self, burst: bool, limit: u64, wait: Duration) -> Throttled {
        Throttled {
            level: self.spec.level.clone(),
            policy: self.spec.name.clone(),
            burst,
            limit,
            retry_after: wait,
            bytes: false,
        }
    }

    /// Counts one request of `key` under a request-count policy.
    #[cfg(test)]
    fn check(&self, key: &str) -> Result<Allowance, Throttled> {
        match self.check_with(key, true, 0)? {
            Counted::Requests(a) => Ok(a),
            Counted::Bytes(_) => panic!("{} limits data", self.spec.name),
        }
    }

    /// Counts one request of `key` whose body is `request_bytes` long, leaving burst control
    /// out when `local_burst` is false (the gateways of the environment count it together,
    /// `crate::cluster`).
    pub fn check_with(
        &self,
        key: &str,
        local_burst: bool,
        request_bytes: u64,
    ) -> Result<Counted<C>, Throttled> {
        if let Some(b) = self.burst.as_ref().filter(|_| local_burst) {
            let limit = self.spec.burst.as_ref().map_or(0, |r| r.requests);
            if let Err(not_until) = b.check_key(&key.to_string()) {
                return Err(self.refused(true, limit, not_until.wait_time_from(self.clock.now())));
            }
        }
        let keyed = match &self.quota {
            Counters::Requests(keyed) => keyed,
            Counters::Bytes(budgets) => return self.take_bytes(budgets, key, request_bytes),
        };
        let limit = self.spec.requests;
        match keyed.check_key(&key.to_string()) {
            Ok(state) => {
                let remaining = u64::from(state.remaining_burst_capacity());
                let per_request = self.spec.period_seconds as f64 / limit.max(1) as f64;
                let reset = ((limit - remaining.min(limit)) as f64 * per_request).ceil() as u64;
                Ok(Counted::Requests(Allowance {
                    limit,
                    remaining,
                    reset_seconds: reset,
                }))
            }
            // Over the quota but not stopping there: let through, to be billed.
            Err(_) if !self.spec.stop_on_quota_reach => Ok(Counted::Requests(Allowance {
                limit,
                remaining: 0,
                reset_seconds: self.spec.period_seconds,
            })),
            Err(not_until) => {
                Err(self.refused(false, limit, not_until.wait_time_from(self.clock.now())))
            }
        }
    }

    /// Takes the request body from `key`'s byte budget (made on first use).
    fn take_bytes(
        &self,
        budgets: &DashMap<String, Arc<ByteBucket<C>>>,
        key: &str,
        request_bytes: u64,
    ) -> Result<Counted<C>, Throttled> {
        let budget = match budgets.get(key) {
            Some(b) => b.clone(),
            None => budgets
                .entry(key.to_string())
                .or_insert_with(|| {
                    Arc::new(ByteBucket::new(
                        self.spec.bytes.unwrap_or(1),
                        self.spec.period_seconds,
                        &self.clock,
                    ))
                })
                .clone(),
        };
        if !self.spec.stop_on_quota_reach {
            budget.charge(request_bytes);
            return Ok(Counted::Bytes(budget));
        }
        match budget.take(request_bytes) {
            Ok(_) => Ok(Counted::Bytes(budget)),
            Err(wait) => Err(Throttled {
                bytes: true,
                ..self.refused(false, budget.amount(), wait)
            }),
        }
    }

    /// Callers tracked now.
    pub fn keys(&self) -> usize {
        let quota = match &self.quota {
            Counters::Requests(keyed) => keyed.len(),
            Counters::Bytes(budgets) => budgets.len(),
        };
        quota + self.burst.as_ref().map_or(0, |b| b.len())
    }

    /// Forgets callers whose buckets have refilled (they look like new ones anyway).
    pub fn evict_idle(&self) {
        match &self.quota {
            Counters::Requests(keyed) => {
                keyed.retain_recent();
                keyed.shrink_to_fit();
            }
            Counters::Bytes(budgets) => {
                budgets.retain(|_, b| !b.is_idle());
                budgets.shrink_to_fit();
            }
        }
        if let Some(b) = &self.burst {
            b.retain_recent();
            b.shrink_to_fit();
        }
    }
}

/// The limiters of one snapshot, by (organization, level, name).
pub struct Limits<C: Clock = DefaultClock> {
    by_name: HashMap<(String, String, String), Arc<PolicyLimiter<C>>>,
}

impl<C: Clock + Clone> Default for Limits<C> {
    fn default() -> Self {
        Limits {
            by_name: HashMap::new(),
        }
    }
}

impl<C: Clock + Clone> Limits<C> {
    /// Limiters for `policies`, reusing `previous` ones whose policy did not change (their
    /// counters carry on).
    pub fn build(policies: &[ThrottlingPolicy], previous: Option<&Limits<C>>, clock: &C) -> Self {
        let mut by_name = HashMap::new();
        for p in policies {
            let key = (p.organization.clone(), p.level.clone(), p.name.clone());
            let kept = previous
                .and_then(|old| old.by_name.get(&key))
                .filter(|l| l.spec == *p)
                .cloned();
            let limiter = kept
                .unwrap_or_else(|| Arc::new(PolicyLimiter::with_clock(p.clone(), clock.clone())));
            by_name.insert(key, limiter);
        }
        Limits { by_name }
    }

    pub fn policy(
        &self,
        organization: &str,
        level: &str,
        name: &str,
    ) -> Option<&Arc<PolicyLimiter<C>>> {
        self.by_name.get(&(
            organization.to_string(),
            level.to_string(),
            name.to_string(),
        ))
    }

    /// The limiters that apply to a caller, in checking order, each with the caller's key in
    /// it: the application's policy (per application and end user), then the subscription tier
    /// (per application and API). Policies absent from the snapshot (Unlimited) do not limit.
    pub fn applicable(
        &self,
        organization: &str,
        application: &str,
        end_user: &str,
        app_tier: &str,
        api: &str,
        sub_tier: &str,
    ) -> impl Iterator<Item = (&Arc<PolicyLimiter<C>>, String)> {
        let app = self
            .policy(organization, "application", app_tier)
            .map(|l| (l, format!("{application}\u{1f}{end_user}")));
        let sub = self
            .policy(organization, "subscription", sub_tier)
            .map(|l| (l, format!("{application}\u{1f}{api}")));
        app.into_iter().chain(sub)
    }

    /// Counts one request at every applicable limiter; the allowance reported is the tighter
    /// one that applied.
    pub fn check(
        &self,
        organization: &str,
        application: &str,
        end_user: &str,
        app_tier: &str,
        api: &str,
        sub_tier: &str,
    ) -> Result<Option<Allowance>, Throttled> {
        let mut tightest: Option<Allowance> = None;
        for (l, key) in
            self.applicable(organization, application, end_user, app_tier, api, sub_tier)
        {
            if let Counted::Requests(a) = l.check_with(&key, true, 0)? {
                tightest = tighter(tightest, a);
            }
        }
        Ok(tightest)
    }

    pub fn keys(&self) -> usize {
        self.by_name.values().map(|l| l.keys()).sum()
    }

    pub fn evict_idle(&self) {
        for l in self.by_name.values() {
            l.evict_idle();
        }
    }
}

/// The allowance with less remaining.
pub fn tighter(current: Option<Allowance>, next: Allowance) -> Option<Allowance> {
    match current {
        Some(c) if c.remaining <= next.remaining => Some(c),
        _ => Some(next),
    }
}

/// Whole seconds to wait, at least 1 (for `Retry-After`).
pub fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.is_zero()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn policy(
        level: &str,
        name: &str,
        requests: u64,
        period: u64,
        burst: Option<(u64, u64)>,
    ) -> ThrottlingPolicy {
        ThrottlingPolicy {
            organization: "acme".into(),
            level: level.into(),
            name: name.into(),
            requests,
            bytes: None,
            period_seconds: period,
            burst: burst.map(|(r, p)| Rate {
                requests: r,
                period_seconds: p,
            }),
            stop_on_quota_reach: true,
        }
    }

    #[test]
    fn a_quota_lets_its_requests_through_then_refuses_until_time_passes() {
        let clock = FakeRelativeClock::default();
        let l =
            PolicyLimiter::with_clock(policy("subscription", "Five", 5, 60, None), clock.clone());
        for i in 0..5 {
            let a = l.check("app/api").unwrap();
            assert_eq!(a.remaining, 4 - i);
            assert_eq!(a.limit, 5);
        }
        let t = l.check("app/api").unwrap_err();
        assert!(!t.burst);
        assert_eq!(
            t.retry_after,
            Duration::from_secs(12),
            "one request's share of the minute"
        );
        // Another caller has its own bucket.
        assert!(l.check("other/api").is_ok());
        clock.advance(Duration::from_secs(12));
        assert!(l.check("app/api").is_ok());
        assert!(l.check("app/api").is_err());
        clock.advance(Duration::from_secs(60));
        assert_eq!(l.check("app/api").unwrap().remaining, 4);
    }

    #[test]
    fn burst_control_caps_the_rate_inside_the_quota() {
        let clock = FakeRelativeClock::default();
        // 1000 a minute, at most 50 a second.
        let l = PolicyLimiter::with_clock(
            policy("application", "Burst", 1000, 60, Some((50, 1))),
            clock.clone(),
        );
        for _ in 0..50 {
            l.check("k").unwrap();
        }
        let t = l.check("k").unwrap_err();
        assert!(t.burst);
        assert_eq!(t.limit, 50);
        clock.advance(Duration::from_secs(1));
        for _ in 0..50 {
            l.check("k").unwrap();
        }
        // 100 of the 1000 used, 1.0 s in: the quota is far from exhausted.
        assert!(l.check("k").is_err());
    }

    #[test]
    fn continue_on_quota_reach_lets_through_and_reports_none_left() {
        let clock = FakeRelativeClock::default();
        let mut p = policy("subscription", "Billed", 2, 60, None);
        p.stop_on_quota_reach = false;
        let l = PolicyLimiter::with_clock(p, clock);
        l.check("k").unwrap();
        l.check("k").unwrap();
        let over = l.check("k").unwrap();
        assert_eq!(over.remaining, 0);
    }

    #[test]
    fn unchanged_policies_keep_their_counters_across_snapshots() {
        let clock = FakeRelativeClock::default();
        let gold = policy("subscription", "Gold", 3, 60, None);
        let first = Limits::build(std::slice::from_ref(&gold), None, &clock);
        for _ in 0..3 {
            first
                .check("acme", "app", "alice", "Unlimited", "api", "Gold")
                .unwrap();
        }
        // A new snapshot with the same Gold: still exhausted.
        let second = Limits::build(std::slice::from_ref(&gold), Some(&first), &clock);
        assert!(
            second
                .check("acme", "app", "alice", "Unlimited", "api", "Gold")
                .is_err()
        );
        // Gold changed: a fresh limiter with the new quota.
        let mut bigger = gold;
        bigger.requests = 10;
        let third = Limits::build(&[bigger], Some(&second), &clock);
        let a = third
            .check("acme", "app", "alice", "Unlimited", "api", "Gold")
            .unwrap()
            .unwrap();
        assert_eq!((a.limit, a.remaining), (10, 9));
        // No policy by that name (Unlimited), or another organization's: no limit.
        assert_eq!(
            third.check("acme", "app", "alice", "Unlimited", "api", "Unlimited"),
            Ok(None)
        );
        assert_eq!(
            third.check("other", "app", "alice", "Unlimited", "api", "Gold"),
            Ok(None)
        );
    }

    #[test]
    fn the_application_level_counts_per_end_user_and_comes_first() {
        let clock = FakeRelativeClock::default();
        let limits = Limits::build(
            &[
                policy("application", "2PerMin", 2, 60, None),
                policy("subscription", "Gold", 100, 60, None),
            ],
            None,
            &clock,
        );
        let call = |user: &str| limits.check("acme", "app", user, "2PerMin", "api", "Gold");
        call("alice").unwrap();
        let a = call("alice").unwrap().unwrap();
        assert_eq!(
            (a.limit, a.remaining),
            (2, 0),
            "the tighter allowance is reported"
        );
        let t = call("alice").unwrap_err();
        assert_eq!(
            (t.level.as_str(), t.policy.as_str()),
            ("application", "2PerMin")
        );
        assert!(
            call("bob").is_ok(),
            "another end user of the same application"
        );
    }

    #[test]
    fn idle_callers_are_forgotten() {
        let clock = FakeRelativeClock::default();
        let l =
            PolicyLimiter::with_clock(policy("subscription", "Gold", 10, 1, None), clock.clone());
        for i in 0..1000 {
            l.check(&format!("caller-{i}")).unwrap();
        }
        assert_eq!(l.keys(), 1000);
        clock.advance(Duration::from_secs(2));
        l.evict_idle();
        assert_eq!(l.keys(), 0);
    }

    #[test]
    fn a_data_limit_counts_request_and_response_bodies_per_caller() {
        let clock = FakeRelativeClock::default();
        // 1 KB a minute, at most 3 requests a second.
        let mut p = policy("subscription", "1KBPerMin", 0, 60, Some((3, 1)));
        p.bytes = Some(1024);
        let l = PolicyLimiter::with_clock(p, clock.clone());
        let take = |key: &str, n| match l.check_with(key, true, n) {
            Ok(Counted::Bytes(b)) => Ok(b),
            Ok(Counted::Requests(_)) => panic!("a data limit counts bytes"),
            Err(t) => Err(t),
        };
        let budget = take("app/api", 200).unwrap();
        // The response's 800 bytes arrive: 1,000 of 1,024 used.
        charge_responses(&[budget], &content_length_headers(800));
        let t = take("app/api", 100).unwrap_err();
        assert!(t.bytes && !t.burst);
        assert_eq!(
            (t.level.as_str(), t.policy.as_str(), t.limit),
            ("subscription", "1KBPerMin", 1024)
        );
        // 76 bytes over the minute's budget: 76/1024 of a minute to wait.
        assert_eq!(t.retry_after.as_millis(), 4453);
        // A request without a body still fits, and another caller has its own budget.
        assert!(take("app/api", 0).is_ok());
        // That was the third request this second: burst control (requests) still applies.
        assert!(take("other/api", 1000).is_ok());
        let t = take("app/api", 0).unwrap_err();
        assert!(t.burst && !t.bytes);
        clock.advance(Duration::from_secs(5));
        assert!(take("app/api", 100).is_ok());
        assert_eq!(l.keys(), 2 + 2, "two budgets, two burst cells");
        clock.advance(Duration::from_secs(120));
        l.evict_idle();
        assert_eq!(l.keys(), 0, "refilled budgets are forgotten");
    }

    #[test]
    fn a_data_limit_that_does_not_stop_at_the_quota_only_counts() {
        let clock = FakeRelativeClock::default();
        let mut p = policy("application", "Billed", 0, 60, None);
        p.bytes = Some(100);
        p.stop_on_quota_reach = false;
        let l = PolicyLimiter::with_clock(p, clock);
        for _ in 0..5 {
            assert!(l.check_with("k", true, 1000).is_ok());
        }
    }

    fn content_length_headers(n: u64) -> hyper::HeaderMap {
        let mut h = hyper::HeaderMap::new();
        h.insert(hyper::header::CONTENT_LENGTH, n.into());
        h
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_secs(12)), 12);
        assert_eq!(retry_after_seconds(Duration::from_millis(12_001)), 13);
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
    }
}
