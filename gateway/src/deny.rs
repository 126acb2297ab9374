//! Deny policies (WSO2's blocking conditions): an API context, an application, a user, an IP
//! address or range refused at once, before anything else of the request is looked at (API and
//! IP conditions) or right after authentication (application and user ones).

use std::collections::HashSet;
use std::net::IpAddr;

use crate::snapshot::DenyPolicy;

/// The deny policies of one snapshot, indexed.
#[derive(Default)]
pub struct Deny {
    /// (organization, API context with or without version)
    apis: HashSet<(String, String)>,
    /// (organization, owner:application)
    applications: HashSet<(String, String)>,
    /// (organization, user)
    users: HashSet<(String, String)>,
    /// (organization, first, last, invert)
    ips: Vec<(String, IpAddr, IpAddr, bool)>,
}

/// Why a request was refused: the condition's type and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub kind: &'static str,
    pub value: String,
}

impl Deny {
    pub fn build(policies: &[DenyPolicy]) -> Deny {
        let mut d = Deny::default();
        for p in policies {
            let key = (p.organization.clone(), p.value.clone());
            match p.kind.as_str() {
                "API" => {
                    d.apis.insert(key);
                }
                "APPLICATION" => {
                    d.applications.insert(key);
                }
                "USER" => {
                    d.users.insert(key);
                }
                "IP" => {
                    if let Ok(ip) = p.value.parse() {
                        d.ips.push((p.organization.clone(), ip, ip, p.invert));
                    }
                }
                "IPRANGE" => {
                    if let Some((a, b)) = p.value.split_once('-')
                        && let (Ok(a), Ok(b)) = (a.trim().parse(), b.trim().parse())
                    {
                        d.ips.push((p.organization.clone(), a, b, p.invert));
                    }
                }
                _ => {}
            }
        }
        d
    }

    pub fn is_empty(&self) -> bool {
        self.apis.is_empty()
            && self.applications.is_empty()
            && self.users.is_empty()
            && self.ips.is_empty()
    }

    /// Before authentication: the API (by context, with or without its version) and the
    /// client's address.
    pub fn before_auth(
        &self,
        organization: &str,
        context: &str,
        version: &str,
        client: IpAddr,
    ) -> Result<(), Blocked> {
        if !self.apis.is_empty() {
            let org = organization.to_string();
            for c in [format!("{context}/{version}"), context.to_string()] {
                if self.apis.contains(&(org.clone(), c.clone())) {
                    return Err(Blocked {
                        kind: "API",
                        value: c,
                    });
                }
            }
        }
        for (org, first, last, invert) in &self.ips {
            if org != organization || first.is_ipv4() != client.is_ipv4() {
                continue;
            }
            let inside = *first <= client && client <= *last;
            if inside != *invert {
                let value = if first == last {
                    first.to_string()
                } else {
                    format!("{first}-{last}")
                };
                return Err(Blocked {
                    kind: if first == last { "IP" } else { "IPRANGE" },
                    value: if *invert {
                        format!("not {value}")
                    } else {
                        value
                    },
                });
            }
        }
        Ok(())
    }

    /// After authentication: the application (`owner:name`) and the end user.
    pub fn after_auth(
        &self,
        organization: &str,
        owner: &str,
        application: &str,
        user: &str,
    ) -> Result<(), Blocked> {
        let org = organization.to_string();
        let app = format!("{owner}:{application}");
        if self.applications.contains(&(org.clone(), app.clone())) {
            return Err(Blocked {
                kind: "APPLICATION",
                value: app,
            });
        }
        if self.users.contains(&(org, user.to_string())) {
            return Err(Blocked {
                kind: "USER",
                value: user.to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(kind: &str, value: &str, invert: bool) -> DenyPolicy {
        DenyPolicy {
            organization: "acme".into(),
            kind: kind.into(),
            value: value.into(),
            invert,
        }
    }

    #[test]
    fn each_condition_blocks_what_it_names_in_its_organization() {
        let d = Deny::build(&[
            p("API", "/pizza/1.0.0", false),
            p("IPRANGE", "10.0.0.1-10.0.0.9", false),
            p("APPLICATION", "alice:Mobile", false),
            p("USER", "mallory", false),
        ]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(
            d.before_auth("acme", "/pizza", "1.0.0", ip("127.0.0.1"))
                .is_err()
        );
        assert!(
            d.before_auth("acme", "/pizza", "2.0.0", ip("127.0.0.1"))
                .is_ok()
        );
        assert!(
            d.before_auth("other", "/pizza", "1.0.0", ip("127.0.0.1"))
                .is_ok()
        );
        let blocked = d
            .before_auth("acme", "/menu", "1", ip("10.0.0.5"))
            .unwrap_err();
        assert_eq!(blocked.kind, "IPRANGE");
        assert!(d.before_auth("acme", "/menu", "1", ip("10.0.0.10")).is_ok());
        assert!(d.before_auth("acme", "/menu", "1", ip("::1")).is_ok());
        assert_eq!(
            d.after_auth("acme", "alice", "Mobile", "bob")
                .unwrap_err()
                .kind,
            "APPLICATION"
        );
        assert_eq!(
            d.after_auth("acme", "alice", "Web", "mallory")
                .unwrap_err()
                .kind,
            "USER"
        );
        assert!(d.after_auth("acme", "alice", "Web", "bob").is_ok());
    }

    #[test]
    fn an_inverted_ip_condition_lets_only_that_address_in() {
        let d = Deny::build(&[p("IP", "192.168.1.1", true)]);
        assert!(
            d.before_auth("acme", "/x", "1", "192.168.1.1".parse().unwrap())
                .is_ok()
        );
        let b = d
            .before_auth("acme", "/x", "1", "192.168.1.2".parse().unwrap())
            .unwrap_err();
        assert_eq!(b.value, "not 192.168.1.1");
        // A context without the version blocks every version.
        let d = Deny::build(&[p("API", "/pizza", false)]);
        assert!(
            d.before_auth("acme", "/pizza", "9", "127.0.0.1".parse().unwrap())
                .is_err()
        );
    }
}
