//! The URL shortener under `/s` against the real binary: creation (JSON and raw bodies),
//! the target rules, proof-of-work, the duplicate throttle and the rate limit, redirects,
//! metadata and counts (also across a restart), listing, expiry, deletion and `GET /`.

#![expect(clippy::unwrap_used, reason = "test: any failure is the test's")]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Builder, Daemon, FP, OTHER_FP, Resp};
use serde_json::{Value, json};

const JSON: (&str, &str) = ("content-type", "application/json");
const CERT: (&str, &str) = ("x-ssl-client-sha1", FP);
const OTHER_CERT: (&str, &str) = ("x-ssl-client-sha1", OTHER_FP);

/// `POST /s` with the JSON `{"url": url}` and `headers`.
async fn shorten(d: &Daemon, url: &str, headers: &[(&str, &str)]) -> Resp {
    let mut all = vec![JSON];
    all.extend_from_slice(headers);
    d.send("POST", "/s", &all, json!({ "url": url }).to_string())
        .await
}

/// Shortens `url`, failing unless the answer is 201; returns the document.
async fn shortened(d: &Daemon, url: &str, headers: &[(&str, &str)]) -> Value {
    let resp = shorten(d, url, headers).await;
    assert_eq!(resp.status, 201, "{url:?}: {}", text(&resp));
    resp.json()
}

/// The `id` of a short URL document.
fn sid(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn text(resp: &Resp) -> String {
    String::from_utf8_lossy(&resp.body).into_owned()
}

/// Status and `error` text of an answer.
fn error(resp: &Resp) -> (u16, String) {
    (
        resp.status,
        resp.json()["error"].as_str().unwrap_or_default().to_owned(),
    )
}

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort_unstable();
    keys
}

fn is_short_id(id: &str) -> bool {
    id.len() == 8 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn span(v: &Value) -> i64 {
    v["expires_at"].as_i64().unwrap() - v["created_at"].as_i64().unwrap()
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// `GET /s/{id}/info`, failing unless 200.
async fn info(d: &Daemon, id: &str) -> Value {
    let resp = d.req("GET", &format!("/s/{id}/info"), &[]).await;
    assert_eq!(resp.status, 200, "{id}: {}", text(&resp));
    resp.json()
}

/// `GET /s/{id}`, failing unless it redirects to `target`.
async fn follow(d: &Daemon, id: &str, target: &str) {
    let resp = d.req("GET", &format!("/s/{id}"), &[]).await;
    assert_eq!(resp.status, 302, "{id}: {}", text(&resp));
    assert_eq!(resp.header("location"), Some(target));
}

// --- creating ----------------------------------------------------------------------------

#[tokio::test]
async fn json_body_creates_a_short_url_with_the_documented_fields() {
    let d = Builder::new().spawn();
    let before = now();
    let target = "https://example.com/some/long/path?query=value";
    let resp = shorten(&d, target, &[]).await;
    assert_eq!(resp.status, 201, "{}", text(&resp));
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let v = resp.json();
    let id = sid(&v);
    assert!(is_short_id(&id), "{id}");
    assert_eq!(v["url"], format!("/s/{id}"));
    assert_eq!(v["target_url"], target);
    let created = v["created_at"].as_i64().unwrap();
    assert!((before..=now()).contains(&created), "{v}");
    assert_eq!(span(&v), 86_400, "anonymous default expiry");
    // Anonymous: a token to delete it with, and no owner.
    assert_eq!(
        keys(&v),
        [
            "created_at",
            "expires_at",
            "id",
            "owner_token",
            "target_url",
            "url"
        ]
    );
    let token = v["owner_token"].as_str().unwrap();
    assert!(
        token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{token}"
    );
    // A parameter on the media type changes nothing.
    let v = shortened(
        &d,
        "https://example.com/charset",
        &[("content-type", "application/json; charset=utf-8")],
    )
    .await;
    assert_eq!(v["target_url"], "https://example.com/charset");
}

#[tokio::test]
async fn raw_body_creates_a_short_url_of_its_trimmed_text() {
    let d = Builder::new().spawn();
    for (content_type, body, target) in [
        (
            "text/plain",
            "https://example.com/raw",
            "https://example.com/raw",
        ),
        (
            "text/plain",
            "https://example.com/newline\n",
            "https://example.com/newline",
        ),
        (
            "text/plain",
            "  https://example.com/spaces\r\n",
            "https://example.com/spaces",
        ),
        // What `curl --data-binary @-` sends by default.
        (
            "application/x-www-form-urlencoded",
            "https://example.com/curl?a=1&b=2\n",
            "https://example.com/curl?a=1&b=2",
        ),
    ] {
        let resp = d
            .send("POST", "/s", &[("content-type", content_type)], body)
            .await;
        assert_eq!(resp.status, 201, "{body:?}: {}", text(&resp));
        let v = resp.json();
        assert_eq!(v["target_url"], target, "{body:?}");
        assert!(is_short_id(&sid(&v)));
        assert!(v["owner_token"].is_string() && v.get("owner").is_none());
        follow(&d, &sid(&v), target).await;
    }
    // No content type at all is raw too.
    let resp = d.send("POST", "/s", &[], "https://example.com/bare").await;
    assert_eq!(resp.status, 201, "{}", text(&resp));
    assert_eq!(resp.json()["target_url"], "https://example.com/bare");
}

#[tokio::test]
async fn a_certificate_owns_the_short_url_and_gets_no_owner_token() {
    let d = Builder::new().spawn();
    let v = shortened(&d, "https://example.com/mine", &[CERT]).await;
    assert_eq!(v["owner"], FP);
    assert_eq!(
        keys(&v),
        [
            "created_at",
            "expires_at",
            "id",
            "owner",
            "target_url",
            "url"
        ]
    );
    assert_eq!(span(&v), 604_800, "untrusted certificate default expiry");
    let raw = d
        .send(
            "POST",
            "/s",
            &[("content-type", "text/plain"), CERT],
            "https://example.com/mine/raw\n",
        )
        .await;
    assert_eq!(raw.status, 201);
    let raw = raw.json();
    assert_eq!(
        (raw["owner"].as_str(), raw.get("owner_token")),
        (Some(FP), None)
    );
}

#[tokio::test]
async fn ids_are_fresh_for_every_creation() {
    let d = Builder::new().spawn();
    let mut ids = std::collections::HashSet::new();
    for i in 0..20 {
        let v = shortened(&d, &format!("https://example.com/{i}"), &[]).await;
        assert!(ids.insert(sid(&v)), "{v}");
    }
}

#[tokio::test]
async fn short_urls_carry_the_url_prefix() {
    let d = Builder::new().toml("url_prefix = \"/p\"").spawn();
    let resp = d
        .send(
            "POST",
            "/p/s",
            &[JSON],
            r#"{"url":"https://example.com/pre"}"#,
        )
        .await;
    assert_eq!(resp.status, 201, "{}", text(&resp));
    let v = resp.json();
    let id = sid(&v);
    assert_eq!(v["url"], format!("/p/s/{id}"));
    let go = d.req("GET", &format!("/p/s/{id}"), &[]).await;
    assert_eq!(
        (go.status, go.header("location")),
        (302, Some("https://example.com/pre"))
    );
    let meta = d.req("GET", &format!("/p/s/{id}/info"), &[]).await.json();
    assert_eq!(meta["url"], format!("/p/s/{id}"));
    assert_eq!(d.req("GET", &format!("/s/{id}"), &[]).await.status, 404);
}

#[tokio::test]
async fn creation_carries_rate_limit_headers_when_rate_limiting_is_on() {
    let d = Builder::new()
        .toml("rate_limit = true\nrate_max = 5\nrate_window = 60")
        .spawn();
    let resp = shorten(&d, "https://example.com/limited", &[]).await;
    assert_eq!(resp.status, 201, "{}", text(&resp));
    assert_eq!(resp.header("x-ratelimit-limit"), Some("5"));
    assert_eq!(resp.header("x-ratelimit-remaining"), Some("4"));
    let reset: i64 = resp.header("x-ratelimit-reset").unwrap().parse().unwrap();
    let created = resp.json()["created_at"].as_i64().unwrap();
    assert!(
        reset > created && reset <= created + 61,
        "{reset} vs {created}"
    );
    let second = shorten(&d, "https://example.com/limited/2", &[]).await;
    assert_eq!(second.header("x-ratelimit-remaining"), Some("3"));
    // Off (the harness default), there are none.
    let off = Builder::new().spawn();
    let resp = shorten(&off, "https://example.com/unlimited", &[]).await;
    assert_eq!(resp.status, 201);
    assert!(resp.header("x-ratelimit-limit").is_none());
    assert!(resp.header("x-ratelimit-remaining").is_none());
}

// --- what may be a target ------------------------------------------------------------------

/// Asserts that every body in `bodies` (sent with `headers`) is a 400 with `message`.
async fn refuses(d: &Daemon, headers: &[(&str, &str)], bodies: &[&str], message: &str) {
    for body in bodies {
        let resp = d.send("POST", "/s", headers, *body).await;
        assert_eq!(error(&resp), (400, message.to_owned()), "{body:?}");
        assert_eq!(resp.json(), json!({ "error": message }), "{body:?}");
    }
}

/// The JSON bodies `{"url": url}` of `urls`.
fn bodies(urls: &[&str]) -> Vec<String> {
    urls.iter()
        .map(|u| json!({ "url": u }).to_string())
        .collect()
}

/// No short URL was made: the certificate that sent them all owns none.
async fn none_made(d: &Daemon) {
    let list = d.req("GET", "/s", &[CERT]).await.json();
    assert_eq!(list["total"], 0, "{list}");
}

#[tokio::test]
async fn a_missing_url_is_no_url_provided() {
    let d = Builder::new().spawn();
    let plain = [("content-type", "text/plain"), CERT];
    refuses(&d, &plain, &["", "\n", "  \r\n\t "], "No URL provided").await;
    refuses(&d, &[CERT], &[""], "No URL provided").await;
    let json_bodies = [
        "{}",
        r#"{"url": ""}"#,
        r#"{"link": "https://example.com/"}"#,
        r#"{"url": null}"#,
        r#"{"url": 5}"#,
        r#"["https://example.com/"]"#,
    ];
    refuses(&d, &[JSON, CERT], &json_bodies, "No URL provided").await;
    none_made(&d).await;
}

#[tokio::test]
async fn only_http_and_https_schemes_are_accepted() {
    let d = Builder::new().spawn();
    let urls = [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        "ftp://example.com/file",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "example.com/no/scheme",
        "//example.com/relative",
        "httpx://example.com/",
    ];
    let json_bodies = bodies(&urls);
    let json_bodies: Vec<&str> = json_bodies.iter().map(String::as_str).collect();
    let message = "Invalid URL scheme (only http/https allowed)";
    refuses(&d, &[JSON, CERT], &json_bodies, message).await;
    refuses(&d, &[("content-type", "text/plain"), CERT], &urls, message).await;
    none_made(&d).await;
}

#[tokio::test]
async fn a_url_without_a_host_is_refused() {
    let d = Builder::new().spawn();
    let urls = [
        "http://",
        "https://",
        "https:///x",
        "http:example.com",
        "https:example.com/path",
        "http:\\\\example.com",
        "https://:443/",
        "http://?q=1",
    ];
    let json_bodies = bodies(&urls);
    let json_bodies: Vec<&str> = json_bodies.iter().map(String::as_str).collect();
    let message = "Invalid URL: missing host";
    refuses(&d, &[JSON, CERT], &json_bodies, message).await;
    refuses(&d, &[("content-type", "text/plain"), CERT], &urls, message).await;
    none_made(&d).await;
}

#[tokio::test]
async fn urls_up_to_short_url_max_bytes_are_accepted_and_longer_ones_refused() {
    let d = Builder::new().spawn();
    let longest = format!("https://example.com/{}", "a".repeat(2028));
    assert_eq!(longest.len(), 2048);
    let v = shortened(&d, &longest, &[]).await;
    follow(&d, &sid(&v), &longest).await;
    let message = "URL too long (max 2048 bytes)";
    let over = format!("{longest}b");
    refuses(&d, &[JSON], &[&json!({ "url": over }).to_string()], message).await;
    refuses(&d, &[("content-type", "text/plain")], &[&over], message).await;
    // A body far beyond any URL is refused the same way, not read to its end.
    let huge = format!("https://example.com/{}", "x".repeat(100_000));
    refuses(&d, &[("content-type", "text/plain")], &[&huge], message).await;
    refuses(&d, &[JSON], &[&json!({ "url": huge }).to_string()], message).await;
}

#[tokio::test]
async fn the_length_limit_follows_short_url_max() {
    let d = Builder::new().toml("short_url_max = 100").spawn();
    let longest = format!("https://example.com/{}", "a".repeat(80));
    assert_eq!(longest.len(), 100);
    shortened(&d, &longest, &[]).await;
    let over = format!("{longest}a");
    let resp = shorten(&d, &over, &[]).await;
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.json(),
        json!({"error": "URL too long (max 100 bytes)"})
    );
    let raw = d
        .send("POST", "/s", &[("content-type", "text/plain")], over)
        .await;
    assert_eq!(error(&raw), (400, "URL too long (max 100 bytes)".into()));
}

#[tokio::test]
async fn control_characters_spaces_and_non_ascii_are_refused() {
    let d = Builder::new().spawn();
    let urls = [
        // Header injection: nothing may reach the Location header but the URL.
        "https://a.example/\r\nSet-Cookie: x=y",
        "https://a.example/\nLocation: https://evil.example/",
        "https://a.example/\rx",
        "https://a.example/a b",
        "https://a.example/a\tb",
        "https://a.example/\u{0}",
        "https://a.example/\u{7f}",
        "https://exämple.com/",
        "https://example.com/caf\u{e9}",
    ];
    let message = "Invalid URL: contains invalid characters";
    let json_bodies = bodies(&urls);
    let json_bodies: Vec<&str> = json_bodies.iter().map(String::as_str).collect();
    refuses(&d, &[JSON, CERT], &json_bodies, message).await;
    // Raw, the whitespace around the URL is trimmed, but none inside it.
    refuses(&d, &[("content-type", "text/plain"), CERT], &urls, message).await;
    // A raw body that is not UTF-8.
    let resp = d
        .send(
            "POST",
            "/s",
            &[("content-type", "text/plain"), CERT],
            b"https://example.com/\xff\xfe".to_vec(),
        )
        .await;
    assert_eq!(error(&resp), (400, message.to_owned()));
    none_made(&d).await;
}

#[tokio::test]
async fn broken_json_is_an_invalid_json_body() {
    let d = Builder::new().spawn();
    for body in [
        "{",
        "{\"url\": \"https://example.com/\"",
        "url=https://example.com/",
        "https://example.com/",
    ] {
        let resp = d.send("POST", "/s", &[JSON, CERT], body).await;
        assert_eq!(resp.status, 400, "{body:?}");
        assert_eq!(
            resp.json(),
            json!({"error": "Invalid JSON body"}),
            "{body:?}"
        );
    }
    none_made(&d).await;
}

// --- proof-of-work ---------------------------------------------------------------------------

/// The proof-of-work headers of a solved challenge.
fn pow(solved: &(String, String)) -> [(&str, &str); 2] {
    [
        ("x-pow-token", solved.0.as_str()),
        ("x-pow-solution", solved.1.as_str()),
    ]
}

#[tokio::test]
async fn proof_of_work_is_required_and_a_challenge_pays_for_one_creation() {
    let d = Builder::new().toml("pow_difficulty = 4").spawn();
    let required = json!({"error": "Proof-of-work required",
                          "hint": "GET /challenge for a new challenge"});
    let resp = shorten(&d, "https://example.com/pow", &[]).await;
    assert_eq!((resp.status, resp.json()), (400, required.clone()));
    // Half the headers are no better than none.
    let solved = d.solve().await;
    let resp = shorten(&d, "https://example.com/pow", &[pow(&solved)[0]]).await;
    assert_eq!((resp.status, resp.json()), (400, required.clone()));
    let resp = shorten(&d, "https://example.com/pow", &[pow(&solved)[1]]).await;
    assert_eq!((resp.status, resp.json()), (400, required));
    // Solved, it is accepted, once.
    let v = shortened(&d, "https://example.com/pow", &pow(&solved)).await;
    follow(&d, &sid(&v), "https://example.com/pow").await;
    let again = shorten(&d, "https://example.com/pow/again", &pow(&solved)).await;
    assert_eq!(
        again.json(),
        json!({"error": "Proof-of-work failed: Challenge already used"})
    );
    assert_eq!(again.status, 400);
    // A wrong solution is refused.
    let (token, _) = d.solve().await;
    let wrong = shorten(
        &d,
        "https://example.com/pow/wrong",
        &[("x-pow-token", &token), ("x-pow-solution", "not-a-number")],
    )
    .await;
    assert_eq!(wrong.status, 400);
    assert!(
        wrong.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("Proof-of-work failed: "),
        "{}",
        text(&wrong)
    );
}

#[tokio::test]
async fn a_challenge_spent_on_a_paste_is_refused_for_a_short_url_and_back() {
    let d = Builder::new().toml("pow_difficulty = 4").spawn();
    let spent = "Proof-of-work failed: Challenge already used";
    let solved = d.solve().await;
    assert_eq!(d.post("paid paste", &pow(&solved)).await.status, 201);
    let resp = shorten(&d, "https://example.com/after-paste", &pow(&solved)).await;
    assert_eq!(error(&resp), (400, spent.to_owned()));
    let solved = d.solve().await;
    shortened(&d, "https://example.com/first", &pow(&solved)).await;
    let resp = d.post("second paste", &pow(&solved)).await;
    assert_eq!(error(&resp), (400, spent.to_owned()));
}

#[tokio::test]
async fn a_refused_target_leaves_the_challenge_unspent() {
    let d = Builder::new().toml("pow_difficulty = 4").spawn();
    let solved = d.solve().await;
    let resp = shorten(&d, "javascript:alert(1)", &pow(&solved)).await;
    assert_eq!(
        error(&resp),
        (400, "Invalid URL scheme (only http/https allowed)".into())
    );
    shortened(&d, "https://example.com/fixed", &pow(&solved)).await;
}

// --- throttles ---------------------------------------------------------------------------------

#[tokio::test]
async fn the_same_target_is_throttled_after_dedup_max_creations() {
    let d = Builder::new().toml("dedup_max = 2").spawn();
    let url = "https://example.com/popular";
    shortened(&d, url, &[]).await;
    shortened(&d, url, &[CERT]).await;
    let third = shorten(&d, url, &[OTHER_CERT]).await;
    assert_eq!(third.status, 429);
    assert_eq!(
        third.json(),
        json!({"error": "Duplicate content rate limit exceeded", "count": 2,
               "window_seconds": 3600})
    );
    // The raw spelling of the same target is the same target.
    let raw = d
        .send(
            "POST",
            "/s",
            &[("content-type", "text/plain")],
            format!("{url}\n"),
        )
        .await;
    assert_eq!(raw.status, 429);
    // Another target is not throttled, and the URL as paste content counts on its own.
    shortened(&d, "https://example.com/other", &[]).await;
    assert_eq!(d.post(url, &[]).await.status, 201);
    assert_eq!(d.post(url, &[]).await.status, 201);
    assert_eq!(d.post(url, &[]).await.status, 429);
    // The refused one made nothing.
    let mine = d.req("GET", "/s", &[OTHER_CERT]).await.json();
    assert_eq!(mine["total"], 0);
}

#[tokio::test]
async fn short_url_creations_are_rate_limited_with_retry_after() {
    let d = Builder::new()
        .toml("rate_limit = true\nrate_max = 2\nrate_window = 60")
        .spawn();
    let first = shorten(&d, "https://example.com/r1", &[]).await;
    assert_eq!(
        (first.status, first.header("x-ratelimit-remaining")),
        (201, Some("1"))
    );
    let second = shorten(&d, "https://example.com/r2", &[]).await;
    assert_eq!(
        (second.status, second.header("x-ratelimit-remaining")),
        (201, Some("0"))
    );
    let refused = shorten(&d, "https://example.com/r3", &[]).await;
    assert_eq!(error(&refused), (429, "Rate limit exceeded".into()));
    assert_eq!(refused.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(refused.header("x-ratelimit-limit"), Some("2"));
    let retry: i64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(refused.json()["retry_after"], retry);
    // Redirects and reads are not limited.
    let id = sid(&first.json());
    follow(&d, &id, "https://example.com/r1").await;
    assert_eq!(
        d.req("GET", &format!("/s/{id}/info"), &[]).await.status,
        200
    );
}

#[tokio::test]
async fn pastes_and_short_urls_share_the_clients_budget() {
    let d = Builder::new()
        .toml("rate_limit = true\nrate_max = 2\nrate_window = 60")
        .spawn();
    assert_eq!(d.post("a paste", &[]).await.status, 201);
    let short = shorten(&d, "https://example.com/shared", &[]).await;
    assert_eq!(
        (short.status, short.header("x-ratelimit-remaining")),
        (201, Some("0"))
    );
    assert_eq!(
        error(&shorten(&d, "https://example.com/shared/2", &[]).await),
        (429, "Rate limit exceeded".into())
    );
    assert_eq!(
        error(&d.post("another paste", &[]).await),
        (429, "Rate limit exceeded".into())
    );
    // The other way round.
    let d = Builder::new()
        .toml("rate_limit = true\nrate_max = 2\nrate_window = 60")
        .spawn();
    shortened(&d, "https://example.com/s1", &[]).await;
    shortened(&d, "https://example.com/s2", &[]).await;
    assert_eq!(d.post("too many", &[]).await.status, 429);
}

// --- redirects ---------------------------------------------------------------------------------

#[tokio::test]
async fn redirect_answers_302_with_the_exact_location() {
    let d = Builder::new().spawn();
    for target in [
        "https://example.com/some/long/path?query=value&other=%20x#section-2",
        "https://user:pw@example.com:8443/a%2Fb/%C3%A9?q=%E2%9C%93&r=#top",
        "http://[2001:db8::1]:8080/x?y",
        "HTTPS://EXAMPLE.COM/Mixed/Case",
        "http://example.com",
        "http://127.0.0.1:5000/../not/normalised/./",
        "https://example.com/path;params?a=1&a=2&b=%2B+c",
        "https://xn--bcher-kva.example/~tilde/!$'()*,;=:@",
    ] {
        let v = shortened(&d, target, &[]).await;
        assert_eq!(v["target_url"], target);
        let resp = d.req("GET", &format!("/s/{}", sid(&v)), &[]).await;
        assert_eq!(resp.status, 302, "{target}");
        assert_eq!(resp.header("location"), Some(target));
        assert_eq!(
            resp.header("cache-control"),
            Some("no-store, no-cache, must-revalidate, private")
        );
    }
}

#[tokio::test]
async fn head_redirects_with_location_and_no_body() {
    let d = Builder::new().spawn();
    let target = "https://example.com/head?x=1";
    let v = shortened(&d, target, &[]).await;
    let resp = d.req("HEAD", &format!("/s/{}", sid(&v)), &[]).await;
    assert_eq!(resp.status, 302);
    assert_eq!(resp.header("location"), Some(target));
    assert!(resp.body.is_empty(), "{}", text(&resp));
    assert_eq!(
        resp.header("cache-control"),
        Some("no-store, no-cache, must-revalidate, private")
    );
}

#[tokio::test]
async fn malformed_ids_are_400_and_unknown_ones_404() {
    let d = Builder::new().spawn();
    let bad_id = json!({"error": "Invalid short URL ID format"});
    for bad in [
        "abcdefg",
        "abcdefghi",
        "abc-defg",
        "abc_defg",
        "abcdefg!",
        "abcdefg%20",
    ] {
        let resp = d.req("GET", &format!("/s/{bad}"), &[]).await;
        assert_eq!((resp.status, resp.json()), (400, bad_id.clone()), "{bad}");
        let resp = d.req("GET", &format!("/s/{bad}/info"), &[]).await;
        assert_eq!((resp.status, resp.json()), (400, bad_id.clone()), "{bad}");
        let resp = d.req("DELETE", &format!("/s/{bad}"), &[CERT]).await;
        assert_eq!((resp.status, resp.json()), (400, bad_id.clone()), "{bad}");
        let resp = d.req("HEAD", &format!("/s/{bad}"), &[]).await;
        assert_eq!(resp.status, 400, "{bad}");
    }
    let missing = json!({"error": "Short URL not found"});
    let resp = d.req("GET", "/s/ZZZZZZZZ", &[]).await;
    assert_eq!((resp.status, resp.json()), (404, missing.clone()));
    assert!(resp.header("location").is_none());
    let resp = d.req("GET", "/s/Zz9Zz9Zz/info", &[]).await;
    assert_eq!((resp.status, resp.json()), (404, missing));
    assert_eq!(d.req("HEAD", "/s/ZZZZZZZZ", &[]).await.status, 404);
}

#[tokio::test]
async fn other_methods_are_405_with_allow() {
    let d = Builder::new().spawn();
    let v = shortened(&d, "https://example.com/405", &[]).await;
    let id = sid(&v);
    let resp = d
        .send(
            "POST",
            &format!("/s/{id}"),
            &[JSON],
            r#"{"url":"https://x.example/"}"#,
        )
        .await;
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("GET, HEAD, DELETE"));
    assert_eq!(resp.json(), json!({"error": "Method not allowed"}));
    let resp = d.req("PUT", "/s", &[]).await;
    assert_eq!(
        (resp.status, resp.header("allow")),
        (405, Some("GET, HEAD, POST"))
    );
    let resp = d.req("DELETE", &format!("/s/{id}/info"), &[CERT]).await;
    assert_eq!(
        (resp.status, resp.header("allow")),
        (405, Some("GET, HEAD"))
    );
    // None of it touched the short URL.
    follow(&d, &id, "https://example.com/405").await;
}

// --- metadata and counts ------------------------------------------------------------------------

#[tokio::test]
async fn info_shows_the_metadata_and_counts_nothing() {
    let d = Builder::new().spawn();
    let v = shortened(&d, "https://example.com/info", &[]).await;
    let id = sid(&v);
    let meta = info(&d, &id).await;
    assert_eq!(
        keys(&meta),
        [
            "access_count",
            "created_at",
            "expires_at",
            "id",
            "last_accessed",
            "target_url",
            "url"
        ],
        "no owner for an anonymous one, and never the token"
    );
    assert_eq!(meta["id"], id.as_str());
    assert_eq!(meta["url"], format!("/s/{id}"));
    assert_eq!(meta["target_url"], "https://example.com/info");
    assert_eq!(meta["created_at"], v["created_at"]);
    assert_eq!(meta["expires_at"], v["expires_at"]);
    assert_eq!(meta["access_count"], 0);
    assert!(meta["last_accessed"].is_null(), "{meta}");
    for _ in 0..3 {
        assert_eq!(info(&d, &id).await["access_count"], 0);
    }
    let owned = shortened(&d, "https://example.com/info/owned", &[CERT]).await;
    let meta = info(&d, &sid(&owned)).await;
    assert_eq!(meta["owner"], FP);
    assert!(meta.get("owner_token").is_none());
}

#[tokio::test]
async fn redirects_are_counted_at_once_and_head_is_not() {
    let d = Builder::new().spawn();
    let target = "https://example.com/counted";
    let v = shortened(&d, target, &[CERT]).await;
    let id = sid(&v);
    for _ in 0..3 {
        assert_eq!(d.req("HEAD", &format!("/s/{id}"), &[]).await.status, 302);
    }
    let meta = info(&d, &id).await;
    assert_eq!(meta["access_count"], 0, "HEAD is no redirect");
    assert!(meta["last_accessed"].is_null(), "{meta}");
    for n in 1..=4 {
        follow(&d, &id, target).await;
        let meta = info(&d, &id).await;
        assert_eq!(meta["access_count"], n, "{meta}");
        let last = meta["last_accessed"].as_i64().unwrap();
        assert!(
            (v["created_at"].as_i64().unwrap()..=now()).contains(&last),
            "{meta}"
        );
    }
    // Concurrent redirects are each counted.
    let d = std::sync::Arc::new(d);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let d = std::sync::Arc::clone(&d);
            let path = format!("/s/{id}");
            tokio::spawn(async move { d.req("GET", &path, &[]).await.status })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 302);
    }
    assert_eq!(info(&d, &id).await["access_count"], 20);
    // Counts stay right once the writer has put them in the database.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(info(&d, &id).await["access_count"], 20);
    follow(&d, &id, target).await;
    assert_eq!(info(&d, &id).await["access_count"], 21);
}

/// Polls `path` (with `headers`) until `until`, and gives every `access_count` seen that is
/// not `want`, as (which, seen) pairs; `pick` finds the count in the document.
async fn wrong_counts(
    d: std::sync::Arc<Daemon>,
    path: String,
    headers: &'static [(&'static str, &'static str)],
    pick: fn(&Value) -> i64,
    want: i64,
    until: std::time::Instant,
) -> Vec<(String, i64)> {
    let mut wrong = Vec::new();
    while std::time::Instant::now() < until && wrong.is_empty() {
        let resp = d.req("GET", &path, headers).await;
        assert_eq!(resp.status, 200, "{path}: {}", text(&resp));
        let seen = pick(&resp.json());
        if seen != want {
            wrong.push((path.clone(), seen));
        }
    }
    wrong
}

/// Redirect counts are kept in memory and written in batches about a second after the first
/// redirect. While a batch is being written, what is shown must still include it: a count,
/// once shown, is never shown lower.
#[tokio::test]
async fn counts_stay_whole_while_a_batch_of_them_is_written() {
    let d = Builder::new().spawn();
    let target = "https://example.com/batch";
    let id = sid(&shortened(&d, target, &[CERT]).await);
    for _ in 0..5 {
        follow(&d, &id, target).await;
    }
    assert_eq!(info(&d, &id).await["access_count"], 5);
    // The batch is written about a second after the first redirect: watch across that
    // moment, from /info and from the listing at once.
    let d = std::sync::Arc::new(d);
    let until = std::time::Instant::now() + Duration::from_millis(1500);
    let by_info = tokio::spawn(wrong_counts(
        std::sync::Arc::clone(&d),
        format!("/s/{id}/info"),
        &[],
        |v| v["access_count"].as_i64().unwrap(),
        5,
        until,
    ));
    let by_list = tokio::spawn(wrong_counts(
        std::sync::Arc::clone(&d),
        "/s".to_owned(),
        &[CERT],
        |v| v["urls"][0]["access_count"].as_i64().unwrap(),
        5,
        until,
    ));
    let mut wrong = by_info.await.unwrap();
    wrong.extend(by_list.await.unwrap());
    assert!(
        wrong.is_empty(),
        "after 5 redirects, shown while their batch was written: {wrong:?}"
    );
    assert_eq!(info(&d, &id).await["access_count"], 5);
}

#[tokio::test]
async fn the_listing_shows_the_same_counts_as_info() {
    let d = Builder::new().spawn();
    let a = sid(&shortened(&d, "https://example.com/a", &[CERT]).await);
    let b = sid(&shortened(&d, "https://example.com/b", &[CERT]).await);
    for _ in 0..3 {
        follow(&d, &a, "https://example.com/a").await;
    }
    follow(&d, &b, "https://example.com/b").await;
    let list = d.req("GET", "/s", &[CERT]).await.json();
    for item in list["urls"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        let meta = info(&d, id).await;
        assert_eq!(item, &meta, "the listing item is the /info document");
        let want = if id == a { 3 } else { 1 };
        assert_eq!(item["access_count"], want, "{item}");
        assert!(item["last_accessed"].is_i64(), "{item}");
    }
    assert_eq!(list["count"], 2);
}

#[tokio::test]
async fn counts_survive_a_clean_stop() {
    let keep = tempfile::tempdir().unwrap();
    let db = keep.path().join("short.db");
    let config = format!("db = {:?}", db.display().to_string());
    let mut d = Builder::new().toml(&config).spawn();
    let a = shortened(&d, "https://example.com/kept/a", &[CERT]).await;
    let b = shortened(&d, "https://example.com/kept/b", &[]).await;
    let (a, b) = (sid(&a), sid(&b));
    for _ in 0..5 {
        follow(&d, &a, "https://example.com/kept/a").await;
    }
    for _ in 0..2 {
        follow(&d, &b, "https://example.com/kept/b").await;
    }
    let before = (info(&d, &a).await, info(&d, &b).await);
    assert_eq!(before.0["access_count"], 5);
    assert_eq!(before.1["access_count"], 2);
    // At once, before the batch writer's second has passed.
    assert_eq!(d.stop().code(), Some(0), "{}", d.log());
    let again = Builder::new().toml(&config).spawn();
    let after = (info(&again, &a).await, info(&again, &b).await);
    assert_eq!(after, before);
    let list = again.req("GET", "/s", &[CERT]).await.json();
    assert_eq!(list["urls"][0]["access_count"], 5, "{list}");
    // And they go on counting from there.
    follow(&again, &a, "https://example.com/kept/a").await;
    assert_eq!(info(&again, &a).await["access_count"], 6);
}

// --- listing ------------------------------------------------------------------------------------

#[tokio::test]
async fn listing_requires_a_certificate() {
    let d = Builder::new().spawn();
    let v = shortened(&d, "https://example.com/anon", &[]).await;
    let token = v["owner_token"].as_str().unwrap();
    let auth = json!({"error": "Authentication required"});
    let resp = d.req("GET", "/s", &[]).await;
    assert_eq!((resp.status, resp.json()), (401, auth.clone()));
    let resp = d.req("GET", "/s", &[("x-owner-token", token)]).await;
    assert_eq!((resp.status, resp.json()), (401, auth));
}

#[tokio::test]
async fn listing_shows_only_own_urls_newest_first() {
    let d = Builder::new().spawn();
    let mut mine = Vec::new();
    for i in 0..3 {
        let v = shortened(&d, &format!("https://example.com/mine/{i}"), &[CERT]).await;
        mine.push(sid(&v));
    }
    shortened(&d, "https://example.com/theirs", &[OTHER_CERT]).await;
    shortened(&d, "https://example.com/nobodys", &[]).await;
    let resp = d.req("GET", "/s", &[CERT]).await;
    assert_eq!(resp.status, 200, "{}", text(&resp));
    let list = resp.json();
    assert_eq!(keys(&list), ["count", "limit", "offset", "total", "urls"]);
    assert_eq!(
        (
            &list["count"],
            &list["total"],
            &list["limit"],
            &list["offset"]
        ),
        (&json!(3), &json!(3), &json!(50), &json!(0))
    );
    let ids: Vec<&str> = list["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    let newest_first: Vec<&str> = mine.iter().rev().map(String::as_str).collect();
    assert_eq!(ids, newest_first);
    let item = &list["urls"][0];
    assert_eq!(
        keys(item),
        [
            "access_count",
            "created_at",
            "expires_at",
            "id",
            "last_accessed",
            "owner",
            "target_url",
            "url"
        ]
    );
    assert_eq!(item["owner"], FP);
    assert_eq!(item["target_url"], "https://example.com/mine/2");
    assert_eq!(item["url"], format!("/s/{}", mine[2]));
    let theirs = d.req("GET", "/s", &[OTHER_CERT]).await.json();
    assert_eq!((&theirs["total"], &theirs["count"]), (&json!(1), &json!(1)));
    assert_eq!(
        theirs["urls"][0]["target_url"],
        "https://example.com/theirs"
    );
    // Pastes are not short URLs.
    d.create("a paste of mine", &[CERT]).await;
    assert_eq!(d.req("GET", "/s", &[CERT]).await.json()["total"], 3);
}

#[tokio::test]
async fn listing_pages_with_limit_and_offset_and_caps_the_limit() {
    let d = Builder::new().spawn();
    let mut mine = Vec::new();
    for i in 0..3 {
        let v = shortened(&d, &format!("https://example.com/page/{i}"), &[CERT]).await;
        mine.push(sid(&v));
    }
    let page = |q: &'static str| {
        let d = &d;
        async move {
            let resp = d.req("GET", &format!("/s?{q}"), &[CERT]).await;
            assert_eq!(resp.status, 200, "{q}: {}", text(&resp));
            resp.json()
        }
    };
    let capped = page("limit=500").await;
    assert_eq!(
        (&capped["limit"], &capped["count"]),
        (&json!(200), &json!(3))
    );
    let second = page("limit=1&offset=1").await;
    assert_eq!(
        (
            &second["count"],
            &second["total"],
            &second["limit"],
            &second["offset"]
        ),
        (&json!(1), &json!(3), &json!(1), &json!(1))
    );
    assert_eq!(second["urls"][0]["id"], mine[1].as_str());
    let last = page("offset=2&limit=5").await;
    assert_eq!(last["urls"][0]["id"], mine[0].as_str());
    assert_eq!(last["count"], 1);
    let beyond = page("offset=10").await;
    assert_eq!((&beyond["count"], &beyond["total"]), (&json!(0), &json!(3)));
    assert_eq!(beyond["urls"], json!([]));
}

#[tokio::test]
async fn bad_limits_and_offsets_are_400() {
    let d = Builder::new().spawn();
    shortened(&d, "https://example.com/x", &[CERT]).await;
    for (query, message) in [
        ("limit=0", "Invalid limit"),
        ("limit=-1", "Invalid limit"),
        ("limit=x", "Invalid limit"),
        ("limit=1.5", "Invalid limit"),
        ("offset=-1", "Invalid offset"),
        ("offset=y", "Invalid offset"),
    ] {
        let resp = d.req("GET", &format!("/s?{query}"), &[CERT]).await;
        assert_eq!(resp.status, 400, "{query}: {}", text(&resp));
        assert_eq!(resp.json(), json!({ "error": message }), "{query}");
    }
}

// --- expiry -------------------------------------------------------------------------------------

#[tokio::test]
async fn an_expired_short_url_is_gone_before_the_sweep_runs() {
    let d = Builder::new().spawn();
    let v = shortened(&d, "https://example.com/brief", &[CERT, ("x-expiry", "1")]).await;
    let stays = shortened(&d, "https://example.com/stays", &[CERT]).await;
    assert_eq!(span(&v), 1, "{v}");
    let id = sid(&v);
    // Live while `now < expires_at`; wait until the clock reaches it (at most ~1 s).
    let expires = u64::try_from(v["expires_at"].as_i64().unwrap()).unwrap();
    let until = UNIX_EPOCH + Duration::from_secs(expires) + Duration::from_millis(50);
    if let Ok(wait) = until.duration_since(SystemTime::now()) {
        assert!(wait <= Duration::from_millis(1100), "{wait:?}");
        tokio::time::sleep(wait).await;
    }
    let missing = json!({"error": "Short URL not found"});
    let resp = d.req("GET", &format!("/s/{id}"), &[]).await;
    assert_eq!((resp.status, resp.json()), (404, missing.clone()));
    assert!(resp.header("location").is_none());
    let resp = d.req("GET", &format!("/s/{id}/info"), &[]).await;
    assert_eq!((resp.status, resp.json()), (404, missing.clone()));
    assert_eq!(d.req("HEAD", &format!("/s/{id}"), &[]).await.status, 404);
    let resp = d.req("DELETE", &format!("/s/{id}"), &[CERT]).await;
    assert_eq!((resp.status, resp.json()), (404, missing));
    let list = d.req("GET", "/s", &[CERT]).await.json();
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["urls"][0]["id"], sid(&stays).as_str());
    assert!(!d.log().contains("expiry sweep: deleted"), "{}", d.log());
}

#[tokio::test]
async fn a_redirected_short_url_still_expires_and_the_sweep_removes_it() {
    let d = Builder::new().toml("cleanup_interval = 1").spawn();
    // Two seconds: one made late in a second would expire before the redirect below.
    let v = shortened(&d, "https://example.com/soon", &[("x-expiry", "2")]).await;
    let id = sid(&v);
    // The redirect keeps the target in memory; its expiry must still hold.
    follow(&d, &id, "https://example.com/soon").await;
    let rows = || {
        let c = rusqlite::Connection::open_with_flags(
            d.path("pastes.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        c.query_row("SELECT count(*) FROM short_urls", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
    };
    assert_eq!(rows(), 1);
    let deadline = std::time::Instant::now() + Duration::from_secs(6);
    loop {
        let gone = d.req("GET", &format!("/s/{id}"), &[]).await.status == 404;
        if gone && rows() == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not expired or not swept"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_expiry_header_is_capped_at_max_expiry() {
    let d = Builder::new().toml("max_expiry = 100").spawn();
    let v = shortened(&d, "https://example.com/capped", &[("x-expiry", "100000")]).await;
    assert_eq!(span(&v), 100);
    let v = shortened(&d, "https://example.com/under", &[("x-expiry", "42")]).await;
    assert_eq!(span(&v), 42);
    let meta = info(&d, &sid(&v)).await;
    assert_eq!(span(&meta), 42);
    let v = shortened(
        &d,
        "https://example.com/cert/capped",
        &[CERT, ("x-expiry", "101")],
    )
    .await;
    assert_eq!(span(&v), 100);
}

#[tokio::test]
async fn the_default_expiry_follows_trust_and_bad_values_mean_the_default() {
    let d = Builder::new().spawn();
    let anon = shortened(&d, "https://example.com/anon", &[]).await;
    assert_eq!(span(&anon), 86_400);
    let cert = shortened(&d, "https://example.com/cert", &[CERT]).await;
    assert_eq!(span(&cert), 604_800);
    for bad in ["0", "-5", "soon", "1.5", ""] {
        let url = format!("https://example.com/bad/{bad}");
        let v = shortened(&d, &url, &[("x-expiry", bad)]).await;
        assert_eq!(span(&v), 86_400, "{bad:?}");
    }
    let d = Builder::new()
        .toml("expiry_anon = 60\nexpiry_untrusted = 120")
        .spawn();
    assert_eq!(span(&shortened(&d, "https://example.com/a", &[]).await), 60);
    assert_eq!(
        span(&shortened(&d, "https://example.com/c", &[CERT]).await),
        120
    );
}

// --- deleting ------------------------------------------------------------------------------------

#[tokio::test]
async fn the_owner_certificate_deletes_and_nobody_else() {
    let d = Builder::new().spawn();
    let v = shortened(&d, "https://example.com/doomed", &[CERT]).await;
    let path = format!("/s/{}", sid(&v));
    let resp = d.req("DELETE", &path, &[]).await;
    assert_eq!(
        (resp.status, resp.json()),
        (401, json!({"error": "Authentication required"}))
    );
    let resp = d.req("DELETE", &path, &[OTHER_CERT]).await;
    assert_eq!(
        (resp.status, resp.json()),
        (403, json!({"error": "Permission denied"}))
    );
    let resp = d
        .req("DELETE", &path, &[("x-owner-token", "0123456789abcdef")])
        .await;
    assert_eq!(error(&resp), (403, "Permission denied".into()));
    // All of that left it in place.
    follow(&d, &sid(&v), "https://example.com/doomed").await;
    let resp = d.req("DELETE", &path, &[CERT]).await;
    assert_eq!(
        (resp.status, resp.json()),
        (200, json!({"message": "Short URL deleted"}))
    );
    let missing = json!({"error": "Short URL not found"});
    let resp = d.req("GET", &path, &[]).await;
    assert_eq!((resp.status, resp.json()), (404, missing.clone()));
    let resp = d.req("GET", &format!("{path}/info"), &[]).await;
    assert_eq!(resp.status, 404);
    let resp = d.req("DELETE", &path, &[CERT]).await;
    assert_eq!((resp.status, resp.json()), (404, missing));
    assert_eq!(d.req("GET", "/s", &[CERT]).await.json()["total"], 0);
}

#[tokio::test]
async fn an_anonymous_creator_deletes_with_the_owner_token() {
    let d = Builder::new().spawn();
    let v = shortened(&d, "https://example.com/anon/doomed", &[]).await;
    let path = format!("/s/{}", sid(&v));
    let token = v["owner_token"].as_str().unwrap();
    assert_eq!(d.req("DELETE", &path, &[]).await.status, 401);
    // Someone else's token, a wrong one, or a certificate: none owns it.
    let other = shortened(&d, "https://example.com/anon/other", &[]).await;
    let other_token = other["owner_token"].as_str().unwrap();
    for wrong in [other_token, "0123456789abcdef0123456789abcdef", "x"] {
        let resp = d.req("DELETE", &path, &[("x-owner-token", wrong)]).await;
        assert_eq!(error(&resp), (403, "Permission denied".into()), "{wrong}");
    }
    let resp = d.req("DELETE", &path, &[CERT]).await;
    assert_eq!(error(&resp), (403, "Permission denied".into()));
    follow(&d, &sid(&v), "https://example.com/anon/doomed").await;
    let resp = d.req("DELETE", &path, &[("x-owner-token", token)]).await;
    assert_eq!(
        (resp.status, resp.json()),
        (200, json!({"message": "Short URL deleted"}))
    );
    assert_eq!(d.req("GET", &path, &[]).await.status, 404);
    let resp = d.req("DELETE", &path, &[("x-owner-token", token)]).await;
    assert_eq!(error(&resp), (404, "Short URL not found".into()));
    // The other one is untouched.
    follow(&d, &sid(&other), "https://example.com/anon/other").await;
}

#[tokio::test]
async fn deleting_an_unknown_id_is_404() {
    let d = Builder::new().spawn();
    let resp = d.req("DELETE", "/s/ZZZZZZZZ", &[CERT]).await;
    assert_eq!(
        (resp.status, resp.json()),
        (404, json!({"error": "Short URL not found"}))
    );
    let resp = d
        .req(
            "DELETE",
            "/s/ZZZZZZZZ",
            &[("x-owner-token", "0123456789abcdef")],
        )
        .await;
    assert_eq!(resp.status, 404);
    // Without credentials, 401 comes first.
    assert_eq!(d.req("DELETE", "/s/ZZZZZZZZ", &[]).await.status, 401);
}

// --- API information ---------------------------------------------------------------------------

#[tokio::test]
async fn api_information_lists_the_short_url_endpoints() {
    let d = Builder::new().spawn();
    let resp = d.req("GET", "/", &[]).await;
    assert_eq!(resp.status, 200);
    let endpoints = &resp.json()["endpoints"];
    for key in [
        "POST /s",
        "GET /s",
        "GET /s/<id>",
        "GET /s/<id>/info",
        "DELETE /s/<id>",
        "GET /challenge",
    ] {
        assert!(endpoints[key].is_string(), "{key} missing from {endpoints}");
    }
}
