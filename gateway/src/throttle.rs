//! Rate limiting at the gateway: GCRA limiters (governor) for application policies (per
//! application and end user) and subscription tiers (per application and API), each with
//! optional burst control. Checked after authentication, application level first.
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

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::snapshot::{Rate, ThrottlingPolicy};

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
    quota: Keyed<C>,
    burst: Option<Keyed<C>>,
    clock: C,
}

/// A request let through: what the rate-limit headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the quota is whole again.
    pub reset_seconds: u64,
}

/// A request refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttled {
    /// `application`, `subscription`, or for advanced policies `api` or `resource`.
    pub level: String,
    pub policy: String,
    /// The quota or the burst control.
    pub burst: bool,
    /// Requests, or (`bytes`, an advanced policy's bandwidth limit) bytes.
    pub limit: u64,
    pub retry_after: Duration,
    pub bytes: bool,
}

impl<C: Clock + Clone> PolicyLimiter<C> {
    pub fn with_clock(spec: ThrottlingPolicy, clock: C) -> Self {
        let main = Rate {
            requests: spec.requests,
            period_seconds: spec.period_seconds,
        };
        PolicyLimiter {
            quota: RateLimiter::dashmap_with_clock(quota(&main), clock.clone())
                .with_middleware::<StateInformationMiddleware>(),
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

    /// Counts one request of `key`.
    pub fn check(&self, key: &str) -> Result<Allowance, Throttled> {
        self.check_with(key, true)
    }

    /// `check`, leaving burst control out when `local_burst` is false (the gateways of the
    /// environment count it together, `crate::cluster`).
    pub fn check_with(&self, key: &str, local_burst: bool) -> Result<Allowance, Throttled> {
        let key = key.to_string();
        if let Some(b) = self.burst.as_ref().filter(|_| local_burst) {
            let limit = self.spec.burst.as_ref().map_or(0, |r| r.requests);
            if let Err(not_until) = b.check_key(&key) {
                return Err(self.refused(true, limit, not_until.wait_time_from(self.clock.now())));
            }
        }
        let limit = self.spec.requests;
        match self.quota.check_key(&key) {
            Ok(state) => {
                let remaining = u64::from(state.remaining_burst_capacity());
                let per_request = self.spec.period_seconds as f64 / limit.max(1) as f64;
                let reset = ((limit - remaining.min(limit)) as f64 * per_request).ceil() as u64;
                Ok(Allowance {
                    limit,
                    remaining,
                    reset_seconds: reset,
                })
            }
            // Over the quota but not stopping there: let through, to be billed.
            Err(_) if !self.spec.stop_on_quota_reach => Ok(Allowance {
                limit,
                remaining: 0,
                reset_seconds: self.spec.period_seconds,
            }),
            Err(not_until) => {
                Err(self.refused(false, limit, not_until.wait_time_from(self.clock.now())))
            }
        }
    }

    /// Callers tracked now.
    pub fn keys(&self) -> usize {
        self.quota.len() + self.burst.as_ref().map_or(0, |b| b.len())
    }

    /// Forgets callers whose buckets have refilled (they look like new ones anyway).
    pub fn evict_idle(&self) {
        self.quota.retain_recent();
        self.quota.shrink_to_fit();
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
            tightest = tighter(tightest, l.check(&key)?);
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
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_secs(12)), 12);
        assert_eq!(retry_after_seconds(Duration::from_millis(12_001)), 13);
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
    }
}
