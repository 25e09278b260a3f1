//! The tests' one HTTP/1.1 client: a small request builder (method, path,
//! headers, a bearer or a browser session's cookies + CSRF header + Origin,
//! a step-up token, a JSON or form body) sent on a fresh connection, and
//! the response's status, headers and body. Plain sockets, so a test sees
//! exactly what went over the wire and can send what a client should not.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// What a browser sends back as `Cookie` after this response: the
    /// `name=value` of each `Set-Cookie`.
    pub fn cookie_header(&self) -> String {
        self.headers
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.split(';').next().unwrap_or_default().trim())
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The `error` member of a JSON answer (`""` when there is none).
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// A request under construction; [`Request::send`] sends it.
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until sent"]
pub struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    /// `(content type, text)`.
    body: Option<(String, String)>,
}

impl Request {
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }

    pub fn post(path: &str) -> Self {
        Self::new("POST", path)
    }

    /// One more header line; a `Host` replaces the default (the address).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn headers(self, headers: &[(&str, &str)]) -> Self {
        headers.iter().fold(self, |r, (k, v)| r.header(k, v))
    }

    /// Drop the headers named in `names` (to test what a server does
    /// without one).
    pub fn without(mut self, names: &[&str]) -> Self {
        self.headers
            .retain(|(k, _)| !names.iter().any(|n| n.eq_ignore_ascii_case(k)));
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    /// `X-Step-Up-Token`, when there is one.
    pub fn step_up(self, token: Option<&str>) -> Self {
        match token {
            Some(t) => self.header("X-Step-Up-Token", t),
            None => self,
        }
    }

    /// A `Cookie` header of the jar's `name=value` pairs (none when empty).
    pub fn cookies<'a>(self, jar: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let c = jar
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if c.is_empty() {
            self
        } else {
            self.header("Cookie", &c)
        }
    }

    pub fn origin(self, origin: &str) -> Self {
        self.header("Origin", origin)
    }

    /// A browser session's API call: its cookies, the double-submit
    /// `X-CSRF-Token` and the hub's `Origin`.
    pub fn session<'a>(
        self,
        jar: impl IntoIterator<Item = (&'a str, &'a str)>,
        csrf: &str,
        origin: &str,
    ) -> Self {
        self.cookies(jar)
            .origin(origin)
            .header("X-CSRF-Token", csrf)
    }

    pub fn body(mut self, content_type: &str, text: &str) -> Self {
        self.body = Some((content_type.to_string(), text.to_string()));
        self
    }

    pub fn json(self, v: &Value) -> Self {
        self.body("application/json", &v.to_string())
    }

    /// [`Request::json`] when there is a body.
    pub fn json_opt(self, v: Option<&Value>) -> Self {
        match v {
            Some(v) => self.json(v),
            None => self,
        }
    }

    /// An urlencoded form of `fields`, as a browser sends it.
    pub fn form(self, fields: &[(&str, &str)]) -> Self {
        let text = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.body("application/x-www-form-urlencoded", &text)
    }

    /// The request's bytes, as sent to `addr` (`Connection: close`).
    pub fn to_wire(&self, addr: SocketAddr) -> String {
        let is = |k: &str| k.eq_ignore_ascii_case("host");
        let host = self
            .headers
            .iter()
            .find(|(k, _)| is(k))
            .map_or_else(|| addr.to_string(), |(_, v)| v.clone());
        let mut req = format!(
            "{} {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n",
            self.method, self.path
        );
        for (k, v) in self.headers.iter().filter(|(k, _)| !is(k)) {
            let _ = write!(req, "{k}: {v}\r\n");
        }
        let (ct, text) = self
            .body
            .as_ref()
            .map_or(("", ""), |(c, t)| (c.as_str(), t.as_str()));
        if !ct.is_empty() {
            let _ = write!(req, "Content-Type: {ct}\r\n");
        }
        if self.body.is_some() || !matches!(self.method.as_str(), "GET" | "HEAD") {
            let _ = write!(req, "Content-Length: {}\r\n", text.len());
        }
        req.push_str("\r\n");
        req.push_str(text);
        req
    }

    /// Sent; an error when it cannot connect or the answer is not HTTP.
    pub fn try_send(&self, addr: SocketAddr) -> std::io::Result<Response> {
        let raw = read_answer(addr, &self.to_wire(addr))?;
        if !raw.contains("\r\n\r\n") {
            let e = std::io::ErrorKind::UnexpectedEof;
            return Err(std::io::Error::new(e, format!("no header end in {raw:?}")));
        }
        let r = parse(&raw);
        if r.status == 0 {
            return Err(std::io::Error::other(format!("bad status line: {raw:?}")));
        }
        Ok(r)
    }

    pub fn send(&self, addr: SocketAddr) -> Response {
        self.try_send(addr)
            .unwrap_or_else(|e| panic!("{} http://{addr}{}: {e}", self.method, self.path))
    }
}

/// Write `raw` (a whole request) on a fresh connection and read the
/// answer to the end of the stream, however malformed (see [`parse`]).
pub fn exchange(addr: SocketAddr, raw: &str) -> std::io::Result<Response> {
    read_answer(addr, raw).map(|a| parse(&a))
}

fn read_answer(addr: SocketAddr, raw: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.write_all(raw.as_bytes())?;
    let mut got = Vec::new();
    s.read_to_end(&mut got)?;
    Ok(String::from_utf8_lossy(&got).into_owned())
}

/// A response as read off the wire; status 0 when it has no status line.
pub fn parse(raw: &str) -> Response {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let (status_line, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    Response {
        status: status_line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0),
        headers: headers.to_string(),
        body: body.to_string(),
    }
}

/// Open a WebSocket to `path` (the RFC 6455 sample key, plus `extra`
/// header lines, each ending in CRLF) and read the answer's head: the
/// stream, left open for frames, and the head.
pub fn websocket(addr: SocketAddr, path: &str, extra: &str) -> (TcpStream, String) {
    let mut ws = TcpStream::connect(addr).expect("connect");
    ws.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        ws,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n",
        addr.port()
    )
    .expect("write");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        ws.read_exact(&mut b).expect("read head");
        head.push(b[0]);
    }
    (ws, String::from_utf8_lossy(&head).into_owned())
}

/// One request with an optional bearer and JSON body (the older helper's
/// shape, kept for its many callers).
pub fn try_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> std::io::Result<Response> {
    let mut r = Request::new(method, path);
    if let Some(t) = bearer {
        r = r.bearer(t);
    }
    if let Some(b) = body.filter(|b| !b.is_empty()) {
        r = r.body("application/json", b);
    }
    r.try_send(addr)
}

pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> Response {
    try_http(addr, method, path, bearer, body)
        .unwrap_or_else(|e| panic!("{method} http://{addr}{path}: {e}"))
}
