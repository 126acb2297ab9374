//! `gateway diagnose`: reads a running gateway's `GET /diagnostics` (its admin port) and prints
//! a readable report; `--follow` then prints each new failed request as it happens.
//!
//!     gateway diagnose                      the admin port of this machine's settings
//!     gateway diagnose --admin http://gw-1:9091 --follow
//!     gateway diagnose --json               the report as the gateway sends it

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context;
use gateway::config::GatewayConfig;
use gateway::settings::Sources;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

const USAGE: &str = "usage: gateway diagnose [--admin URL] [--settings FILE] [--follow] [--json]";

pub async fn run(args: Vec<String>) -> anyhow::Result<()> {
    let (mut admin, mut settings, mut follow, mut json) = (None, None, false, false);
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--admin" => admin = Some(it.next().context(format!("--admin needs a URL\n{USAGE}"))?),
            "--settings" => {
                settings = Some(std::path::PathBuf::from(
                    it.next()
                        .context(format!("--settings needs a file\n{USAGE}"))?,
                ))
            }
            "--follow" | "-f" => follow = true,
            "--json" => json = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => anyhow::bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    let base = match admin {
        Some(a) => a.trim_end_matches('/').to_string(),
        None => {
            let cfg = GatewayConfig::load(&Sources::from_process(settings))?;
            format!("http://{}", cfg.gateway.admin_listen)
        }
    };
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new())
        .build(hyper_util::client::legacy::connect::HttpConnector::new());
    let report = fetch(&client, &base, 0).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    if !follow {
        return Ok(());
    }
    println!("\nFollowing new failures (Ctrl-C to stop)…");
    let mut last = report["failures"]["lastSeq"].as_u64().unwrap_or(0);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let next = match fetch(&client, &base, last).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("gateway diagnose: {e:#}; retrying");
                continue;
            }
        };
        let seq = next["failures"]["lastSeq"].as_u64().unwrap_or(last);
        if seq < last {
            println!("(the gateway restarted)");
        }
        let recent = next["failures"]["recent"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        // Newest first in the report: printed oldest first.
        for f in recent.iter().rev() {
            if json {
                println!("{f}");
            } else {
                print!("{}", failure(f));
            }
        }
        last = seq;
    }
}

async fn fetch(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Empty<Bytes>>,
    base: &str,
    since: u64,
) -> anyhow::Result<Value> {
    let url = format!("{base}/diagnostics?since={since}");
    let uri: hyper::Uri = url
        .parse()
        .with_context(|| format!("--admin: `{base}` is not an http:// URL"))?;
    let resp = tokio::time::timeout(Duration::from_secs(5), client.get(uri))
        .await
        .with_context(|| format!("{url}: no answer within 5 s"))?
        .with_context(|| format!("cannot reach the gateway's admin port at {base}"))?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    anyhow::ensure!(
        status.is_success(),
        "{url} answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).with_context(|| format!("{url}: not a diagnostics report"))
}

fn num(v: &Value) -> String {
    match v.as_f64() {
        Some(x) => format!("{x:.2}"),
        None => "-".into(),
    }
}

fn duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// The report as text.
pub fn render(r: &Value) -> String {
    let mut out = String::new();
    let g = &r["gateway"];
    let _ = writeln!(
        out,
        "Gateway {} — up {}, {} workers, crypto provider {}{}",
        g["version"].as_str().unwrap_or("?"),
        duration(g["uptimeSeconds"].as_u64().unwrap_or(0)),
        g["workers"],
        g["cryptoProvider"].as_str().unwrap_or("?"),
        if g["fips"] == true { " (FIPS)" } else { "" }
    );
    let s = &r["snapshot"];
    match s["version"].as_u64() {
        Some(v) => {
            let _ = writeln!(
                out,
                "Snapshot version {v} ({} APIs), applied {} ago",
                s["apis"],
                s["ageSeconds"].as_u64().map_or("?".into(), duration)
            );
        }
        None => {
            let _ = writeln!(out, "Snapshot: none yet — the gateway serves nothing (503)");
        }
    }
    let _ = writeln!(
        out,
        "\nPhase latency (ms)   {:>9} {:>8} {:>8} {:>8} {:>8}",
        "requests", "p50", "p95", "p99", "mean"
    );
    for p in r["phases"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  {:<18} {:>9} {:>8} {:>8} {:>8} {:>8}",
            p["phase"].as_str().unwrap_or("?"),
            p["count"],
            num(&p["p50Ms"]),
            num(&p["p95Ms"]),
            num(&p["p99Ms"]),
            num(&p["meanMs"])
        );
    }
    let l = &r["limiters"];
    let shared = &l["shared"];
    let _ = writeln!(
        out,
        "\nLimiters: {} callers tracked; {}",
        l["trackedCallers"],
        if shared.is_null() {
            "counted by this gateway alone (no Redis)".to_string()
        } else if shared["redis"].as_bool() == Some(true) {
            format!(
                "shared through Redis ({} gateways live, {} buckets)",
                shared["liveGateways"], shared["buckets"]
            )
        } else {
            "Redis unreachable: each gateway counts its share alone".to_string()
        }
    );
    let u = &r["upstreams"];
    let _ = writeln!(
        out,
        "Upstreams: {} idle backend connections",
        u["idleConnections"]
    );
    for e in u["suspendedEndpoints"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  suspended: {} → {} ({} s left)",
            e["api"].as_str().unwrap_or("?"),
            e["endpoint"].as_str().unwrap_or("?"),
            e["secondsLeft"]
        );
    }
    for j in r["jwks"].as_array().into_iter().flatten() {
        let state = match (j["fetchedSecondsAgo"].as_u64(), j["problem"].as_str()) {
            (_, Some(p)) => format!("PROBLEM: {p}"),
            (Some(a), None) => format!("keys fetched {} ago", duration(a)),
            (None, None) => "not fetched yet".into(),
        };
        let _ = writeln!(out, "JWKS {}: {state}", j["url"].as_str().unwrap_or("?"));
    }
    let t = &r["tracing"];
    let _ = writeln!(
        out,
        "Tracing: {}",
        if t["enabled"].as_bool() == Some(true) {
            format!(
                "on — {} spans exported, {} dropped (queue full), {} failed",
                t["exported"], t["dropped"], t["failed"]
            )
        } else {
            "off".into()
        }
    );
    let a = &r["analytics"];
    let _ = writeln!(
        out,
        "Analytics: {}",
        if a["enabled"].as_bool() == Some(true) {
            format!(
                "on — {} events sent, {} dropped (queue full), {} failed",
                a["sent"], a["dropped"], a["failed"]
            )
        } else {
            "off".into()
        }
    );
    let f = &r["failures"];
    let recent = f["recent"].as_array().cloned().unwrap_or_default();
    if recent.is_empty() {
        let _ = writeln!(out, "\nNo failed request kept.");
    } else {
        let _ = writeln!(
            out,
            "\nRecent failures ({} kept, newest first):",
            recent.len()
        );
        for x in &recent {
            out.push_str(&failure(x));
        }
    }
    out
}

/// One failed request, on three lines.
pub fn failure(f: &Value) -> String {
    let at = f["at"].as_u64().unwrap_or(0);
    let (h, m, s, ms) = (
        (at / 3_600_000) % 24,
        (at / 60_000) % 60,
        (at / 1000) % 60,
        at % 1000,
    );
    let route = match (f["api"].as_str(), f["operation"].as_str()) {
        (Some(a), Some(o)) => format!(" — {a}, {o}"),
        _ => String::new(),
    };
    let app = f["application"]
        .as_str()
        .map(|a| format!(" (application {a})"))
        .unwrap_or_default();
    let phases: Vec<String> = f["phases"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            format!(
                "{} {} ms{}",
                p["phase"].as_str().unwrap_or("?"),
                num(&p["ms"]),
                if p["failed"].as_bool() == Some(true) {
                    " ✗"
                } else {
                    ""
                }
            )
        })
        .collect();
    let mut out = format!(
        "  #{} {h:02}:{m:02}:{s:02}.{ms:03} UTC  {} {} → {}{route}{app}\n",
        f["seq"],
        f["method"].as_str().unwrap_or("?"),
        f["path"].as_str().unwrap_or("?"),
        f["status"]
    );
    let _ = writeln!(
        out,
        "      decided in {}: {}",
        f["phase"].as_str().unwrap_or("?"),
        f["cause"].as_str().unwrap_or("?")
    );
    let _ = writeln!(
        out,
        "      {}{}total {} ms{}",
        phases.join(" · "),
        if phases.is_empty() { "" } else { " · " },
        num(&f["totalMs"]),
        f["traceId"]
            .as_str()
            .map(|t| format!(" · trace {t}"))
            .unwrap_or_default()
    );
    out
}
