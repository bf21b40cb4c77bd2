//! No input makes the daemon answer 5xx or panic: a seeded random walk over paths, ids,
//! methods, headers, query strings and bodies against the real binary.

mod common;

use common::Builder;

/// xorshift64*: deterministic, so a failure can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("below n, a usize")
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next().to_le_bytes()[0]).collect()
    }
    /// Text for a URI: unreserved characters, some reserved ones, percent-encoded bytes.
    fn uri_text(&mut self, max: usize) -> String {
        let n = self.below(max + 1);
        (0..n)
            .map(|_| match self.below(6) {
                0 => format!("%{:02X}", self.next() & 0xff),
                1 => self
                    .pick(&[
                        "..", "*", "[", "]", "-", "_", "~", ".", "+", ":", "@", "!", "$", "'", "(",
                        ")", ",",
                    ])
                    .to_owned(),
                _ => char::from(
                    self.pick(&["a", "f", "0", "9", "Z", "x", "é"]).as_bytes()[0].min(b'z'),
                )
                .to_string(),
            })
            .collect()
    }
}

const FP: &str = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2";

#[tokio::test]
async fn random_requests_never_get_a_server_error() {
    let seed = 0x5eed_f1a5_c0de_0001;
    let mut rng = Rng(seed);
    let mut d = Builder::new()
        .toml("max_anon = 65536\nmax_auth = 131072")
        .spawn();
    let mut ids: Vec<String> = Vec::new();
    for i in 0..4 {
        let burn = if i % 2 == 0 { "1" } else { "0" };
        let v = d
            .create(
                format!("seed paste {i}"),
                &[("x-ssl-client-sha1", FP), ("x-burn-after-read", burn)],
            )
            .await;
        ids.push(v["id"].as_str().expect("id").to_owned());
    }
    let header_names = [
        "x-expiry",
        "x-burn-after-read",
        "x-paste-password",
        "x-display-name",
        "x-ssl-client-sha1",
        "x-proxy-secret",
        "x-owner-token",
        "range",
        "if-none-match",
        "content-type",
        "x-extend-expiry",
        "x-remove-password",
        "x-remove-display-name",
        "x-request-id",
        "content-length-ish",
    ];
    let values = [
        "",
        "0",
        "-1",
        "1",
        "true",
        "yes",
        "99999999999999999999",
        "bytes=0-",
        "bytes=-0",
        "bytes=5-2",
        "bytes=0-1,2-3",
        "bytes=999999-",
        "*",
        "application/json",
        "text/html",
        "image/svg+xml; charset=x",
        "garbage/",
        FP,
        "A1B2",
        "\"etag\"",
    ];
    for round in 0..600 {
        let method = rng.pick(&["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]);
        let mut path = String::new();
        for _ in 0..rng.below(4) {
            path.push('/');
            path.push_str(&match rng.below(4) {
                0 => ids[rng.below(ids.len())].clone(),
                1 => rng
                    .pick(&["raw", "pastes", "health", "", "s", "challenge"])
                    .to_owned(),
                _ => rng.uri_text(40),
            });
        }
        if path.is_empty() {
            path.push('/');
        }
        if rng.below(3) == 0 {
            let pairs: Vec<String> = (0..rng.below(4))
                .map(|_| {
                    let key = rng.pick(&[
                        "limit", "offset", "type", "after", "before", "all", "download", "x",
                    ]);
                    format!("{key}={}", rng.uri_text(12))
                })
                .collect();
            path = format!("{path}?{}", pairs.join("&"));
        }
        let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
        for _ in 0..rng.below(4) {
            let name = rng.pick(&header_names);
            if name == "x-paste-password" && rng.below(10) > 0 {
                continue; // each password costs a deliberate PBKDF2 run
            }
            let value = if rng.below(3) == 0 {
                // Any bytes a header value may carry: visible ASCII, tab, and obs-text.
                rng.bytes(40)
                    .into_iter()
                    .map(|b| if b < 0x20 || b == 0x7f { b'x' } else { b })
                    .collect()
            } else {
                rng.pick(&values).as_bytes().to_vec()
            };
            headers.push((name.to_owned(), value));
        }
        let body = match rng.below(5) {
            0 => Vec::new(),
            1 => rng.bytes(2000),
            2 => rng
                .pick(&[
                    r#"{"content": 5}"#,
                    r#"{"content": ["a"]}"#,
                    r#"{"content": "x"}"#,
                    "{",
                    "[]",
                    "null",
                    r#"{"content":"\ud800"}"#,
                ])
                .as_bytes()
                .to_vec(),
            _ => format!("round {round} {}", rng.uri_text(30)).into_bytes(),
        };
        let status = send(&d, method, &path, &headers, body).await;
        assert!(
            status < 500,
            "seed {seed:#x} round {round}: {method} {path} {headers:?} -> {status}"
        );
    }
    assert_eq!(d.req("GET", "/health", &[]).await.status, 200);
    assert_eq!(d.stop().code(), Some(0));
    assert!(!d.log().contains("panicked"), "{}", d.log());
}

/// Sends one request; hyper's client refuses some header values, which then go raw.
async fn send(
    d: &common::Daemon,
    method: &str,
    path: &str,
    headers: &[(String, Vec<u8>)],
    body: Vec<u8>,
) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    )
    .into_bytes();
    for (name, value) in headers {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head.extend_from_slice(&body);
    let mut conn = tokio::net::UnixStream::connect(&d.sock)
        .await
        .expect("connect");
    conn.write_all(&head).await.expect("write");
    let mut resp = Vec::new();
    conn.read_to_end(&mut resp).await.expect("read");
    let text = String::from_utf8_lossy(&resp);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line: a panic would close the connection without one")
}
