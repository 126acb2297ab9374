//! Keep-alive HTTP/1.1 connections to backends, one pool per worker thread.
//!
//! hyper-util's general-purpose client costs more per request than the whole rest of the proxy
//! path (a pool keyed by hashed URI parts, a checkout racing a connect, a task spawned per
//! request to hand the connection back). This pool does only what a gateway needs: pop an idle
//! connection for the backend's origin (most recently used first), send, and hand the
//! connection back when the response body has been read to its end. A request that an idle
//! connection could not take (the backend closed it meanwhile) is sent again on a new one; a
//! request that was already written is never repeated.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Body as _, Bytes, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HOST, HeaderValue};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use tower_service::Service;

use crate::proxy::Body;

/// Idle connections kept per backend origin; the oldest goes first beyond this.
const MAX_IDLE_PER_ORIGIN: usize = 256;
/// An idle connection older than this is closed instead of used.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// How backends are reached, by this pool and by the general client: HTTP, or HTTPS with
/// `tls`; no Nagle delay; 5 s to connect.
pub fn connector(tls: &rustls::ClientConfig) -> HttpsConnector<HttpConnector> {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_connect_timeout(Some(Duration::from_secs(5)));
    http.enforce_http(false);
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls.clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(http)
}

/// Where a request goes: the origin (pool key), what to connect to and the `Host` to send.
#[derive(Clone, Debug)]
pub struct Origin {
    /// `scheme://authority`.
    pub key: Arc<str>,
    /// The same as a `Uri`, for the connector.
    pub uri: Uri,
    /// The authority without a default port, as hyper's client would send it.
    pub host: HeaderValue,
}

impl Origin {
    /// `None` for a URL without scheme or authority.
    pub fn of(uri: &Uri) -> Option<Origin> {
        let scheme = uri.scheme_str()?;
        let authority = uri.authority()?;
        let default_port = match scheme {
            "https" => 443,
            _ => 80,
        };
        let host = match authority.port_u16() {
            Some(p) if p == default_port => authority.host().to_string(),
            _ => authority.as_str().to_string(),
        };
        let key = format!("{scheme}://{}", authority.as_str());
        Some(Origin {
            uri: key.parse().ok()?,
            key: key.into(),
            host: HeaderValue::from_str(&host).ok()?,
        })
    }
}

/// Why a request got no response.
#[derive(Debug)]
pub enum SendError {
    /// No connection could be made: the backend may be tried elsewhere.
    Connect(String),
    /// The connection failed after the request was (perhaps) written.
    Request(hyper::Error),
}

/// An error with its causes ("tcp connect error: Connection refused (os error 111)"): the
/// connector's own message alone says only "tcp connect error".
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

impl SendError {
    pub fn is_connect(&self) -> bool {
        matches!(self, SendError::Connect(_))
    }

    /// A short reason for diagnostics ("connection refused", "the connection closed early").
    pub fn reason(&self) -> String {
        match self {
            SendError::Connect(why) => why.clone(),
            SendError::Request(e) if e.is_incomplete_message() => {
                "the connection closed before a full answer".into()
            }
            SendError::Request(e) if e.is_timeout() => "timeout".into(),
            SendError::Request(e) => e.to_string(),
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Connect(e) => write!(f, "connect: {e}"),
            SendError::Request(e) => write!(f, "{e}"),
        }
    }
}

struct Idle {
    sender: SendRequest<Body>,
    since: Instant,
}

struct Inner {
    connector: HttpsConnector<HttpConnector>,
    idle: Mutex<HashMap<Arc<str>, Vec<Idle>>>,
}

/// A worker's backend connections. Cloning shares the pool.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

impl Pool {
    pub fn new(tls: Arc<rustls::ClientConfig>) -> Pool {
        Pool {
            inner: Arc::new(Inner {
                connector: connector(&tls),
                idle: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Sends `req` (its URI in origin form, `/path?query`) to `origin`, on an idle connection
    /// when there is one. The response body hands the connection back when read to its end.
    pub async fn send(
        &self,
        origin: &Origin,
        mut req: Request<Body>,
    ) -> Result<Response<Body>, SendError> {
        req.headers_mut().insert(HOST, origin.host.clone());
        while let Some(mut sender) = self.checkout(&origin.key) {
            if sender.ready().await.is_err() {
                continue;
            }
            match sender.try_send_request(req).await {
                Ok(resp) => return Ok(self.wrap(resp, sender, &origin.key)),
                Err(mut e) => match e.take_message() {
                    // Not written: the connection had gone; another one gets it.
                    Some(back) => req = back,
                    None => return Err(SendError::Request(e.into_error())),
                },
            }
        }
        let mut sender = self.connect(origin).await?;
        match sender.send_request(req).await {
            Ok(resp) => Ok(self.wrap(resp, sender, &origin.key)),
            Err(e) => Err(SendError::Request(e)),
        }
    }

    /// Idle connections held now (for tests and diagnostics).
    pub fn idle_count(&self) -> usize {
        let idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.values().map(Vec::len).sum()
    }

    fn checkout(&self, key: &str) -> Option<SendRequest<Body>> {
        let mut idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = idle.get_mut(key)?;
        while let Some(entry) = list.pop() {
            if !entry.sender.is_closed() && entry.since.elapsed() < IDLE_TIMEOUT {
                return Some(entry.sender);
            }
        }
        None
    }

    async fn connect(&self, origin: &Origin) -> Result<SendRequest<Body>, SendError> {
        let mut connector = self.inner.connector.clone();
        let io = connector
            .call(origin.uri.clone())
            .await
            .map_err(|e| SendError::Connect(chain(e.as_ref())))?;
        let (sender, conn) = hyper::client::conn::http1::Builder::new()
            .writev(false)
            .handshake(io)
            .await
            .map_err(|e| SendError::Connect(e.to_string()))?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "backend connection closed with an error");
            }
        });
        Ok(sender)
    }

    fn wrap(
        &self,
        resp: Response<Incoming>,
        sender: SendRequest<Body>,
        key: &Arc<str>,
    ) -> Response<Body> {
        use http_body_util::BodyExt;
        // An upgraded connection belongs to the tunnel now.
        let back = (resp.status() != StatusCode::SWITCHING_PROTOCOLS).then(|| GiveBack {
            sender,
            key: key.clone(),
            pool: Arc::downgrade(&self.inner),
        });
        resp.map(|inner| {
            PooledBody {
                inner,
                back,
                done: false,
            }
            .boxed()
        })
    }
}

fn give_back(back: GiveBack) {
    let Some(inner) = back.pool.upgrade() else {
        return;
    };
    let mut idle = inner.idle.lock().unwrap_or_else(|p| p.into_inner());
    let list = idle.entry(back.key).or_default();
    if list.len() >= MAX_IDLE_PER_ORIGIN {
        list.remove(0);
    }
    list.push(Idle {
        sender: back.sender,
        since: Instant::now(),
    });
}

struct GiveBack {
    sender: SendRequest<Body>,
    key: Arc<str>,
    pool: Weak<Inner>,
}

/// A backend's response body; its connection goes back to the pool once the body has been
/// read to its end (a body dropped half-read closes the connection instead).
struct PooledBody {
    inner: Incoming,
    back: Option<GiveBack>,
    done: bool,
}

impl hyper::body::Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => self.done = true,
            Poll::Ready(Some(Err(_))) => self.back = None,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        if let Some(back) = self.back.take()
            && (self.done || self.inner.is_end_stream())
        {
            give_back(back);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http_body_util::{BodyExt, Empty, Full};
    use hyper::server::conn::http1;
    use hyper_util::rt::TokioIo;
    use tokio::net::TcpListener;

    use super::*;

    fn empty() -> Body {
        Empty::new().map_err(|never| match never {}).boxed()
    }

    /// A backend on 127.0.0.1 port 0 that counts the connections it accepts. `/close` answers
    /// with `Connection: close`; `/big` sends 1 MiB; anything else echoes the `Host` it got.
    async fn backend() -> (Origin, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                let svc = hyper::service::service_fn(|req: Request<Incoming>| async move {
                    let mut resp = match req.uri().path() {
                        "/big" => Response::new(Full::new(Bytes::from(vec![b'x'; 1 << 20]))),
                        _ => {
                            let host = req.headers()[HOST].to_str().unwrap().to_string();
                            Response::new(Full::new(Bytes::from(host)))
                        }
                    };
                    if req.uri().path() == "/close" {
                        resp.headers_mut()
                            .insert("connection", HeaderValue::from_static("close"));
                    }
                    Ok::<_, std::convert::Infallible>(resp)
                });
                tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), svc));
            }
        });
        let origin = Origin::of(&format!("http://127.0.0.1:{port}").parse().unwrap()).unwrap();
        (origin, accepted)
    }

    fn get(path: &str) -> Request<Body> {
        Request::get(path).body(empty()).unwrap()
    }

    async fn text(resp: Response<Body>) -> String {
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn origins_drop_default_ports_from_host() {
        let o = Origin::of(&"https://api.example.com:443/v1".parse().unwrap()).unwrap();
        assert_eq!(&*o.key, "https://api.example.com:443");
        assert_eq!(o.host, "api.example.com");
        let o = Origin::of(&"http://10.0.0.1:8080".parse().unwrap()).unwrap();
        assert_eq!(o.host, "10.0.0.1:8080");
        assert!(Origin::of(&"/relative".parse().unwrap()).is_none());
    }

    #[tokio::test]
    async fn a_connection_read_to_its_end_is_used_again() {
        let (origin, accepted) = backend().await;
        let pool = Pool::new(crate::proxy::backend_tls(None).unwrap());
        for _ in 0..5 {
            let resp = pool.send(&origin, get("/")).await.unwrap();
            assert_eq!(text(resp).await, origin.host.to_str().unwrap());
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        assert_eq!(pool.idle_count(), 1);
        // Two at once need two connections; both go back.
        let (a, b) = tokio::join!(pool.send(&origin, get("/")), pool.send(&origin, get("/")));
        let _ = (text(a.unwrap()).await, text(b.unwrap()).await);
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
        assert_eq!(pool.idle_count(), 2);
    }

    #[tokio::test]
    async fn a_closed_or_half_read_connection_is_not_used_again() {
        let (origin, accepted) = backend().await;
        let pool = Pool::new(crate::proxy::backend_tls(None).unwrap());
        // The backend closes after answering: the next request gets a new connection, no error.
        let resp = pool.send(&origin, get("/close")).await.unwrap();
        assert_eq!(text(resp).await, origin.host.to_str().unwrap());
        let resp = pool.send(&origin, get("/")).await.unwrap();
        assert_eq!(text(resp).await, origin.host.to_str().unwrap());
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
        // A body dropped before its end takes its connection with it.
        let before = pool.idle_count();
        let mut resp = pool.send(&origin, get("/big")).await.unwrap();
        let _first = resp.body_mut().frame().await.unwrap().unwrap();
        drop(resp);
        assert_eq!(pool.idle_count(), before - 1);
        let resp = pool.send(&origin, get("/")).await.unwrap();
        assert_eq!(text(resp).await, origin.host.to_str().unwrap());
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn nothing_listening_is_a_connect_error() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let origin = Origin::of(&format!("http://127.0.0.1:{port}").parse().unwrap()).unwrap();
        let pool = Pool::new(crate::proxy::backend_tls(None).unwrap());
        let err = pool.send(&origin, get("/")).await.unwrap_err();
        assert!(err.is_connect(), "{err}");
    }
}
