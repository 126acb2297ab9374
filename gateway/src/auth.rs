//! Who is calling: bearer JWTs from the snapshot's key managers or API keys, then the
//! subscription, scope and organization checks, and the backend JWT. Built once per snapshot
//! (`Security::build`); verified tokens are cached across snapshots by `Verifier`, and only what
//! the signature proves is cached — revocation, application, subscription and scope are checked
//! against the current snapshot on every request.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::header::HeaderValue;
use serde_json::{Map, Value, json};

use crate::jwt::{self, KeySet, Signer, TokenCache, Validation};
use crate::snapshot::{self, KeyType, Snapshot};

/// Why a caller was refused; the proxy renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// 401: no, bad, expired or revoked credentials.
    Unauthenticated(String),
    /// 403: valid credentials without the right (subscription, scope, IP, organization).
    Forbidden(String),
}

struct Manager {
    name: String,
    organization: String,
    global: bool,
    issuer: String,
    keys: Option<Arc<KeySet>>,
    jwks_url: Option<String>,
    validation: Validation,
    consumer_key_claim: String,
    scopes_claim: String,
}

struct App {
    id: String,
    name: String,
    organization: String,
    owner: String,
    tier: String,
}

struct Sub {
    tier: String,
    status: String,
}

struct KeyEntry {
    app: usize,
    key_type: KeyType,
    expires_at: Option<i64>,
    ips: Vec<(IpAddr, u8)>,
    referrers: Vec<String>,
}

/// The authentication part of a snapshot, indexed for the request path.
pub struct Security {
    managers: Vec<Manager>,
    by_issuer: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
    apps: Vec<App>,
    /// (key manager name, consumer key) → (application, key type).
    clients: HashMap<(String, String), (usize, KeyType)>,
    /// (application, API id) → subscription.
    subs: HashMap<(usize, String), Sub>,
    api_keys: HashMap<[u8; 32], KeyEntry>,
    revoked: HashSet<String>,
    pub backend_signer: Option<Arc<Signer>>,
    /// Token claims advanced policies test (kept in `TokenFacts`), and their tag.
    claim_names: Vec<String>,
    claims_tag: u64,
}

/// Claims kept of a token: (name, value as text).
pub type Claims = Arc<[(String, String)]>;

/// What a verified token proves, cached by the token.
#[derive(Debug)]
pub struct TokenFacts {
    manager: String,
    consumer_key: String,
    scopes: Vec<String>,
    sub: String,
    jti: Option<String>,
    exp: i64,
    /// The claims advanced policies test (none when no policy looks at token claims), kept
    /// under `claims_tag`: a token cached under another set is verified again.
    claims: Option<Claims>,
    claims_tag: u64,
}

/// An authenticated, subscribed caller of one API.
pub struct Caller {
    pub key_type: KeyType,
    pub application_id: String,
    pub application_name: String,
    pub subscriber: String,
    pub organization: String,
    pub app_tier: String,
    pub sub_tier: String,
    pub end_user: String,
    pub scopes: Vec<String>,
    /// The credential itself (token or API key), for the backend-JWT cache key.
    pub credential_exp: Option<i64>,
    /// The token claims advanced policies test, when any does.
    pub claims: Option<Claims>,
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    use crate::crypto::lib::digest;
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let hi = (chunk[0] as char).to_digit(16)?;
        let lo = (chunk[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

impl Security {
    pub fn build(s: &Snapshot, leeway_seconds: u64) -> Security {
        let mut managers = Vec::new();
        for km in &s.key_managers {
            let keys = km.jwks.as_ref().and_then(|j| match KeySet::from_jwks(j) {
                Ok(k) => Some(Arc::new(k)),
                Err(e) => {
                    tracing::warn!(key_manager = %km.name, error = %e, "key manager's JWKS is unusable");
                    None
                }
            });
            managers.push(Manager {
                name: km.name.clone(),
                organization: km.organization.clone(),
                global: km.global,
                issuer: km.issuer.clone(),
                keys,
                jwks_url: km.jwks_url.clone(),
                validation: Validation {
                    issuer: Some(km.issuer.clone()),
                    audiences: km.audiences.clone(),
                    leeway_seconds,
                },
                consumer_key_claim: km.consumer_key_claim.clone(),
                scopes_claim: km.scopes_claim.clone(),
            });
        }
        let by_issuer = managers
            .iter()
            .enumerate()
            .map(|(i, m)| (m.issuer.clone(), i))
            .collect();
        let by_name = managers
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name.clone(), i))
            .collect();
        let mut apps = Vec::with_capacity(s.applications.len());
        let mut app_index = HashMap::new();
        let mut clients = HashMap::new();
        for a in &s.applications {
            let i = apps.len();
            app_index.insert(a.id.as_str(), i);
            for k in &a.keys {
                clients.insert(
                    (k.key_manager.clone(), k.consumer_key.clone()),
                    (i, k.key_type),
                );
            }
            apps.push(App {
                id: a.id.clone(),
                name: a.name.clone(),
                organization: a.organization.clone(),
                owner: a.owner.clone(),
                tier: a.tier.clone(),
            });
        }
        let subs = s
            .subscriptions
            .iter()
            .filter_map(|sub| {
                let app = *app_index.get(sub.application_id.as_str())?;
                Some((
                    (app, sub.api_id.clone()),
                    Sub {
                        tier: sub.tier.clone(),
                        status: sub.status.clone(),
                    },
                ))
            })
            .collect();
        let api_keys = s
            .api_keys
            .iter()
            .filter_map(|k| {
                let app = *app_index.get(k.application_id.as_str())?;
                Some((
                    unhex(&k.sha256)?,
                    KeyEntry {
                        app,
                        key_type: k.key_type,
                        expires_at: k.expires_at,
                        ips: k
                            .permitted_ips
                            .iter()
                            .filter_map(|ip| snapshot::parse_cidr(ip))
                            .collect(),
                        referrers: k.permitted_referrers.clone(),
                    },
                ))
            })
            .collect();
        // Claims advanced policies and `jwtClaimRule` policies test.
        let mut claim_names = crate::throttle::advanced::token_claims(s);
        claim_names.extend(crate::mediation::claim_names(s));
        claim_names.sort();
        claim_names.dedup();
        let backend_signer = s.backend_jwt_key.as_ref().and_then(|k| {
            use base64::Engine;
            let der = base64::engine::general_purpose::STANDARD
                .decode(k.pkcs8.trim())
                .ok()?;
            match Signer::from_pkcs8(&k.kid, jwt::Algorithm::RS256, &der) {
                Ok(s) => Some(Arc::new(s)),
                Err(e) => {
                    tracing::warn!(error = %e, "backend JWT key unusable; backend JWTs are off");
                    None
                }
            }
        });
        Security {
            managers,
            by_issuer,
            by_name,
            apps,
            clients,
            subs,
            api_keys,
            revoked: s.revoked_tokens.iter().map(|r| r.jti.clone()).collect(),
            backend_signer,
            claims_tag: crate::throttle::advanced::claims_tag(&claim_names),
            claim_names,
        }
    }

    /// The gateway's JWKS (`/.well-known/jwks.json`): the backend-JWT public key.
    pub fn backend_jwks(&self) -> Value {
        match &self.backend_signer {
            Some(s) => json!({ "keys": [s.public_jwk()] }),
            None => json!({ "keys": [] }),
        }
    }
}

/// Key sets fetched from `jwksUrl`s, kept across snapshots, refetched at most every 10 s when a
/// token names an unknown key.
#[derive(Default)]
pub struct RemoteKeys {
    sets: Mutex<HashMap<String, (Arc<KeySet>, Instant)>>,
    attempts: Mutex<HashMap<String, Instant>>,
    /// Why the last fetch of a URL failed (cleared when one succeeds): named in the refusal
    /// and in the diagnostics report.
    problems: Mutex<HashMap<String, String>>,
}

/// A fetched JWKS's state, for the diagnostics report.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JwksState {
    pub url: String,
    /// Seconds since the keys were fetched (`None`: never fetched).
    pub fetched_seconds_ago: Option<u64>,
    pub problem: Option<String>,
}

const REFETCH_EVERY: Duration = Duration::from_secs(10);

/// Fetches a URL's body (the gateway's HTTP client, with a timeout).
pub type Fetch<'a> = &'a (
        dyn Fn(
    String,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Vec<u8>, String>> + Send>,
> + Sync
    );

impl RemoteKeys {
    fn cached(&self, url: &str) -> Option<Arc<KeySet>> {
        self.sets
            .lock()
            .expect("jwks lock")
            .get(url)
            .map(|(k, _)| k.clone())
    }

    /// The URLs fetched or tried, with their state.
    pub fn states(&self) -> Vec<JwksState> {
        let sets = self.sets.lock().expect("jwks lock");
        let problems = self.problems.lock().expect("jwks lock");
        let attempts = self.attempts.lock().expect("jwks lock");
        let mut out: Vec<JwksState> = attempts
            .keys()
            .chain(sets.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|url| JwksState {
                url: url.clone(),
                fetched_seconds_ago: sets.get(url).map(|(_, at)| at.elapsed().as_secs()),
                problem: problems.get(url).cloned(),
            })
            .collect();
        out.sort_by(|a, b| a.url.cmp(&b.url));
        out
    }

    fn problem(&self, url: &str) -> Option<String> {
        self.problems.lock().expect("jwks lock").get(url).cloned()
    }

    fn failed(&self, url: &str, problem: String) {
        self.problems
            .lock()
            .expect("jwks lock")
            .insert(url.to_string(), problem);
    }

    async fn refresh(&self, url: &str, fetch: Fetch<'_>) -> Option<Arc<KeySet>> {
        {
            let mut attempts = self.attempts.lock().expect("jwks lock");
            if let Some(last) = attempts.get(url)
                && last.elapsed() < REFETCH_EVERY
            {
                return None;
            }
            attempts.insert(url.to_string(), Instant::now());
        }
        let body = match fetch(url.to_string()).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(jwks = %url, error = %e, "JWKS fetch failed");
                self.failed(url, format!("JWKS fetch failed: {e}"));
                return None;
            }
        };
        let parsed = serde_json::from_slice::<Value>(&body)
            .map_err(|e| e.to_string())
            .and_then(|v| KeySet::from_jwks(&v).map_err(|e| e.to_string()));
        match parsed {
            Ok(keys) => {
                let keys = Arc::new(keys);
                self.sets
                    .lock()
                    .expect("jwks lock")
                    .insert(url.to_string(), (keys.clone(), Instant::now()));
                self.problems.lock().expect("jwks lock").remove(url);
                Some(keys)
            }
            Err(e) => {
                tracing::warn!(jwks = %url, error = %e, "JWKS unusable");
                self.failed(url, "JWKS fetch failed: not a usable JWKS document".into());
                None
            }
        }
    }
}

/// Verification state that outlives snapshots.
pub struct Verifier {
    pub tokens: TokenCache<TokenFacts>,
    pub remote: RemoteKeys,
    /// Backend JWTs by API and credential.
    pub backend: TokenCache<HeaderValue>,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier::with_cache(100_000)
    }
}

impl Verifier {
    /// `capacity` verified tokens (and as many backend JWTs) at most; 0: no caching.
    pub fn with_cache(capacity: usize) -> Self {
        Verifier {
            tokens: TokenCache::new(capacity, 3600),
            remote: RemoteKeys::default(),
            backend: TokenCache::new(capacity, 3600),
        }
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Scopes from one or more claims (`scope`, or Azure AD's `scp roles`): space-separated strings
/// or arrays.
fn scopes_of(claims: &Map<String, Value>, names: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names.split([' ', ',']).filter(|n| !n.is_empty()) {
        let found: Vec<&str> = match claims.get(name) {
            Some(Value::String(s)) => s.split_whitespace().collect(),
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        for f in found {
            if !out.iter().any(|o| o == f) {
                out.push(f.to_string());
            }
        }
    }
    out
}

/// The request facts authentication looks at.
pub struct Presented<'a> {
    pub bearer: Option<&'a str>,
    pub api_key: Option<&'a str>,
    pub peer: IpAddr,
    pub referer: Option<&'a str>,
}

impl Verifier {
    async fn verify_token(
        &self,
        sec: &Security,
        token: &str,
        fetch: Fetch<'_>,
    ) -> Result<Arc<TokenFacts>, Denied> {
        let now = now_unix();
        if let Some(hit) = self.tokens.get(token, now)
            && hit.claims_tag == sec.claims_tag
        {
            return Ok(hit);
        }
        let bad = |e: jwt::JwtError| Denied::Unauthenticated(format!("Invalid token: {e}"));
        let peeked = jwt::peek(token).map_err(bad)?;
        let iss = peeked
            .iss
            .ok_or_else(|| Denied::Unauthenticated("Invalid token: no issuer".into()))?;
        let m = sec
            .by_issuer
            .get(&iss)
            .map(|&i| &sec.managers[i])
            .ok_or_else(|| {
                Denied::Unauthenticated(format!(
                    "Invalid token: issuer {iss} is not a key manager here"
                ))
            })?;
        let mut keys = m
            .keys
            .clone()
            .or_else(|| m.jwks_url.as_deref().and_then(|u| self.remote.cached(u)));
        let kid_known = |k: &Option<Arc<KeySet>>| match (&peeked.kid, k) {
            (_, None) => false,
            (Some(kid), Some(set)) => set.has_kid(kid),
            (None, Some(_)) => true,
        };
        if !kid_known(&keys)
            && let Some(url) = &m.jwks_url
            && let Some(fresh) = self.remote.refresh(url, fetch).await
        {
            keys = Some(fresh);
        }
        // The refusal says why (a short reason: no URL, no address).
        let keys = keys.ok_or_else(|| {
            let why = m
                .jwks_url
                .as_deref()
                .and_then(|u| self.remote.problem(u))
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            Denied::Unauthenticated(format!(
                "Invalid token: the keys of {} are not available{why}",
                m.name
            ))
        })?;
        let verified = jwt::verify(token, &keys, &m.validation, now).map_err(bad)?;
        // A refresh token (the resident key manager marks it `token_use: refresh`; others use
        // `typ` / `token_use` values other than access) is not an access token.
        if let Some(kind) = verified.claim_str("token_use").filter(|u| *u != "access") {
            return Err(Denied::Unauthenticated(format!(
                "Invalid token: a {kind} token is not an access token"
            )));
        }
        // The configured claim(s) first (Azure AD: `azp appid`), then the usual ones.
        let consumer_key = m
            .consumer_key_claim
            .split([' ', ','])
            .chain(["client_id", "azp"])
            .filter(|c| !c.is_empty())
            .find_map(|c| verified.claim_str(c))
            .unwrap_or_default()
            .to_string();
        let facts = Arc::new(TokenFacts {
            manager: m.name.clone(),
            consumer_key,
            scopes: scopes_of(&verified.claims, &m.scopes_claim),
            sub: verified.claim_str("sub").unwrap_or_default().to_string(),
            jti: verified.claim_str("jti").map(str::to_string),
            exp: verified.exp,
            claims: (!sec.claim_names.is_empty()).then(|| {
                sec.claim_names
                    .iter()
                    .filter_map(|name| {
                        let text = match verified.claims.get(name)? {
                            Value::String(s) => s.clone(),
                            v @ (Value::Number(_) | Value::Bool(_)) => v.to_string(),
                            // A list (groups, roles): its plain values joined by commas.
                            Value::Array(items) => items
                                .iter()
                                .filter_map(|i| match i {
                                    Value::String(s) => Some(s.clone()),
                                    Value::Number(_) | Value::Bool(_) => Some(i.to_string()),
                                    _ => None,
                                })
                                .collect::<Vec<_>>()
                                .join(","),
                            _ => return None,
                        };
                        Some((name.clone(), text))
                    })
                    .collect()
            }),
            claims_tag: sec.claims_tag,
        });
        self.tokens.insert(token, verified.exp, now, facts.clone());
        Ok(facts)
    }

    /// Authenticates the caller of `api`'s operation and checks subscription, organization and
    /// scopes.
    pub async fn authorize(
        &self,
        sec: &Security,
        api: &snapshot::Api,
        op: &snapshot::Operation,
        p: Presented<'_>,
        fetch: Fetch<'_>,
    ) -> Result<Caller, Denied> {
        let security = api.security.as_ref();
        let wants_key = security.is_some_and(|s| s.api_key);
        let wants_token = security.is_none_or(|s| s.oauth2);
        let now = now_unix();
        let mut via_global = false;
        let (app, key_type, end_user, scopes, exp, claims) = if let (true, Some(key)) =
            (wants_key, p.api_key)
        {
            let entry = sec
                .api_keys
                .get(&sha256(key.as_bytes()))
                .ok_or_else(|| Denied::Unauthenticated("Invalid API key".into()))?;
            if entry.expires_at.is_some_and(|e| e <= now) {
                return Err(Denied::Unauthenticated("The API key has expired".into()));
            }
            if !entry.ips.is_empty()
                && !entry
                    .ips
                    .iter()
                    .any(|n| snapshot::cidr_contains(*n, p.peer))
            {
                return Err(Denied::Forbidden(format!(
                    "The API key may not be used from {}",
                    p.peer
                )));
            }
            if !entry.referrers.is_empty()
                && !p
                    .referer
                    .is_some_and(|r| entry.referrers.iter().any(|pat| wildcard(pat, r)))
            {
                return Err(Denied::Forbidden(
                    "The API key may not be used from this referrer".into(),
                ));
            }
            let owner = sec.apps[entry.app].owner.clone();
            (
                entry.app,
                entry.key_type,
                owner,
                vec![],
                entry.expires_at,
                None,
            )
        } else if let (true, Some(token)) = (wants_token, p.bearer) {
            let facts = self.verify_token(sec, token, fetch).await?;
            if facts.jti.as_ref().is_some_and(|j| sec.revoked.contains(j)) {
                return Err(Denied::Unauthenticated("The token has been revoked".into()));
            }
            let m = sec
                .by_name
                .get(&facts.manager)
                .map(|&i| &sec.managers[i])
                .ok_or_else(|| {
                    Denied::Unauthenticated(
                        "The token's key manager is no longer configured".into(),
                    )
                })?;
            let &(app, key_type) = sec
                .clients
                .get(&(facts.manager.clone(), facts.consumer_key.clone()))
                .ok_or_else(|| {
                    Denied::Forbidden(format!(
                        "No application here holds the client {}; subscribe an application and generate or map its keys",
                        facts.consumer_key
                    ))
                })?;
            // A key manager of another organization is accepted only when global.
            if !m.global && !m.organization.is_empty() && m.organization != api.organization {
                return Err(Denied::Forbidden(format!(
                    "Tokens of {} are not accepted for this organization's APIs",
                    m.name
                )));
            }
            via_global = m.global;
            (
                app,
                key_type,
                facts.sub.clone(),
                facts.scopes.clone(),
                Some(facts.exp),
                facts.claims.clone(),
            )
        } else {
            let mut how = Vec::new();
            if wants_token {
                how.push(format!(
                    "a bearer token in {}",
                    security.map_or("Authorization", |s| s.authorization_header.as_str())
                ));
            }
            if wants_key {
                how.push(format!(
                    "an API key in {}",
                    security.map_or("ApiKey", |s| s.api_key_header.as_str())
                ));
            }
            return Err(Denied::Unauthenticated(format!(
                "Missing credentials: send {}",
                how.join(" or ")
            )));
        };
        let a = &sec.apps[app];
        // Only a global key manager's token may come from another organization's application,
        // and that application must still be subscribed (checked next).
        if !api.organization.is_empty() && a.organization != api.organization && !via_global {
            return Err(Denied::Forbidden(
                "The application belongs to another organization".into(),
            ));
        }
        let sub = sec.subs.get(&(app, api.id.clone())).ok_or_else(|| {
            Denied::Forbidden(format!(
                "Application {} is not subscribed to {} {}",
                a.name, api.name, api.version
            ))
        })?;
        match sub.status.as_str() {
            "BLOCKED" => {
                return Err(Denied::Forbidden(format!(
                    "The subscription of {} to {} is blocked",
                    a.name, api.name
                )));
            }
            "PROD_ONLY_BLOCKED" if key_type == KeyType::Production => {
                return Err(Denied::Forbidden(format!(
                    "The subscription of {} to {} is blocked for production keys",
                    a.name, api.name
                )));
            }
            "ON_HOLD" => {
                return Err(Denied::Forbidden(format!(
                    "The subscription of {} to {} is ON_HOLD: it waits for approval",
                    a.name, api.name
                )));
            }
            "REJECTED" => {
                return Err(Denied::Forbidden(format!(
                    "The subscription of {} to {} was rejected",
                    a.name, api.name
                )));
            }
            _ => {}
        }
        if !op.scopes.is_empty() && !op.scopes.iter().any(|s| scopes.contains(s)) {
            return Err(Denied::Forbidden(format!(
                "The token lacks the scope {} that {} {} needs",
                op.scopes.join(" or "),
                op.method,
                op.target
            )));
        }
        Ok(Caller {
            key_type,
            application_id: a.id.clone(),
            application_name: a.name.clone(),
            subscriber: a.owner.clone(),
            organization: a.organization.clone(),
            app_tier: a.tier.clone(),
            sub_tier: sub.tier.clone(),
            end_user,
            scopes,
            credential_exp: exp,
            claims,
        })
    }

    /// The backend JWT for `caller` of `api` (cached per API and credential).
    pub fn backend_jwt(
        &self,
        sec: &Security,
        api: &snapshot::Api,
        ttl: u64,
        caller: &Caller,
        credential: &str,
    ) -> Option<HeaderValue> {
        let signer = sec.backend_signer.as_ref()?;
        let cache_key = format!("{}\n{}\n{}", signer.kid(), api.id, credential);
        let now = now_unix();
        if let Some(v) = self.backend.get(&cache_key, now) {
            return Some((*v).clone());
        }
        let ttl = ttl.max(60) as i64;
        let exp = now + ttl;
        let claims = json!({
            "iss": "gatehouse-gateway",
            "sub": caller.end_user,
            "iat": now,
            "exp": exp,
            "jti": format!("{:x}", u128::from_be_bytes(sha256(format!("{cache_key}{now}").as_bytes())[..16].try_into().unwrap_or([0; 16]))),
            "http://wso2.org/claims/apiname": api.name,
            "http://wso2.org/claims/version": api.version,
            "http://wso2.org/claims/apicontext": format!("{}/{}", api.context, api.version),
            "http://wso2.org/claims/subscriber": caller.subscriber,
            "http://wso2.org/claims/applicationid": caller.application_id,
            "http://wso2.org/claims/applicationname": caller.application_name,
            "http://wso2.org/claims/applicationtier": caller.app_tier,
            "http://wso2.org/claims/tier": caller.sub_tier,
            "http://wso2.org/claims/keytype": caller.key_type.as_str(),
            "http://wso2.org/claims/enduser": caller.end_user,
            "http://wso2.org/claims/organization": caller.organization,
            "scope": caller.scopes.join(" "),
            "application": {
                "id": caller.application_id,
                "name": caller.application_name,
                "owner": caller.subscriber,
                "tier": caller.app_tier,
            },
            "subscriber": caller.subscriber,
            "tier": caller.sub_tier,
            "keytype": caller.key_type.as_str(),
            "organization": caller.organization,
        });
        let token = signer.sign(&claims).ok()?;
        let value = HeaderValue::from_str(&token).ok()?;
        // Reused while more than half its life is left.
        self.backend
            .insert(&cache_key, now + ttl / 2, now, Arc::new(value.clone()));
        Some(value)
    }
}

/// `*` matches any run of characters.
fn wildcard(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == value;
    }
    let mut rest = value;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else {
                return false;
            };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_referrers() {
        assert!(wildcard("https://example.com/*", "https://example.com/a/b"));
        assert!(wildcard("*.example.com*", "www.example.com/x"));
        assert!(!wildcard(
            "https://example.com/*",
            "https://evil.com/https://example.com/"
        ));
        assert!(wildcard("exact", "exact"));
        assert!(!wildcard("exact", "exactly"));
    }

    #[test]
    fn scopes_come_from_every_named_claim() {
        let claims: Map<String, Value> = serde_json::from_value(json!({
            "scp": "read write", "roles": ["Admin", "read"], "scope": "other"
        }))
        .unwrap();
        assert_eq!(scopes_of(&claims, "scp roles"), ["read", "write", "Admin"]);
        assert_eq!(scopes_of(&claims, "scope"), ["other"]);
        assert!(scopes_of(&claims, "missing").is_empty());
    }

    #[test]
    fn hex_round_trip() {
        let d = sha256(b"abc");
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(unhex(&hex), Some(d));
        assert_eq!(unhex("zz"), None);
    }
}
