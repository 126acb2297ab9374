//! `gatehouse`: declarative configuration (GitOps) from the command line, over the Admin REST
//! API (`/api/am/admin/v4/configuration/…`).
//!
//! ```text
//! gatehouse export DIR [--apis Name:1.0.0,…]
//! gatehouse import DIR [--params FILE]… [--dry-run [--exit-code]]
//! ```
//! The server is `--server` or `GATEHOUSE_URL` (default `http://127.0.0.1:3000`); the caller an
//! access token in `GATEHOUSE_TOKEN`, or `--user` / `GATEHOUSE_USER` (default `admin`) with the
//! password in `GATEHOUSE_PASSWORD` (never on the command line, where `ps` shows it).
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use serde_json::{Value, json};
use server::gitops::{Bundle, MANAGED_DIRS, Plan, params};

const USAGE: &str = "usage:
  gatehouse export DIR [--apis NAME:VERSION,...]
      Writes the organization (or only the named APIs) as YAML files into DIR. Files of
      apis/, api-products/, applications/, throttling/ and key-managers/ that the organization
      no longer has are removed; anything else in DIR (params/, a README) is left alone.
  gatehouse import DIR [--params FILE]... [--dry-run [--exit-code]]
      Makes the organization match DIR and prints what changed. Parameter files (values per
      environment; ${NAME} read from the environment) apply in order. --dry-run changes
      nothing and prints the plan; with --exit-code it exits 2 when there are changes.
options:
  --server URL   the Gatehouse server (GATEHOUSE_URL; default http://127.0.0.1:3000)
  --user NAME    an admin of the organization (GATEHOUSE_USER; default admin); the password
                 is read from GATEHOUSE_PASSWORD. GATEHOUSE_TOKEN (an access token with
                 apim:admin) is used instead when set.";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("gatehouse: {e:#}");
            ExitCode::FAILURE
        }
    }
}

struct Args {
    command: String,
    dir: PathBuf,
    apis: Option<String>,
    params: Vec<PathBuf>,
    dry_run: bool,
    exit_code: bool,
    server: String,
    user: String,
}

fn args() -> anyhow::Result<Option<Args>> {
    let mut it = std::env::args().skip(1);
    let mut positional = vec![];
    let mut a = Args {
        command: String::new(),
        dir: PathBuf::new(),
        apis: None,
        params: vec![],
        dry_run: false,
        exit_code: false,
        server: std::env::var("GATEHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".into()),
        user: std::env::var("GATEHOUSE_USER").unwrap_or_else(|_| "admin".into()),
    };
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--apis" => a.apis = Some(value("--apis")?),
            "--params" => a.params.push(value("--params")?.into()),
            "--dry-run" => a.dry_run = true,
            "--exit-code" => a.exit_code = true,
            "--server" => a.server = value("--server")?,
            "--user" => a.user = value("--user")?,
            s if s.starts_with('-') => bail!("unknown option `{s}`\n{USAGE}"),
            _ => positional.push(arg),
        }
    }
    let [command, dir] = <[String; 2]>::try_from(positional)
        .map_err(|_| anyhow::anyhow!("a command and a directory, please\n{USAGE}"))?;
    if !matches!(command.as_str(), "export" | "import") {
        bail!("unknown command `{command}`\n{USAGE}");
    }
    if command == "export" && (a.dry_run || !a.params.is_empty()) {
        bail!("--dry-run and --params belong to import");
    }
    if a.exit_code && !a.dry_run {
        bail!("--exit-code goes with --dry-run");
    }
    a.command = command;
    a.dir = dir.into();
    a.server = a.server.trim_end_matches('/').to_string();
    Ok(Some(a))
}

async fn run() -> anyhow::Result<u8> {
    let Some(a) = args()? else {
        println!("{USAGE}");
        return Ok(0);
    };
    let client = Client::new(&a.server)?;
    let token = match std::env::var("GATEHOUSE_TOKEN") {
        Ok(t) if !t.trim().is_empty() => t,
        _ => client.sign_in(&a.user).await?,
    };
    if a.command == "export" {
        let mut path = "/api/am/admin/v4/configuration/export".to_string();
        if let Some(apis) = &a.apis {
            path.push_str(&format!("?apis={}", encode(apis)));
        }
        let bundle: Bundle = serde_json::from_value(client.call("GET", &path, &token, None).await?)
            .context("the server's answer is not a configuration")?;
        let (written, removed) = write_dir(&a.dir, &bundle, a.apis.is_some())?;
        println!(
            "exported {} files to {} ({written} written, {removed} removed)",
            bundle.files.len() + bundle.binary.len(),
            a.dir.display()
        );
        return Ok(0);
    }
    let mut bundle = read_dir(&a.dir)?;
    if bundle.files.is_empty() && bundle.binary.is_empty() {
        bail!(
            "{} holds no configuration ({})",
            a.dir.display(),
            MANAGED_DIRS.join("/, ")
        );
    }
    for p in &a.params {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        let env = |name: &str| std::env::var(name).ok();
        params::apply(&mut bundle, &p.display().to_string(), &text, &env)
            .map_err(|problems| anyhow::anyhow!("{}", problems.join("\n")))?;
    }
    let path = format!("/api/am/admin/v4/configuration/import?dryRun={}", a.dry_run);
    let plan: Plan = serde_json::from_value(
        client
            .call("POST", &path, &token, Some(serde_json::to_value(&bundle)?))
            .await?,
    )
    .context("the server's answer is not a plan")?;
    print_plan(&plan);
    Ok(if a.exit_code && plan.created + plan.updated > 0 {
        2
    } else {
        0
    })
}

fn print_plan(plan: &Plan) {
    let width = plan.changes.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in &plan.changes {
        let details = if c.details.is_empty() {
            String::new()
        } else {
            format!("  ({})", c.details.join("; "))
        };
        println!(
            "{:<9} {:<18} {:<width$}  {}{details}",
            c.action, c.kind, c.name, c.path
        );
    }
    let verb = if plan.dry_run { "to " } else { "" };
    println!(
        "{} {verb}create, {} {verb}update, {} unchanged{}",
        plan.created,
        plan.updated,
        plan.unchanged,
        if plan.dry_run {
            " (dry run: nothing was changed)"
        } else {
            ""
        }
    );
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' | b',' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// FILE documents' contents live next to their YAML (`documents/<name>/<file>`): bytes, not text.
fn is_binary(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    parts.len() == 5 && parts[2] == "documents"
}

fn managed_files(dir: &Path) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    fn walk(root: &Path, at: &Path, out: &mut BTreeMap<String, PathBuf>) -> anyhow::Result<()> {
        for entry in std::fs::read_dir(at).with_context(|| format!("reading {}", at.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                walk(root, &path, out)?;
            } else {
                let rel = path
                    .strip_prefix(root)
                    .expect("under the root")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                if !rel.split('/').any(|p| p.starts_with('.')) {
                    out.insert(rel, path);
                }
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    for d in MANAGED_DIRS {
        let p = dir.join(d);
        if p.is_dir() {
            walk(dir, &p, &mut out)?;
        }
    }
    Ok(out)
}

fn read_dir(dir: &Path) -> anyhow::Result<Bundle> {
    let mut b = Bundle::default();
    for (rel, path) in managed_files(dir)? {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        if is_binary(&rel) {
            b.binary.insert(rel, B64.encode(bytes));
        } else {
            let text =
                String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{rel}: not UTF-8 text"))?;
            b.files.insert(rel, text);
        }
    }
    Ok(b)
}

/// Writes the files; with a full export, removes managed files the export no longer has.
fn write_dir(dir: &Path, b: &Bundle, partial: bool) -> anyhow::Result<(usize, usize)> {
    let mut wanted: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for (rel, text) in &b.files {
        wanted.insert(rel, text.clone().into_bytes());
    }
    for (rel, data) in &b.binary {
        wanted.insert(
            rel,
            B64.decode(data)
                .with_context(|| format!("{rel}: bad base64"))?,
        );
    }
    // A partial export (some APIs) replaces those APIs' directories only.
    let exported: Vec<String> = wanted
        .keys()
        .filter_map(|rel| {
            let mut parts = rel.splitn(3, '/');
            Some(format!("{}/{}/", parts.next()?, parts.next()?))
        })
        .collect();
    let mut removed = 0;
    if dir.exists() {
        for (rel, path) in managed_files(dir)? {
            let ours = !partial || exported.iter().any(|d| rel.starts_with(d.as_str()));
            if ours && !wanted.contains_key(rel.as_str()) {
                std::fs::remove_file(&path)?;
                removed += 1;
            }
        }
        for d in MANAGED_DIRS {
            remove_empty(&dir.join(d));
        }
    }
    let mut written = 0;
    for (rel, data) in wanted {
        if rel
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        {
            bail!("the server sent a path outside the directory: {rel}");
        }
        let path = dir.join(rel);
        if std::fs::read(&path).ok().as_deref() == Some(data.as_slice()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, data).with_context(|| format!("writing {}", path.display()))?;
        written += 1;
    }
    Ok((written, removed))
}

fn remove_empty(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                remove_empty(&e.path());
            }
        }
        let _ = std::fs::remove_dir(dir);
    }
}

struct Client {
    base: String,
    http: gateway::proxy::Upstream,
}

impl Client {
    fn new(base: &str) -> anyhow::Result<Self> {
        if !base.starts_with("http://") && !base.starts_with("https://") {
            bail!("--server must be an http(s) URL, not `{base}`");
        }
        let tls = gateway::proxy::backend_tls(None).map_err(|e| anyhow::anyhow!(e))?;
        Ok(Self {
            base: base.to_string(),
            http: gateway::proxy::upstream(tls),
        })
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let url = format!("{}{path}", self.base);
        let mut req = Request::builder().method(method).uri(&url);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let req = req.body(
            Full::new(Bytes::from(body))
                .map_err(|never| match never {})
                .boxed(),
        )?;
        let resp = self
            .http
            .request(req)
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            Value::String(String::from_utf8_lossy(&bytes).chars().take(500).collect())
        });
        Ok((status, value))
    }

    /// A call with the token; a WSO2 error answer becomes a readable error.
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut headers = vec![("authorization", format!("Bearer {}", token.trim()))];
        let body = match body {
            Some(b) => {
                headers.push(("content-type", "application/json".into()));
                serde_json::to_vec(&b)?
            }
            None => vec![],
        };
        let (status, v) = self.send(method, path, &headers, body).await?;
        if status.is_success() {
            return Ok(v);
        }
        Err(anyhow::anyhow!("{}", describe(status, &v)))
    }

    /// Dynamic client registration and a password grant for `apim:admin`.
    async fn sign_in(&self, user: &str) -> anyhow::Result<String> {
        let password = std::env::var("GATEHOUSE_PASSWORD").map_err(|_| {
            anyhow::anyhow!("set GATEHOUSE_PASSWORD (the password of {user}) or GATEHOUSE_TOKEN")
        })?;
        let basic = |u: &str, p: &str| format!("Basic {}", B64.encode(format!("{u}:{p}")));
        let (status, reg) = self
            .send(
                "POST",
                "/client-registration/v0.17/register",
                &[
                    ("authorization", basic(user, &password)),
                    ("content-type", "application/json".into()),
                ],
                serde_json::to_vec(&json!({
                    "clientName": "gatehouse-cli",
                    "owner": user,
                    "grantType": "password refresh_token",
                    "saasApp": true,
                }))?,
            )
            .await?;
        if !status.is_success() {
            bail!("signing in as {user}: {}", describe(status, &reg));
        }
        let id = reg["clientId"].as_str().unwrap_or_default();
        let secret = reg["clientSecret"].as_str().unwrap_or_default();
        let form = serde_urlencoded::to_string([
            ("grant_type", "password"),
            ("username", user),
            ("password", password.as_str()),
            ("scope", "apim:admin"),
        ])?;
        let (status, tok) = self
            .send(
                "POST",
                "/oauth2/token",
                &[
                    ("authorization", basic(id, secret)),
                    ("content-type", "application/x-www-form-urlencoded".into()),
                ],
                form.into_bytes(),
            )
            .await?;
        if !status.is_success() {
            bail!("signing in as {user}: {}", describe(status, &tok));
        }
        tok["access_token"]
            .as_str()
            .map(str::to_string)
            .context("the token answer has no access_token")
    }
}

/// `400 The configuration has 2 problem(s)…` and one line per field.
fn describe(status: StatusCode, v: &Value) -> String {
    let mut out = format!(
        "{status}: {}",
        v["description"]
            .as_str()
            .or(v["message"].as_str())
            .or(v["error_description"].as_str())
            .or(v.as_str())
            .unwrap_or("(no message)")
    );
    for e in v["error"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\n  {}: {}",
            e["code"].as_str().unwrap_or_default(),
            e["message"].as_str().unwrap_or_default()
        ));
    }
    out
}
