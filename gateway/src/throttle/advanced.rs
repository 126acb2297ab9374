//! Advanced policies (WSO2's API and resource level throttling): an API, and each of its
//! operations, may name a policy that counts every request sent to it, whoever sends it. A
//! request matching every condition of one of the policy's conditional groups (the first such
//! group) counts against that group's limit; any other against the default limit.
//!
//! Everything is compiled when a snapshot is built: conditions into regexes and parsed
//! addresses, and one counter per (API or operation, group), so a request only evaluates
//! conditions and counts. Counters of an API or operation whose policy did not change carry
//! over to the next snapshot. Request counts use GCRA (governor); bandwidth limits use a GCRA
//! cell charged with the request body's Content-Length before forwarding and the response's
//! once its head arrives (bytes already sent cannot be refused: they make the next requests
//! wait).

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::RateLimiter;
use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use hyper::header::{HeaderMap, HeaderName};
use regex::Regex;

use super::{Allowance, Throttled, quota};
use crate::auth::Caller;
use crate::snapshot::{AdvancedPolicy, Condition, Limit, Rate, Snapshot};

/// Claims the gateway knows of every caller (also of API-key callers), as WSO2's backend JWT
/// names them; conditions on them need no token claims kept.
const WSO2_CLAIMS: &str = "http://wso2.org/claims/";

/// What a condition looks at in one request.
pub struct RequestFacts<'a> {
    pub headers: &'a HeaderMap,
    /// The raw query string.
    pub query: Option<&'a str>,
    pub peer: IpAddr,
    /// The authenticated caller (none on open operations).
    pub caller: Option<&'a Caller>,
}

enum Test {
    Header(HeaderName, Regex),
    Query(String, Regex),
    Ip(IpAddr),
    /// Inclusive, both of one family (IPv4 as IPv4).
    IpRange(IpAddr, IpAddr),
    Claim(String, Regex),
}

struct Compiled {
    test: Test,
    invert: bool,
}

/// An IPv4 client seen as an IPv4-mapped IPv6 address is an IPv4 client.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

impl Compiled {
    /// `None` for a condition `Snapshot::problems` refuses (never served).
    fn new(c: &Condition) -> Option<Compiled> {
        let ip = |s: &str| s.trim().parse::<IpAddr>().ok().map(canonical);
        let pattern = |p: &str| crate::snapshot::pattern_regex(p).ok();
        let (test, invert) = match c {
            Condition::Header {
                name,
                pattern: p,
                invert,
            } => (
                Test::Header(
                    HeaderName::from_bytes(name.trim().as_bytes()).ok()?,
                    pattern(p)?,
                ),
                *invert,
            ),
            Condition::Query {
                name,
                pattern: p,
                invert,
            } => (Test::Query(name.clone(), pattern(p)?), *invert),
            Condition::Claim {
                name,
                pattern: p,
                invert,
            } => (Test::Claim(name.clone(), pattern(p)?), *invert),
            Condition::Ip { address, invert } => (Test::Ip(ip(address)?), *invert),
            Condition::IpRange { from, to, invert } => (Test::IpRange(ip(from)?, ip(to)?), *invert),
        };
        Some(Compiled { test, invert })
    }

    fn holds(&self, r: &RequestFacts<'_>) -> bool {
        let found = match &self.test {
            Test::Header(name, re) => r
                .headers
                .get_all(name)
                .iter()
                .any(|v| v.to_str().is_ok_and(|v| re.is_match(v))),
            Test::Query(name, re) => query_values(r.query, name).any(|v| re.is_match(&v)),
            Test::Ip(ip) => canonical(r.peer) == *ip,
            Test::IpRange(from, to) => {
                let peer = canonical(r.peer);
                peer.is_ipv4() == from.is_ipv4() && *from <= peer && peer <= *to
            }
            Test::Claim(name, re) => r
                .caller
                .and_then(|c| claim(c, name))
                .is_some_and(|v| re.is_match(v)),
        };
        found != self.invert
    }
}

/// The decoded values of the query parameter `name` (names compared decoded too).
fn query_values<'q>(query: Option<&'q str>, name: &'q str) -> impl Iterator<Item = Cow<'q, str>> {
    query
        .unwrap_or_default()
        .split('&')
        .filter_map(move |pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decoded(k) == name).then(|| decoded(v))
        })
}

fn decoded(s: &str) -> Cow<'_, str> {
    if s.contains(['%', '+']) {
        Cow::Owned(crate::proxy::percent_decode(s))
    } else {
        Cow::Borrowed(s)
    }
}

/// A claim the gateway knows of every caller (`http://wso2.org/claims/…`).
fn known_claim<'c>(caller: &'c Caller, name: &str) -> Option<&'c str> {
    Some(match name.strip_prefix(WSO2_CLAIMS)? {
        "applicationid" => caller.application_id.as_str(),
        "applicationname" => caller.application_name.as_str(),
        "subscriber" => caller.subscriber.as_str(),
        "enduser" => caller.end_user.as_str(),
        "applicationtier" => caller.app_tier.as_str(),
        "tier" => caller.sub_tier.as_str(),
        "keytype" => caller.key_type.as_str(),
        "organization" => caller.organization.as_str(),
        _ => return None,
    })
}

fn is_known_claim(name: &str) -> bool {
    name.strip_prefix(WSO2_CLAIMS).is_some_and(|short| {
        [
            "applicationid",
            "applicationname",
            "subscriber",
            "enduser",
            "applicationtier",
            "tier",
            "keytype",
            "organization",
        ]
        .contains(&short)
    })
}

/// A claim of the caller: those the gateway knows of every caller, then the token's own.
pub fn claim<'c>(caller: &'c Caller, name: &str) -> Option<&'c str> {
    known_claim(caller, name).or_else(|| {
        caller
            .claims
            .as_deref()?
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    })
}

/// The token claims the snapshot's advanced policies test, besides those the gateway knows
/// of every caller (the gateway keeps only these of each verified token; none when no policy
/// looks at token claims).
pub fn token_claims(snapshot: &Snapshot) -> Vec<String> {
    let mut names: Vec<String> = snapshot
        .advanced_policies
        .iter()
        .flat_map(|p| &p.conditional_groups)
        .flat_map(|g| &g.conditions)
        .filter_map(|c| match c {
            Condition::Claim { name, .. } if !is_known_claim(name) => Some(name.clone()),
            _ => None,
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A tag for a set of kept claim names: tokens verified while another set applied are
/// verified again (their kept claims would be the wrong ones). 0 when none are kept.
pub fn claims_tag(names: &[String]) -> u64 {
    if names.is_empty() {
        return 0;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    names.hash(&mut h);
    h.finish() | 1
}

/// A policy's conditions, compiled once per snapshot.
struct Policy {
    spec: AdvancedPolicy,
    /// Per conditional group: its conditions (a group without any never matches).
    groups: Vec<Vec<Compiled>>,
}

impl Policy {
    fn new(spec: &AdvancedPolicy) -> Policy {
        let groups = spec
            .conditional_groups
            .iter()
            .map(|g| {
                let compiled: Option<Vec<Compiled>> =
                    g.conditions.iter().map(Compiled::new).collect();
                // A condition that does not compile (refused by `problems`) disables its group.
                compiled.unwrap_or_default()
            })
            .collect();
        Policy {
            spec: spec.clone(),
            groups,
        }
    }

    /// The first group whose conditions all hold.
    fn group(&self, r: &RequestFacts<'_>) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| !g.is_empty() && g.iter().all(|c| c.holds(r)))
    }
}

type Direct<C> = RateLimiter<NotKeyed, InMemoryState, C, StateInformationMiddleware>;

/// One counter: requests (governor) or bytes.
enum Bucket<C: Clock> {
    Requests {
        limiter: Direct<C>,
        rate: Rate,
        clock: C,
    },
    Bytes(ByteBucket<C>),
}

impl<C: Clock + Clone> Bucket<C> {
    fn new(limit: &Limit, clock: &C) -> Bucket<C> {
        match (limit.requests, limit.bytes) {
            (_, Some(bytes)) => Bucket::Bytes(ByteBucket::new(bytes, limit.period_seconds, clock)),
            (requests, None) => {
                let rate = Rate {
                    requests: requests.unwrap_or(1),
                    period_seconds: limit.period_seconds,
                };
                Bucket::Requests {
                    limiter: RateLimiter::direct_with_clock(quota(&rate), clock.clone())
                        .with_middleware::<StateInformationMiddleware>(),
                    rate,
                    clock: clock.clone(),
                }
            }
        }
    }
}

/// A GCRA cell counting bytes: `amount` per `period`, all of it usable at once. Unlike
/// governor's, it can be charged after the fact (a response already on its way).
pub struct ByteBucket<C: Clock = DefaultClock> {
    /// Theoretical arrival time: nanoseconds after `start` when everything charged so far is
    /// paid off.
    tat: AtomicU64,
    start: C::Instant,
    clock: C,
    period_ns: u64,
    amount: u64,
}

impl<C: Clock> std::fmt::Debug for ByteBucket<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteBucket")
            .field("amount", &self.amount)
            .field("period_ns", &self.period_ns)
            .field("tat", &self.tat)
            .finish()
    }
}

impl<C: Clock> ByteBucket<C> {
    pub(crate) fn new(amount: u64, period_seconds: u64, clock: &C) -> ByteBucket<C>
    where
        C: Clone,
    {
        ByteBucket {
            tat: AtomicU64::new(0),
            start: clock.now(),
            clock: clock.clone(),
            period_ns: Duration::from_secs(period_seconds.max(1))
                .as_nanos()
                .min(u128::from(u64::MAX)) as u64,
            amount: amount.max(1),
        }
    }

    fn now_ns(&self) -> u64 {
        self.clock.now().duration_since(self.start).as_u64()
    }

    fn cost_ns(&self, bytes: u64) -> u64 {
        let ns = u128::from(bytes) * u128::from(self.period_ns) / u128::from(self.amount);
        ns.min(u128::from(u64::MAX)) as u64
    }

    /// Takes `bytes` if the budget has room (a body larger than the whole budget passes only
    /// when nothing is owed): the bytes left, or how long to wait.
    pub fn take(&self, bytes: u64) -> Result<u64, Duration> {
        let now = self.now_ns();
        let cost = self.cost_ns(bytes);
        let mut tat = self.tat.load(Ordering::Acquire);
        loop {
            let base = tat.max(now);
            let next = base.saturating_add(cost);
            let owed = next - now;
            if owed > self.period_ns && base > now {
                let wait = (owed - self.period_ns).min(base - now);
                return Err(Duration::from_nanos(wait.max(1)));
            }
            match self
                .tat
                .compare_exchange_weak(tat, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(self.left(owed)),
                Err(current) => tat = current,
            }
        }
    }

    /// Charges `bytes` already sent, whatever the budget says.
    pub fn charge(&self, bytes: u64) {
        if bytes == 0 {
            return;
        }
        let now = self.now_ns();
        let cost = self.cost_ns(bytes);
        let _ = self
            .tat
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |tat| {
                Some(tat.max(now).saturating_add(cost))
            });
    }

    /// Everything charged is paid off: the budget is whole, as a new one would be.
    pub fn is_idle(&self) -> bool {
        self.tat.load(Ordering::Acquire) <= self.now_ns()
    }

    /// Bytes per period.
    pub fn amount(&self) -> u64 {
        self.amount
    }

    fn left(&self, owed_ns: u64) -> u64 {
        let free = self.period_ns.saturating_sub(owed_ns);
        (u128::from(free) * u128::from(self.amount) / u128::from(self.period_ns)) as u64
    }
}

/// The counters of one API or operation under its policy.
pub struct Counters<C: Clock = DefaultClock> {
    policy: Arc<Policy>,
    /// `api` or `resource`.
    level: &'static str,
    default: Bucket<C>,
    groups: Vec<Bucket<C>>,
}

impl<C: Clock + Clone> Counters<C> {
    fn new(policy: Arc<Policy>, level: &'static str, clock: &C) -> Counters<C> {
        Counters {
            default: Bucket::new(&policy.spec.default_limit, clock),
            groups: policy
                .spec
                .conditional_groups
                .iter()
                .map(|g| Bucket::new(&g.limit, clock))
                .collect(),
            policy,
            level,
        }
    }

    fn refused(&self, limit: u64, wait: Duration, bytes: bool) -> Throttled {
        Throttled {
            level: self.level.to_string(),
            policy: self.policy.spec.name.clone(),
            burst: false,
            limit,
            retry_after: wait,
            bytes,
        }
    }

    /// Counts one request (and its body) against the bucket its group picks.
    fn check(&self, r: &RequestFacts<'_>, request_bytes: u64) -> Result<Counted<'_, C>, Throttled> {
        let bucket = match self.policy.group(r) {
            Some(g) => &self.groups[g],
            None => &self.default,
        };
        match bucket {
            Bucket::Requests {
                limiter,
                rate,
                clock,
            } => match limiter.check() {
                Ok(state) => {
                    let limit = rate.requests;
                    let remaining = u64::from(state.remaining_burst_capacity());
                    let per_request = rate.period_seconds as f64 / limit.max(1) as f64;
                    let reset = ((limit - remaining.min(limit)) as f64 * per_request).ceil() as u64;
                    Ok(Counted::Requests(Allowance {
                        limit,
                        remaining,
                        reset_seconds: reset,
                    }))
                }
                Err(not_until) => {
                    Err(self.refused(rate.requests, not_until.wait_time_from(clock.now()), false))
                }
            },
            Bucket::Bytes(b) => match b.take(request_bytes) {
                Ok(_) => Ok(Counted::Bytes(b)),
                Err(wait) => Err(self.refused(b.amount, wait, true)),
            },
        }
    }
}

enum Counted<'a, C: Clock> {
    Requests(Allowance),
    Bytes(&'a ByteBucket<C>),
}

/// A request the advanced policies let through: the allowance to report, and the byte
/// budgets its response is charged to.
pub struct Passed<'a, C: Clock = DefaultClock> {
    pub allowance: Option<Allowance>,
    bytes: [Option<&'a ByteBucket<C>>; 2],
}

impl<C: Clock> Default for Passed<'_, C> {
    fn default() -> Self {
        Passed {
            allowance: None,
            bytes: [None, None],
        }
    }
}

impl<C: Clock> Passed<'_, C> {
    /// Charges the response body (by its Content-Length) to the bandwidth limits that
    /// counted the request.
    pub fn count_response(&self, headers: &HeaderMap) {
        if self.bytes.iter().all(Option::is_none) {
            return;
        }
        let length = content_length(headers);
        for b in self.bytes.iter().flatten() {
            b.charge(length);
        }
    }
}

/// A message's Content-Length (0 when absent or not a number: chunked bodies are not counted).
pub fn content_length(headers: &HeaderMap) -> u64 {
    headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Where counters live: (API id, operation method and target for resource level).
type Site = (String, Option<(String, String)>);

/// An API's counters and, when any of its operations has a policy, each operation's.
type ApiCounters<C> = (Option<Arc<Counters<C>>>, Vec<Option<Arc<Counters<C>>>>);

/// The advanced-policy counters of one snapshot, by API and operation (snapshot order).
pub struct Advanced<C: Clock = DefaultClock> {
    apis: Vec<ApiCounters<C>>,
    by_site: HashMap<Site, Arc<Counters<C>>>,
}

impl<C: Clock + Clone> Default for Advanced<C> {
    fn default() -> Self {
        Advanced {
            apis: Vec::new(),
            by_site: HashMap::new(),
        }
    }
}

impl<C: Clock + Clone> Advanced<C> {
    /// Counters for the APIs and operations of `snapshot` that name a limited policy of their
    /// organization; those of `previous` whose policy did not change are kept (their counts
    /// carry on).
    pub fn build(snapshot: &Snapshot, previous: Option<&Advanced<C>>, clock: &C) -> Self {
        let mut out = Advanced::default();
        if snapshot.advanced_policies.is_empty() {
            return out;
        }
        let mut compiled: HashMap<(&str, &str), Arc<Policy>> = HashMap::new();
        for p in &snapshot.advanced_policies {
            compiled.insert((&p.organization, &p.name), Arc::new(Policy::new(p)));
        }
        let mut counters = |site: Site, organization: &str, name: Option<&String>, level| {
            let policy = compiled.get(&(organization, name?.as_str()))?;
            let kept = previous
                .and_then(|old| old.by_site.get(&site))
                .filter(|c| c.policy.spec == policy.spec && c.level == level)
                .cloned();
            let c = kept.unwrap_or_else(|| Arc::new(Counters::new(policy.clone(), level, clock)));
            out.by_site.insert(site, c.clone());
            Some(c)
        };
        let mut apis = Vec::with_capacity(snapshot.apis.len());
        for api in &snapshot.apis {
            let own = counters(
                (api.id.clone(), None),
                &api.organization,
                api.throttling_policy.as_ref(),
                "api",
            );
            let ops = if api.operations.iter().any(|o| o.throttling_policy.is_some()) {
                api.operations
                    .iter()
                    .map(|o| {
                        counters(
                            (api.id.clone(), Some((o.method.clone(), o.target.clone()))),
                            &api.organization,
                            o.throttling_policy.as_ref(),
                            "resource",
                        )
                    })
                    .collect()
            } else {
                Vec::new()
            };
            apis.push((own, ops));
        }
        if !out.by_site.is_empty() {
            out.apis = apis;
        }
        out
    }

    /// No API or operation here is limited.
    pub fn is_empty(&self) -> bool {
        self.by_site.is_empty()
    }

    /// Counts a request to `operation` of API `index`: the API's policy, then the operation's.
    /// `request_bytes` is the request body's Content-Length.
    pub fn check(
        &self,
        index: usize,
        operation: usize,
        r: &RequestFacts<'_>,
        request_bytes: u64,
    ) -> Result<Passed<'_, C>, Throttled> {
        let mut passed = Passed::default();
        let Some((api, ops)) = self.apis.get(index) else {
            return Ok(passed);
        };
        let op = ops.get(operation).and_then(Option::as_ref);
        for (slot, c) in [api.as_ref(), op].into_iter().enumerate() {
            let Some(c) = c else { continue };
            match c.check(r, request_bytes)? {
                Counted::Requests(a) => passed.allowance = super::tighter(passed.allowance, a),
                Counted::Bytes(b) => passed.bytes[slot] = Some(b),
            }
        }
        Ok(passed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Api, ConditionalGroup, KeyType, Operation};
    use governor::clock::FakeRelativeClock;
    use hyper::header::HeaderValue;

    fn requests(n: u64, period: u64) -> Limit {
        Limit {
            requests: Some(n),
            bytes: None,
            period_seconds: period,
        }
    }

    fn header(name: &str, pattern: &str, invert: bool) -> Condition {
        Condition::Header {
            name: name.into(),
            pattern: pattern.into(),
            invert,
        }
    }

    fn facts<'a>(headers: &'a HeaderMap, query: Option<&'a str>, peer: &str) -> RequestFacts<'a> {
        RequestFacts {
            headers,
            query,
            peer: peer.parse().unwrap(),
            caller: None,
        }
    }

    fn compiled(c: Condition) -> Compiled {
        Compiled::new(&c).expect("compiles")
    }

    #[test]
    fn conditions_match_headers_queries_and_addresses() {
        let mut h = HeaderMap::new();
        h.insert("x-tier", HeaderValue::from_static("gold-partner"));
        let r = facts(&h, Some("a=1&city=New%20York&b"), "10.0.0.5");
        // Header names are case-insensitive; patterns are found anywhere (WSO2's `find`).
        assert!(compiled(header("X-Tier", "gold", false)).holds(&r));
        assert!(!compiled(header("X-Tier", "^gold$", false)).holds(&r));
        assert!(compiled(header("X-Tier", "^gold$", true)).holds(&r));
        assert!(!compiled(header("X-Other", ".*", false)).holds(&r));
        assert!(
            compiled(header("X-Other", ".*", true)).holds(&r),
            "absent: inverted holds"
        );
        let query = |name: &str, pattern: &str| Condition::Query {
            name: name.into(),
            pattern: pattern.into(),
            invert: false,
        };
        assert!(compiled(query("city", "^New York$")).holds(&r), "decoded");
        assert!(
            compiled(query("b", "^$")).holds(&r),
            "a parameter without a value"
        );
        assert!(!compiled(query("c", ".*")).holds(&r));
        let ip = |a: &str| Condition::Ip {
            address: a.into(),
            invert: false,
        };
        let range = |from: &str, to: &str, invert| Condition::IpRange {
            from: from.into(),
            to: to.into(),
            invert,
        };
        assert!(compiled(ip("10.0.0.5")).holds(&r));
        assert!(!compiled(ip("10.0.0.6")).holds(&r));
        assert!(compiled(range("10.0.0.1", "10.0.0.9", false)).holds(&r));
        assert!(!compiled(range("10.0.0.6", "10.0.0.9", false)).holds(&r));
        assert!(compiled(range("10.0.0.6", "10.0.0.9", true)).holds(&r));
        // IPv6, and IPv4 clients arriving as IPv4-mapped IPv6 addresses.
        let v6 = facts(&h, None, "2001:db8::17");
        assert!(compiled(range("2001:db8::1", "2001:db8::ff", false)).holds(&v6));
        assert!(!compiled(range("10.0.0.1", "10.0.0.9", false)).holds(&v6));
        let mapped = facts(&h, None, "::ffff:10.0.0.5");
        assert!(compiled(ip("10.0.0.5")).holds(&mapped));
        assert!(compiled(range("10.0.0.1", "10.0.0.9", false)).holds(&mapped));
    }

    fn caller(claims: &[(&str, &str)]) -> Caller {
        Caller {
            key_type: KeyType::Production,
            application_id: "app-1".into(),
            application_name: "Mobile".into(),
            subscriber: "alice".into(),
            organization: "acme".into(),
            app_tier: "Unlimited".into(),
            sub_tier: "Gold".into(),
            end_user: "alice@acme".into(),
            scopes: vec![],
            credential_exp: None,
            claims: (!claims.is_empty()).then(|| {
                claims
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            }),
        }
    }

    #[test]
    fn claim_conditions_read_the_callers_token_and_what_the_gateway_knows() {
        let h = HeaderMap::new();
        let c = caller(&[("department", "sales-emea")]);
        let mut r = facts(&h, None, "127.0.0.1");
        r.caller = Some(&c);
        let claim = |name: &str, pattern: &str, invert| Condition::Claim {
            name: name.into(),
            pattern: pattern.into(),
            invert,
        };
        assert!(compiled(claim("department", "^sales", false)).holds(&r));
        assert!(!compiled(claim("department", "^hr", false)).holds(&r));
        assert!(
            compiled(claim(
                "http://wso2.org/claims/applicationname",
                "^Mobile$",
                false
            ))
            .holds(&r)
        );
        assert!(compiled(claim("http://wso2.org/claims/tier", "Gold", false)).holds(&r));
        assert!(!compiled(claim("missing", ".*", false)).holds(&r));
        // No caller (an open operation): no claim holds, its inversion does.
        r.caller = None;
        assert!(!compiled(claim("department", ".*", false)).holds(&r));
        assert!(compiled(claim("department", ".*", true)).holds(&r));
    }

    fn snapshot(
        policy: AdvancedPolicy,
        api_policy: Option<&str>,
        op_policy: Option<&str>,
    ) -> Snapshot {
        Snapshot {
            version: 1,
            apis: vec![Api {
                id: "api-1".into(),
                organization: "acme".into(),
                throttling_policy: api_policy.map(str::to_string),
                operations: vec![
                    Operation {
                        method: "GET".into(),
                        target: "/a".into(),
                        throttling_policy: op_policy.map(str::to_string),
                        ..Default::default()
                    },
                    Operation {
                        method: "GET".into(),
                        target: "/b".into(),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            advanced_policies: vec![policy],
            ..Default::default()
        }
    }

    fn partners(default: u64, gold: u64) -> AdvancedPolicy {
        AdvancedPolicy {
            organization: "acme".into(),
            name: "Partners".into(),
            default_limit: requests(default, 60),
            conditional_groups: vec![
                ConditionalGroup {
                    conditions: vec![header("X-Partner", "^gold$", false)],
                    limit: requests(gold, 60),
                },
                // Never reached for gold partners: the first matching group wins.
                ConditionalGroup {
                    conditions: vec![header("X-Partner", ".*", false)],
                    limit: requests(1, 60),
                },
            ],
        }
    }

    #[test]
    fn the_first_matching_group_counts_on_its_own_and_others_on_the_default() {
        let clock = FakeRelativeClock::default();
        let adv = Advanced::build(
            &snapshot(partners(3, 5), Some("Partners"), None),
            None,
            &clock,
        );
        let plain = HeaderMap::new();
        let mut gold = HeaderMap::new();
        gold.insert("x-partner", HeaderValue::from_static("gold"));
        let mut silver = HeaderMap::new();
        silver.insert("x-partner", HeaderValue::from_static("silver"));
        let call = |h: &HeaderMap, op| adv.check(0, op, &facts(h, None, "127.0.0.1"), 0);
        for i in 0..3 {
            // Every operation of the API counts against the API's policy.
            let a = call(&plain, i % 2).unwrap().allowance.unwrap();
            assert_eq!((a.limit, a.remaining), (3, 2 - i as u64));
        }
        let t = call(&plain, 0).err().expect("default limit reached");
        assert_eq!(
            (t.level.as_str(), t.policy.as_str(), t.limit),
            ("api", "Partners", 3)
        );
        assert_eq!(t.retry_after, Duration::from_secs(20));
        // Gold partners have their own 5, untouched by the default's use.
        for _ in 0..5 {
            assert_eq!(call(&gold, 0).unwrap().allowance.unwrap().limit, 5);
        }
        assert!(call(&gold, 0).is_err());
        // Silver matches the second group only: 1.
        assert!(call(&silver, 0).is_ok());
        assert!(call(&silver, 0).is_err());
        clock.advance(Duration::from_secs(20));
        assert!(call(&plain, 0).is_ok());
    }

    #[test]
    fn the_api_level_comes_first_then_the_operation() {
        let clock = FakeRelativeClock::default();
        let mut s = snapshot(partners(100, 100), Some("Partners"), Some("Two"));
        s.advanced_policies.push(AdvancedPolicy {
            organization: "acme".into(),
            name: "Two".into(),
            default_limit: requests(2, 60),
            conditional_groups: vec![],
        });
        let adv = Advanced::build(&s, None, &clock);
        let h = HeaderMap::new();
        let call = |op| adv.check(0, op, &facts(&h, None, "127.0.0.1"), 0);
        let a = call(0).unwrap().allowance.unwrap();
        assert_eq!(
            (a.limit, a.remaining),
            (2, 1),
            "the tighter allowance is reported"
        );
        call(0).unwrap();
        let t = call(0).err().unwrap();
        assert_eq!((t.level.as_str(), t.policy.as_str()), ("resource", "Two"));
        // /b has no policy of its own: only the API's counts.
        assert_eq!(call(1).unwrap().allowance.unwrap().limit, 100);
        // Another organization's policy of the same name does not apply; neither does a name
        // the snapshot lacks (Unlimited).
        let mut other = snapshot(partners(1, 1), Some("Partners"), Some("Unlimited"));
        other.advanced_policies[0].organization = "other".into();
        let none = Advanced::build(&other, None, &clock);
        assert!(none.is_empty());
        assert!(
            none.check(0, 0, &facts(&h, None, "127.0.0.1"), 0)
                .unwrap()
                .allowance
                .is_none()
        );
    }

    #[test]
    fn counters_survive_a_swap_unless_the_policy_changes() {
        let clock = FakeRelativeClock::default();
        let s = snapshot(partners(2, 5), Some("Partners"), None);
        let first = Advanced::build(&s, None, &clock);
        let h = HeaderMap::new();
        let r = facts(&h, None, "127.0.0.1");
        first.check(0, 0, &r, 0).unwrap();
        first.check(0, 0, &r, 0).unwrap();
        let second = Advanced::build(&s, Some(&first), &clock);
        assert!(second.check(0, 0, &r, 0).is_err(), "still used up");
        let third = Advanced::build(
            &snapshot(partners(3, 5), Some("Partners"), None),
            Some(&second),
            &clock,
        );
        assert_eq!(
            third
                .check(0, 0, &r, 0)
                .unwrap()
                .allowance
                .unwrap()
                .remaining,
            2
        );
    }

    #[test]
    fn bandwidth_counts_request_and_response_bodies() {
        let clock = FakeRelativeClock::default();
        let policy = AdvancedPolicy {
            organization: "acme".into(),
            name: "OneKBPerMin".into(),
            default_limit: Limit {
                requests: None,
                bytes: Some(1024),
                period_seconds: 60,
            },
            conditional_groups: vec![],
        };
        let adv = Advanced::build(&snapshot(policy, None, Some("OneKBPerMin")), None, &clock);
        let h = HeaderMap::new();
        let r = facts(&h, None, "127.0.0.1");
        let passed = adv.check(0, 0, &r, 400).unwrap();
        assert!(
            passed.allowance.is_none(),
            "no request-count headers for bytes"
        );
        let mut resp = HeaderMap::new();
        resp.insert(
            hyper::header::CONTENT_LENGTH,
            HeaderValue::from_static("500"),
        );
        passed.count_response(&resp);
        // 900 of 1024 used: 100 more fit, 200 do not.
        assert!(adv.check(0, 0, &r, 100).is_ok());
        let t = adv.check(0, 0, &r, 200).err().unwrap();
        assert!(t.bytes);
        assert_eq!(t.limit, 1024);
        // A response bigger than what is left still counts: the next requests wait.
        adv.check(0, 0, &r, 0).unwrap().count_response(&{
            let mut big = HeaderMap::new();
            big.insert(
                hyper::header::CONTENT_LENGTH,
                HeaderValue::from_static("2048"),
            );
            big
        });
        let t = adv.check(0, 0, &r, 0).err().unwrap();
        assert!(
            t.retry_after > Duration::from_secs(100),
            "{:?}",
            t.retry_after
        );
        clock.advance(Duration::from_secs(180));
        assert!(
            adv.check(0, 0, &r, 1024).is_ok(),
            "paid off after three minutes"
        );
        // Operations without a policy are not counted.
        assert!(adv.check(0, 1, &r, 1 << 30).is_ok());
    }

    #[test]
    fn a_body_larger_than_the_whole_budget_passes_only_on_a_full_budget() {
        let clock = FakeRelativeClock::default();
        let b = ByteBucket::new(1000, 10, &clock);
        assert_eq!(b.take(5000), Ok(0));
        assert!(b.take(1).is_err());
        clock.advance(Duration::from_secs(50));
        assert_eq!(b.take(0), Ok(1000));
    }

    #[test]
    fn claim_names_to_keep_come_from_the_policies() {
        let mut p = partners(1, 1);
        for name in ["department", "http://wso2.org/claims/applicationname"] {
            p.conditional_groups[0].conditions.push(Condition::Claim {
                name: name.into(),
                pattern: ".".into(),
                invert: false,
            });
        }
        let s = snapshot(p, Some("Partners"), None);
        assert_eq!(token_claims(&s), ["department"]);
        assert_ne!(claims_tag(&token_claims(&s)), 0);
        assert_eq!(claims_tag(&[]), 0);
    }
}
