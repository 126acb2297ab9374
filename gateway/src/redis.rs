//! A minimal Redis client: RESP2 over one TCP connection, enough for the shared rate-limit
//! script (`EVALSHA` with a `SCRIPT LOAD` fallback) and the gateways' heartbeat. No pooling,
//! no pipelining: a caller owns the connection for one round trip.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// `redis://[:password@]host:port[/db]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub addr: String,
    pub password: Option<String>,
    pub db: u32,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("redis://")
            .ok_or_else(|| "must start with redis://".to_string())?;
        let (auth, rest) = match rest.rsplit_once('@') {
            Some((auth, rest)) => (Some(auth), rest),
            None => (None, rest),
        };
        let password = auth
            .map(|a| a.rsplit_once(':').map_or(a, |(_, p)| p).to_string())
            .filter(|p| !p.is_empty());
        let (addr, db) = match rest.split_once('/') {
            Some((addr, "")) => (addr, 0),
            Some((addr, db)) => (
                addr,
                db.parse()
                    .map_err(|_| format!("database `{db}` is not a number"))?,
            ),
            None => (rest, 0),
        };
        if addr.is_empty() {
            return Err("has no host".into());
        }
        let addr = if addr
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            addr.to_string()
        } else {
            format!("{addr}:6379")
        };
        Ok(Target { addr, password, db })
    }
}

/// A reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Nil,
    Int(i64),
    Bytes(Vec<u8>),
    Status(String),
    Error(String),
    Array(Vec<Value>),
}

pub struct Conn {
    io: BufReader<TcpStream>,
}

fn broken(what: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.into())
}

impl Conn {
    /// Connects (within `timeout`), authenticates and selects the database.
    pub async fn connect(target: &Target, timeout: Duration) -> std::io::Result<Conn> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(&target.addr))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")
            })??;
        stream.set_nodelay(true)?;
        let mut conn = Conn {
            io: BufReader::new(stream),
        };
        if let Some(p) = &target.password {
            conn.ok(&[b"AUTH", p.as_bytes()]).await?;
        }
        if target.db != 0 {
            conn.ok(&[b"SELECT", target.db.to_string().as_bytes()])
                .await?;
        }
        Ok(conn)
    }

    /// Sends one command and reads its reply. A Redis error reply is `Ok(Value::Error)`.
    pub async fn call(&mut self, args: &[&[u8]]) -> std::io::Result<Value> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.io.get_mut().write_all(&out).await?;
        self.read().await
    }

    async fn ok(&mut self, args: &[&[u8]]) -> std::io::Result<()> {
        match self.call(args).await? {
            Value::Error(e) => Err(broken(e)),
            _ => Ok(()),
        }
    }

    fn read(
        &mut self,
    ) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Value>> + Send + '_>> {
        Box::pin(async move {
            let mut line = Vec::with_capacity(32);
            let n = self.io.read_until(b'\n', &mut line).await?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
            if line.len() < 3 || !line.ends_with(b"\r\n") {
                return Err(broken("malformed reply"));
            }
            let text = std::str::from_utf8(&line[1..line.len() - 2])
                .map_err(|_| broken("reply is not UTF-8"))?;
            let number = || text.parse::<i64>().map_err(|_| broken("bad length"));
            Ok(match line[0] {
                b'+' => Value::Status(text.to_string()),
                b'-' => Value::Error(text.to_string()),
                b':' => Value::Int(number()?),
                b'$' => match number()? {
                    -1 => Value::Nil,
                    len if len >= 0 => {
                        let mut buf = vec![0; len as usize + 2];
                        self.io.read_exact(&mut buf).await?;
                        buf.truncate(len as usize);
                        Value::Bytes(buf)
                    }
                    _ => return Err(broken("bad length")),
                },
                b'*' => match number()? {
                    -1 => Value::Nil,
                    len if len >= 0 => {
                        let mut items = Vec::with_capacity(len as usize);
                        for _ in 0..len {
                            items.push(self.read().await?);
                        }
                        Value::Array(items)
                    }
                    _ => return Err(broken("bad length")),
                },
                _ => return Err(broken("unknown reply type")),
            })
        })
    }
}

/// A Lua script run by its SHA-1, loaded on first use (and again after a Redis restart).
pub struct Script {
    pub source: &'static str,
    sha: std::sync::OnceLock<String>,
}

impl Script {
    pub const fn new(source: &'static str) -> Script {
        Script {
            source,
            sha: std::sync::OnceLock::new(),
        }
    }

    pub async fn run(
        &self,
        conn: &mut Conn,
        keys: &[&[u8]],
        args: &[&[u8]],
    ) -> std::io::Result<Value> {
        let numkeys = keys.len().to_string();
        if let Some(sha) = self.sha.get() {
            let mut cmd: Vec<&[u8]> = vec![b"EVALSHA", sha.as_bytes(), numkeys.as_bytes()];
            cmd.extend_from_slice(keys);
            cmd.extend_from_slice(args);
            match conn.call(&cmd).await? {
                Value::Error(e) if e.starts_with("NOSCRIPT") => {}
                reply => return Ok(reply),
            }
        }
        let sha = match conn
            .call(&[b"SCRIPT", b"LOAD", self.source.as_bytes()])
            .await?
        {
            Value::Bytes(b) => String::from_utf8(b).map_err(|_| broken("bad script id"))?,
            Value::Error(e) => return Err(broken(e)),
            _ => return Err(broken("unexpected SCRIPT LOAD reply")),
        };
        let _ = self.sha.set(sha.clone());
        let mut cmd: Vec<&[u8]> = vec![b"EVALSHA", sha.as_bytes(), numkeys.as_bytes()];
        cmd.extend_from_slice(keys);
        cmd.extend_from_slice(args);
        conn.call(&cmd).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        assert_eq!(
            Target::parse("redis://127.0.0.1:6380/2").unwrap(),
            Target {
                addr: "127.0.0.1:6380".into(),
                password: None,
                db: 2
            }
        );
        let t = Target::parse("redis://:s3cret@cache").unwrap();
        assert_eq!(t.addr, "cache:6379");
        assert_eq!(t.password.as_deref(), Some("s3cret"));
        assert!(Target::parse("http://x").is_err());
        assert!(Target::parse("redis://h:1/x").is_err());
    }
}
