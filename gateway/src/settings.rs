//! Typed settings, read once at start-up by both binaries: an optional TOML file, then
//! `GATEHOUSE_…` environment variables on top (`__` separates levels:
//! `GATEHOUSE_SERVER__ADDR` is `[server] addr`). Every error names the key and where it came from.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Prefix of every environment variable the binaries read.
pub const ENV_PREFIX: &str = "GATEHOUSE_";
/// Environment variable naming the config file (default: `gatehouse.toml` when present).
pub const CONFIG_ENV: &str = "GATEHOUSE_CONFIG";
const DEFAULT_FILE: &str = "gatehouse.toml";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SettingsError {
    #[error("cannot read config file {path}: {message}")]
    File { path: String, message: String },
    #[error("invalid setting `{key}` ({origin}): {message}")]
    Invalid {
        key: String,
        origin: String,
        message: String,
    },
}

/// Where the settings come from; `from_process` is what the binaries use, tests build their own.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    pub file: Option<PathBuf>,
    pub env: Vec<(String, String)>,
}

impl Sources {
    /// The process environment, and the file named by `explicit`, `GATEHOUSE_CONFIG`, or
    /// `./gatehouse.toml` when it exists.
    pub fn from_process(explicit: Option<PathBuf>) -> Self {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let file = explicit
            .or_else(|| std::env::var_os(CONFIG_ENV).map(PathBuf::from))
            .or_else(|| {
                Path::new(DEFAULT_FILE)
                    .exists()
                    .then(|| PathBuf::from(DEFAULT_FILE))
            });
        Self { file, env }
    }
}

/// Reads `T` from `sources`. Top-level sections named in `foreign` belong to the other binary
/// and are skipped, so one file can configure both while typos are still refused.
pub fn load<T: DeserializeOwned>(sources: &Sources, foreign: &[&str]) -> Result<T, SettingsError> {
    let mut root = match &sources.file {
        Some(path) => read_file(path)?,
        None => Map::new(),
    };
    // Which keys came from the environment, and under which variable name.
    let mut from_env: HashMap<String, String> = HashMap::new();
    for (name, value) in &sources.env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if name == CONFIG_ENV || rest.is_empty() {
            continue;
        }
        let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
        if path.iter().any(String::is_empty) {
            return Err(SettingsError::Invalid {
                key: rest.to_ascii_lowercase(),
                origin: format!("environment variable {name}"),
                message: "empty key segment".into(),
            });
        }
        insert(&mut root, &path, Value::String(value.clone()));
        from_env.insert(path.join("."), name.clone());
    }
    for section in foreign {
        root.remove(*section);
    }
    let mut value = Value::Object(root);
    let origin_of = |key: &str| match from_env.get(key) {
        Some(var) => format!("environment variable {var}"),
        None => match &sources.file {
            Some(p) => format!("config file {}", p.display()),
            None => "defaults".to_string(),
        },
    };
    // Environment values arrive as strings; where the target wants a number or a boolean we
    // coerce that one value and try again. Bounded by the number of environment keys.
    for _ in 0..=from_env.len() {
        let err = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(settings) => return Ok(settings),
            Err(err) => err,
        };
        let key = err.path().to_string();
        let message = err.inner().to_string();
        if from_env.contains_key(&key) && message.starts_with("invalid type: string") {
            let slot = lookup_mut(&mut value, &key);
            if let Some(slot) = slot
                && let Some(coerced) = slot.as_str().and_then(coerce_scalar)
            {
                *slot = coerced;
                continue;
            }
        }
        return Err(SettingsError::Invalid {
            origin: origin_of(&key),
            key,
            message,
        });
    }
    Err(SettingsError::Invalid {
        key: String::new(),
        origin: "environment".into(),
        message: "could not reconcile environment values with the expected types".into(),
    })
}

fn read_file(path: &Path) -> Result<Map<String, Value>, SettingsError> {
    let file_err = |message: String| SettingsError::File {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| file_err(e.to_string()))?;
    match serde_json::to_value(table).map_err(|e| file_err(e.to_string()))? {
        Value::Object(map) => Ok(map),
        _ => Err(file_err("not a table".into())),
    }
}

fn insert(root: &mut Map<String, Value>, path: &[String], value: Value) {
    let (last, parents) = path.split_last().expect("non-empty path");
    let mut cur = root;
    for seg in parents {
        let entry = cur
            .entry(seg.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        cur = entry.as_object_mut().expect("just made an object");
    }
    cur.insert(last.clone(), value);
}

fn lookup_mut<'a>(value: &'a mut Value, dotted: &str) -> Option<&'a mut Value> {
    dotted
        .split('.')
        .try_fold(value, |v, seg| v.as_object_mut()?.get_mut(seg))
}

fn coerce_scalar(s: &str) -> Option<Value> {
    let t = s.trim();
    if let Ok(b) = t.parse::<bool>() {
        return Some(Value::Bool(b));
    }
    if let Ok(i) = t.parse::<i64>() {
        return Some(Value::from(i));
    }
    if let Ok(u) = t.parse::<u64>() {
        return Some(Value::from(u));
    }
    t.parse::<f64>().ok().map(Value::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Root {
        #[serde(default)]
        server: Server,
        #[serde(default)]
        secret: Option<String>,
    }
    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Server {
        addr: String,
        port: u16,
        tls: bool,
    }
    impl Default for Server {
        fn default() -> Self {
            Self {
                addr: "127.0.0.1".into(),
                port: 3000,
                tls: false,
            }
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Sources {
        Sources {
            file: None,
            env: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn environment_overrides_and_coerces() {
        let s: Root = load(
            &env(&[
                ("GATEHOUSE_SERVER__PORT", "8080"),
                ("GATEHOUSE_SERVER__TLS", "true"),
                ("GATEHOUSE_SECRET", "12345"),
                ("OTHER", "x"),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(s.server.port, 8080);
        assert!(s.server.tls);
        // A numeric-looking value stays a string where a string is wanted.
        assert_eq!(s.secret.as_deref(), Some("12345"));
        assert_eq!(s.server.addr, "127.0.0.1");
    }

    #[test]
    fn bad_value_names_key_and_variable() {
        let err = load::<Root>(&env(&[("GATEHOUSE_SERVER__PORT", "eighty")]), &[]).unwrap_err();
        match err {
            SettingsError::Invalid { key, origin, .. } => {
                assert_eq!(key, "server.port");
                assert!(origin.contains("GATEHOUSE_SERVER__PORT"), "{origin}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unknown_key_is_refused_and_foreign_sections_skipped() {
        let err = load::<Root>(&env(&[("GATEHOUSE_SERVER__ADR", "x")]), &[]).unwrap_err();
        assert!(err.to_string().contains("adr"), "{err}");
        let ok: Root = load(&env(&[("GATEHOUSE_GATEWAY__LISTEN", "x")]), &["gateway"]).unwrap();
        assert_eq!(ok.server.port, 3000);
    }

    #[test]
    fn file_then_environment() {
        let dir = std::env::temp_dir().join(format!("gh-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("gatehouse.toml");
        std::fs::write(&path, "[server]\nport = 4000\naddr = \"0.0.0.0\"\n").unwrap();
        let mut sources = env(&[("GATEHOUSE_SERVER__ADDR", "10.0.0.1")]);
        sources.file = Some(path.clone());
        let s: Root = load(&sources, &[]).unwrap();
        assert_eq!(s.server.port, 4000);
        assert_eq!(s.server.addr, "10.0.0.1");
        std::fs::write(&path, "[server]\nport = \"x\"\n").unwrap();
        let err = load::<Root>(&sources, &[]).unwrap_err().to_string();
        assert!(
            err.contains("server.port") && err.contains("config file"),
            "{err}"
        );
        std::fs::write(&path, "[server\n").unwrap();
        assert!(matches!(
            load::<Root>(&sources, &[]),
            Err(SettingsError::File { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
