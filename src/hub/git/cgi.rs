//! The CGI side of `git http-backend`, as pure functions: the environment it
//! is given (built from scratch, so no hub secret can reach it) and the
//! header block it answers with (RFC 3875 §6: `Status:` becomes the HTTP
//! status, other lines are forwarded).

use std::ffi::OsString;
use std::path::Path;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// Longest CGI header block the hub reads before giving up with 502.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Where the header block ends: the blank line at `idx`, `sep_len` bytes long
/// (4 for `\r\n\r\n`, 2 for `\n\n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderEnd {
    pub idx: usize,
    pub sep_len: usize,
}

/// The first blank line in `buf`, if it has one yet.
pub fn find_header_end(buf: &[u8]) -> Option<HeaderEnd> {
    (0..buf.len()).find_map(|i| {
        let rest = &buf[i..];
        if rest.starts_with(b"\n\n") {
            Some(HeaderEnd { idx: i, sep_len: 2 })
        } else if rest.starts_with(b"\r\n\r\n") {
            Some(HeaderEnd { idx: i, sep_len: 4 })
        } else {
            None
        }
    })
}

/// Headers that describe one hop; the hub's own connection decides them.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
];

/// The status and headers of a CGI header block. No `Status:` line means
/// 200; lines without a colon, malformed names or values, an out-of-range
/// status and hop-by-hop headers are dropped.
pub fn parse_cgi_headers(block: &str) -> (StatusCode, HeaderMap) {
    let mut status = StatusCode::OK;
    let mut headers = HeaderMap::new();
    for line in block.lines() {
        let Some((key, value)) = line.trim().split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key.eq_ignore_ascii_case("status") {
            if let Some(code) = value
                .split_whitespace()
                .next()
                .and_then(|c| c.parse::<u16>().ok())
                .and_then(|c| StatusCode::from_u16(c).ok())
            {
                status = code;
            }
            continue;
        }
        if HOP_BY_HOP.iter().any(|h| key.eq_ignore_ascii_case(h)) {
            continue;
        }
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(k, v);
        }
    }
    (status, headers)
}

/// What the backend is told about one request.
#[derive(Debug, Clone)]
pub struct CgiRequest<'a> {
    pub project_root: &'a Path,
    /// `PATH` for the backend (and the hooks it runs).
    pub search_path: &'a OsString,
    pub name: &'a str,
    pub subpath: &'a str,
    pub method: &'a str,
    pub query: &'a str,
    pub content_type: Option<&'a str>,
    /// Only when the request carried a `Content-Length`; a chunked body has
    /// none and the backend reads it to EOF.
    pub content_length: Option<u64>,
    /// `Content-Encoding` (git gzips large fetch negotiations); the backend
    /// inflates it itself.
    pub content_encoding: Option<&'a str>,
    /// The `Git-Protocol` header (`version=2`), passed on only when it is
    /// plain `key=value[:key=value…]`.
    pub git_protocol: Option<&'a str>,
    /// The token's subject.
    pub remote_user: &'a str,
    pub remote_addr: Option<String>,
}

/// The complete environment of `git http-backend`: nothing is inherited.
pub fn env(r: &CgiRequest<'_>) -> Vec<(&'static str, OsString)> {
    let mut env = vec![
        ("PATH", r.search_path.clone()),
        ("GIT_PROJECT_ROOT", r.project_root.as_os_str().to_owned()),
        ("GIT_HTTP_EXPORT_ALL", "1".into()),
        ("PATH_INFO", format!("/{}.git/{}", r.name, r.subpath).into()),
        ("REQUEST_METHOD", r.method.into()),
        ("QUERY_STRING", r.query.into()),
        ("CONTENT_TYPE", r.content_type.unwrap_or_default().into()),
        ("REMOTE_USER", r.remote_user.into()),
        (
            "REMOTE_ADDR",
            r.remote_addr.clone().unwrap_or_default().into(),
        ),
    ];
    if let Some(n) = r.content_length {
        env.push(("CONTENT_LENGTH", n.to_string().into()));
    }
    if let Some(e) = r.content_encoding.filter(|e| is_token(e)) {
        env.push(("HTTP_CONTENT_ENCODING", e.into()));
    }
    if let Some(p) = r.git_protocol.filter(|p| is_git_protocol(p)) {
        env.push(("GIT_PROTOCOL", p.into()));
    }
    env
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `key=value` pairs joined by `:`, each side a plain token.
pub fn is_git_protocol(s: &str) -> bool {
    s.split(':').all(|kv| {
        kv.split_once('=')
            .is_some_and(|(k, v)| is_token(k) && is_token(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    /// (what, input, expected `(idx, sep_len)`)
    type EndCase = (&'static str, &'static [u8], Option<(usize, usize)>);
    /// (what, header block, status, headers in order)
    type HeaderCase = (
        &'static str,
        &'static str,
        u16,
        &'static [(&'static str, &'static str)],
    );

    #[test]
    fn find_header_end_table() {
        let cases: &[EndCase] = &[
            ("CRLF CRLF", b"A: b\r\nC: d\r\n\r\nBODY", Some((10, 4))),
            ("LF LF", b"A: b\n\nBODY", Some((4, 2))),
            ("CRLF then LF", b"A: b\r\n\nBODY", Some((5, 2))),
            ("empty block", b"\r\n\r\nBODY", Some((0, 4))),
            ("first boundary wins", b"A\n\nB\r\n\r\n", Some((1, 2))),
            ("no boundary", b"A: b\r\n", None),
            ("half a boundary", b"A: b\r\n\r", None),
            ("nothing", b"", None),
        ];
        for (what, buf, want) in cases {
            let got = find_header_end(buf).map(|e| (e.idx, e.sep_len));
            assert_eq!(got, *want, "{what}");
        }
        let buf = b"A: b\r\nC: d\r\n\r\nBODY";
        let end = find_header_end(buf).expect("found");
        assert_eq!(&buf[..end.idx], b"A: b\r\nC: d");
        assert_eq!(&buf[end.idx + end.sep_len..], b"BODY");
    }

    #[test]
    fn parse_cgi_headers_table() {
        let cases: &[HeaderCase] = &[
            (
                "no Status line is 200",
                "Content-Type: application/x-git-upload-pack-advertisement",
                200,
                &[(
                    "content-type",
                    "application/x-git-upload-pack-advertisement",
                )],
            ),
            (
                "Status line",
                "Status: 404 Not Found\r\nContent-Type: text/plain",
                404,
                &[("content-type", "text/plain")],
            ),
            (
                "status is case-insensitive, code only",
                "status: 403",
                403,
                &[],
            ),
            ("bad status keeps 200", "Status: abc", 200, &[]),
            ("out-of-range status keeps 200", "Status: 1000 X", 200, &[]),
            (
                "lines without a colon are skipped",
                "garbage\nExpires: Fri, 01 Jan 1980 00:00:00 GMT",
                200,
                &[("expires", "Fri, 01 Jan 1980 00:00:00 GMT")],
            ),
            (
                "hop-by-hop headers are dropped",
                "Connection: close\r\nTransfer-Encoding: chunked\r\nPragma: no-cache",
                200,
                &[("pragma", "no-cache")],
            ),
            (
                "repeated headers are kept",
                "Cache-Control: no-cache\nCache-Control: max-age=0",
                200,
                &[
                    ("cache-control", "no-cache"),
                    ("cache-control", "max-age=0"),
                ],
            ),
            ("bad header name", "Bad Name: x", 200, &[]),
            ("empty block", "", 200, &[]),
        ];
        for (what, block, status, headers) in cases {
            let (s, h) = parse_cgi_headers(block);
            assert_eq!(s.as_u16(), *status, "{what}");
            let got: Vec<(&str, &str)> = h
                .iter()
                .map(|(k, v)| (k.as_str(), v.to_str().expect("ascii")))
                .collect();
            assert_eq!(got, *headers, "{what}");
        }
        let (_, h) = parse_cgi_headers("Content-Length: 12");
        assert_eq!(h.get(header::CONTENT_LENGTH).expect("kept"), "12");
    }

    fn request(search_path: &OsString) -> CgiRequest<'_> {
        CgiRequest {
            project_root: Path::new("/h/hub/git"),
            search_path,
            name: "foo",
            subpath: "git-receive-pack",
            method: "POST",
            query: "",
            content_type: Some("application/x-git-receive-pack-request"),
            content_length: None,
            content_encoding: None,
            git_protocol: Some("version=2"),
            remote_user: "user-1",
            remote_addr: Some("127.0.0.1".into()),
        }
    }

    fn keys(env: &[(&'static str, OsString)]) -> Vec<&'static str> {
        env.iter().map(|(k, _)| *k).collect()
    }

    #[test]
    fn env_is_exactly_the_cgi_variables() {
        let path = OsString::from("/usr/bin:/bin");
        let env = env(&request(&path));
        assert_eq!(
            keys(&env),
            [
                "PATH",
                "GIT_PROJECT_ROOT",
                "GIT_HTTP_EXPORT_ALL",
                "PATH_INFO",
                "REQUEST_METHOD",
                "QUERY_STRING",
                "CONTENT_TYPE",
                "REMOTE_USER",
                "REMOTE_ADDR",
                "GIT_PROTOCOL",
            ]
        );
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        assert_eq!(get("PATH_INFO").expect("set"), "/foo.git/git-receive-pack");
        assert_eq!(get("GIT_PROJECT_ROOT").expect("set"), "/h/hub/git");
        assert_eq!(get("REMOTE_USER").expect("set"), "user-1");
        assert_eq!(get("GIT_PROTOCOL").expect("set"), "version=2");
    }

    #[test]
    fn env_optional_variables() {
        let path = OsString::new();
        let mut r = request(&path);
        r.content_length = Some(4);
        r.content_encoding = Some("gzip");
        r.git_protocol = Some("version=2\nEVIL=1");
        r.remote_addr = None;
        let env = env(&r);
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        assert_eq!(get("CONTENT_LENGTH").expect("set"), "4");
        assert_eq!(get("HTTP_CONTENT_ENCODING").expect("set"), "gzip");
        assert_eq!(
            get("GIT_PROTOCOL"),
            None,
            "a malformed Git-Protocol is dropped"
        );
        assert_eq!(get("REMOTE_ADDR").expect("set"), "");
    }

    #[test]
    fn git_protocol_table() {
        let cases: &[(&str, bool)] = &[
            ("version=2", true),
            ("version=2:object-format=sha256", true),
            ("version=1", true),
            ("", false),
            ("version", false),
            ("version=", false),
            ("=2", false),
            ("version=2:", false),
            ("version=2 x", false),
            ("version=2;rm -rf", false),
        ];
        for (v, want) in cases {
            assert_eq!(is_git_protocol(v), *want, "{v:?}");
        }
    }
}
