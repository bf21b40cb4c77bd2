//! `GET /metrics` on `metrics_listen` against the real binary: served there and nowhere
//! else, counting what happened, with labels from fixed sets only, and on a socket systemd
//! passes by name.
#![expect(clippy::unwrap_used, reason = "test: any failure is the test's")]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Builder, Daemon, FP, PATIENCE, request_tcp, request_unix};

/// The text of one scrape of the metrics socket at `path`.
async fn scrape(path: &Path) -> String {
    let resp = request_unix(path, "GET", "/metrics", &[], Vec::new()).await;
    assert_eq!(resp.status, 200);
    String::from_utf8(resp.body).unwrap()
}

/// The value of the sample `series` (name and labels exactly as written), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

/// Scrapes until `series` has `want`, or fails after [`PATIENCE`].
async fn wait_for(path: &Path, series: &str, want: f64) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = scrape(path).await;
        if sample(&text, series) == Some(want) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{series} never became {want}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn with_metrics(extra: &str) -> (Builder, std::path::PathBuf) {
    let b = Builder::new();
    let metrics = b.path("metrics.sock");
    let b = b.toml(&format!(
        "metrics_listen = [{:?}]\n{extra}",
        metrics.display().to_string()
    ));
    (b, metrics)
}

#[tokio::test]
async fn metrics_are_served_on_metrics_listen_and_nowhere_else() {
    let (b, metrics) = with_metrics("");
    let d = b.spawn();
    // The API never serves them: there `/metrics` is just a malformed paste id.
    let api = d.req("GET", "/metrics", &[]).await;
    assert_eq!(api.status, 400);
    assert!(api.json()["error"].is_string());

    let resp = request_unix(&metrics, "GET", "/metrics", &[], Vec::new()).await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = String::from_utf8(resp.body).unwrap();
    let build = text
        .lines()
        .find(|l| l.starts_with("flaskpaste_build_info{"))
        .unwrap_or_else(|| panic!("no build info in\n{text}"));
    assert!(
        build.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))),
        "{build}"
    );
    assert!(build.ends_with("} 1"), "{build}");
    for family in [
        "# TYPE flaskpaste_http_request_duration_seconds histogram",
        "# TYPE flaskpaste_http_requests_in_flight gauge",
        "# TYPE flaskpaste_pastes_created_total counter",
        "# TYPE flaskpaste_short_urls_deleted_total counter",
        "# TYPE flaskpaste_certificates_issued_total counter",
        "# TYPE flaskpaste_stored_paste_bytes gauge",
        "# TYPE process_resident_memory_bytes gauge",
        "# TYPE process_open_fds gauge",
    ] {
        assert!(text.contains(family), "{family} missing from\n{text}");
    }
    let rss = sample(&text, "process_resident_memory_bytes").unwrap();
    assert!((1e6..1e9).contains(&rss), "{rss}");
    // Fixed label sets are there from the start, at zero.
    for series in [
        "flaskpaste_pastes_created_total{trust=\"trusted\"}",
        "flaskpaste_pastes_deleted_total{reason=\"burned\"}",
        "flaskpaste_short_urls_deleted_total{reason=\"expired\"}",
        "flaskpaste_pow_failures_total{reason=\"wrong\"}",
    ] {
        assert_eq!(sample(&text, series), Some(0.0), "{series}");
    }
    assert_eq!(
        sample(
            &text,
            "flaskpaste_short_urls_deleted_total{reason=\"burned\"}"
        ),
        None
    );
    assert!(sample(&text, "process_open_fds").unwrap() >= 3.0);

    let head = request_unix(&metrics, "HEAD", "/metrics", &[], Vec::new()).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    // Nothing else is served there.
    let other = request_unix(&metrics, "GET", "/health", &[], Vec::new()).await;
    assert_eq!(other.status, 404);
    assert_eq!(other.json()["error"], "Not found");
    let post = request_unix(&metrics, "POST", "/metrics", &[], b"x".to_vec()).await;
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
}

#[tokio::test]
async fn a_tcp_metrics_listener_logs_its_real_address() {
    let mut d = Builder::new()
        .toml("metrics_listen = [\"127.0.0.1:0\"]")
        .spawn();
    let log = d.wait_log("serving metrics on ");
    let addr = log
        .lines()
        .find_map(|l| l.split("serving metrics on ").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    assert!(!addr.ends_with(":0"), "{addr}");
    let resp = request_tcp(&addr, "GET", "/metrics", &[], Vec::new()).await;
    assert_eq!(resp.status, 200);
    assert!(
        String::from_utf8(resp.body)
            .unwrap()
            .contains("flaskpaste_build_info")
    );
}

/// A create with a solved challenge.
async fn create(d: &Daemon, body: &str, extra: &[(&str, &str)]) -> common::Resp {
    let (token, solution) = d.solve().await;
    let mut headers = vec![
        ("x-pow-token", token.as_str()),
        ("x-pow-solution", solution.as_str()),
    ];
    headers.extend_from_slice(extra);
    d.post(body, &headers).await
}

#[tokio::test]
async fn counters_follow_what_happened() {
    let (b, metrics) = with_metrics(
        "pow_difficulty = 4\nrate_limit = true\nrate_max = 12\ndedup_max = 1\n\
         cleanup_interval = 1",
    );
    let d = b.spawn();
    let fp = [("x-ssl-client-sha1", FP)];

    let alpha = create(&d, "alpha", &[]).await;
    assert_eq!(alpha.status, 201);
    assert_eq!(create(&d, "beta", &fp).await.status, 201);
    let gamma = create(&d, "gamma", &[("x-burn-after-read", "true")]).await;
    assert_eq!(gamma.status, 201);
    let raw = format!("/{}/raw", gamma.json()["id"].as_str().unwrap());
    assert_eq!(d.req("GET", &raw, &[]).await.status, 200);
    let alpha = alpha.json();
    let token = alpha["owner_token"].as_str().unwrap();
    let gone = format!("/{}", alpha["id"].as_str().unwrap());
    assert_eq!(
        d.req("DELETE", &gone, &[("x-owner-token", token)])
            .await
            .status,
        200
    );
    assert_eq!(create(&d, "delta", &[("x-expiry", "1")]).await.status, 201);
    let (token, solution) = d.solve().await;
    let short = d
        .send(
            "POST",
            "/s",
            &[("x-pow-token", &token), ("x-pow-solution", &solution)],
            "https://example.com/",
        )
        .await;
    assert_eq!(short.status, 201);
    // Proof-of-work refused: missing, not a number, spent.
    assert_eq!(d.post("e1", &[]).await.status, 400);
    let (token, _) = d.solve().await;
    let not_a_number = [("x-pow-token", token.as_str()), ("x-pow-solution", "x")];
    assert_eq!(d.post("e2", &not_a_number).await.status, 400);
    let (token, solution) = d.solve().await;
    let spent = [
        ("x-pow-token", token.as_str()),
        ("x-pow-solution", solution.as_str()),
    ];
    assert_eq!(d.post("e3", &spent).await.status, 201);
    assert_eq!(d.post("e4", &spent).await.status, 400);
    // A duplicate.
    assert_eq!(create(&d, "e3", &[]).await.status, 429);

    let text = wait_for(
        &metrics,
        "flaskpaste_pastes_deleted_total{reason=\"expired\"}",
        1.0,
    )
    .await;
    for (series, want) in [
        ("flaskpaste_pastes_created_total{trust=\"anonymous\"}", 4.0),
        ("flaskpaste_pastes_created_total{trust=\"untrusted\"}", 1.0),
        (
            "flaskpaste_short_urls_created_total{trust=\"anonymous\"}",
            1.0,
        ),
        ("flaskpaste_pastes_deleted_total{reason=\"burned\"}", 1.0),
        ("flaskpaste_pastes_deleted_total{reason=\"owner\"}", 1.0),
        ("flaskpaste_pow_failures_total{reason=\"missing\"}", 1.0),
        (
            "flaskpaste_pow_failures_total{reason=\"not_a_number\"}",
            1.0,
        ),
        ("flaskpaste_pow_failures_total{reason=\"spent\"}", 1.0),
        ("flaskpaste_duplicates_rejected_total", 1.0),
        ("flaskpaste_rate_limited_total", 0.0),
        ("flaskpaste_http_requests_in_flight", 0.0),
        (
            "flaskpaste_http_request_duration_seconds_count{method=\"GET\",route=\"/<id>/raw\",status=\"200\"}",
            1.0,
        ),
        (
            "flaskpaste_http_request_duration_seconds_count{method=\"DELETE\",route=\"/<id>\",status=\"200\"}",
            1.0,
        ),
        (
            "flaskpaste_http_request_duration_seconds_count{method=\"POST\",route=\"/s\",status=\"201\"}",
            1.0,
        ),
    ] {
        assert_eq!(sample(&text, series), Some(want), "{series} in\n{text}");
    }
    // The sweep refreshed what is stored: beta and e3 (alpha deleted, gamma burned, delta
    // expired).
    let text = wait_for(&metrics, "flaskpaste_stored_pastes", 2.0).await;
    assert_eq!(sample(&text, "flaskpaste_stored_paste_bytes"), Some(6.0));
    assert_eq!(sample(&text, "flaskpaste_stored_short_urls"), Some(1.0));

    // The rate limit: keep creating until refused.
    let mut refused = false;
    for i in 0..20 {
        if create(&d, &format!("r{i}"), &[]).await.status == 429 {
            refused = true;
            break;
        }
    }
    assert!(refused);
    let text = scrape(&metrics).await;
    assert_eq!(
        sample(&text, "flaskpaste_rate_limited_total"),
        Some(1.0),
        "{text}"
    );
}

/// A small deterministic generator, so a failure can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn text(&mut self, alphabet: &[u8], max: u64) -> String {
        let len = 1 + self.next() % max;
        (0..len)
            .map(|_| {
                let i = usize::try_from(self.next() % alphabet.len() as u64).unwrap();
                char::from(alphabet[i])
            })
            .collect()
    }
}

/// The series of the request-duration histogram: (method, route, status) label texts.
fn request_series(text: &str) -> BTreeSet<(String, String, String)> {
    let prefix = "flaskpaste_http_request_duration_seconds_count{";
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(|l| {
            let labels = &l[..l.rfind('}').unwrap()];
            let value = |key: &str| {
                let start = labels.find(&format!("{key}=\"")).unwrap() + key.len() + 2;
                let end = start + labels[start..].find('"').unwrap();
                labels[start..end].to_owned()
            };
            (value("method"), value("route"), value("status"))
        })
        .collect()
}

#[tokio::test]
async fn random_methods_and_paths_make_no_new_series() {
    let (b, metrics) = with_metrics("");
    let d = b.spawn();
    let listed: BTreeSet<String> = d.req("GET", "/", &[]).await.json()["endpoints"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.split_once(' ').unwrap().1.to_owned())
        .collect();
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let token = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&'*+-.^_`|~";
    let path = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%/";
    let standard = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];
    let mut sent = BTreeSet::new();
    for i in 0..400 {
        let method = if i % 4 == 0 {
            standard[usize::try_from(rng.next() % 7).unwrap()].to_owned()
        } else {
            rng.text(token, 12)
        };
        let uri = format!("/{}", rng.text(path, 40));
        sent.insert((method.clone(), uri.clone()));
        let resp = d.req(&method, &uri, &[]).await;
        assert!(
            (200..500).contains(&resp.status),
            "{method} {uri}: {}",
            resp.status
        );
    }
    assert!(sent.len() > 390, "the requests should differ");
    let series = request_series(&scrape(&metrics).await);
    let methods = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "_OTHER",
    ];
    for (method, route, status) in &series {
        assert!(
            methods.contains(&method.as_str()),
            "method label {method:?}"
        );
        assert!(
            route == "unmatched" || listed.contains(route),
            "route label {route:?} is not a route template"
        );
        assert!(status.parse::<u16>().is_ok_and(|s| (100..600).contains(&s)));
    }
    assert!(
        series
            .iter()
            .any(|(m, r, _)| m == "_OTHER" && r == "unmatched"),
        "{series:?}"
    );
    // 400 different requests fall into a few series.
    assert!(series.len() < 40, "{} series: {series:?}", series.len());
}

#[tokio::test]
async fn a_named_inherited_socket_serves_metrics_and_is_not_the_apis() {
    let b = Builder::new();
    let api = b.path("api.sock");
    let metrics = b.path("metrics.sock");
    let (api_arg, metrics_arg) = (api.display().to_string(), metrics.display().to_string());
    let mut d = b
        .listen(&["sd-listen"])
        .toml("metrics_listen = [\"sd-listen:metrics\"]")
        .socket_activated(&[&api_arg, &metrics_arg], Some("api:metrics"))
        .start();
    common::wait_socket(&api);
    assert_eq!(
        request_unix(&api, "GET", "/health", &[], Vec::new())
            .await
            .status,
        200
    );
    let log = d.wait_log("serving metrics on");
    assert!(
        log.contains(&format!(
            "serving metrics on {metrics_arg} (sd-listen fd 4)"
        )),
        "{log}"
    );
    assert!(
        !log.contains(&format!("listening on {metrics_arg}")),
        "{log}"
    );
    assert!(scrape(&metrics).await.contains("flaskpaste_build_info"));
    let health = request_unix(&metrics, "GET", "/health", &[], Vec::new()).await;
    assert_eq!(
        health.status, 404,
        "the API is not served on the metrics socket"
    );
    assert_eq!(d.stop().code(), Some(0));
}

#[test]
fn metrics_listen_must_name_its_inherited_socket() {
    for (value, says) in [("sd-listen", "sd-listen:NAME"), ("inetd", "stdin")] {
        let done = Builder::new()
            .toml(&format!("metrics_listen = [{value:?}]"))
            .run();
        assert_eq!(done.code, Some(78), "{value}: {}", done.stderr);
        assert!(
            done.stderr.contains("metrics_listen") && done.stderr.contains(says),
            "{}",
            done.stderr
        );
    }
}

#[cfg(feature = "pki")]
#[tokio::test]
async fn certificates_and_trusted_clients_are_counted() {
    let (b, metrics) = with_metrics(
        "pki_enabled = true\npki_ca_password = \"test-pass\"\nregister_pow = 0\naudit = \"log\"",
    );
    let d = b.spawn();
    let json = ("content-type", "application/json");
    // The first registered identity is the admin; the second an ordinary trusted client.
    let mut fps = Vec::new();
    for _ in 0..2 {
        let resp = d.send("POST", "/register", &[json], "{}").await;
        assert_eq!(resp.status, 200);
        fps.push(resp.header("x-fingerprint-sha1").unwrap().to_owned());
    }
    let (admin, user) = (fps[0].as_str(), fps[1].as_str());
    let created = d.create("trusted", &[("x-ssl-client-sha1", user)]).await;
    let path = format!("/{}", created["id"].as_str().unwrap());
    let resp = d
        .req("DELETE", &path, &[("x-ssl-client-sha1", admin)])
        .await;
    assert_eq!(resp.status, 200);
    let certs = d
        .req("GET", "/pki/certs", &[("x-ssl-client-sha1", user)])
        .await
        .json();
    let serial = certs["certificates"][0]["serial"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = d
        .req(
            "POST",
            &format!("/pki/revoke/{serial}"),
            &[("x-ssl-client-sha1", user)],
        )
        .await;
    assert_eq!(resp.status, 200);

    let text = scrape(&metrics).await;
    for (series, want) in [
        ("flaskpaste_certificates_issued_total", 2.0),
        ("flaskpaste_certificates_revoked_total", 1.0),
        ("flaskpaste_pastes_created_total{trust=\"trusted\"}", 1.0),
        ("flaskpaste_pastes_deleted_total{reason=\"admin\"}", 1.0),
        ("flaskpaste_pastes_deleted_total{reason=\"owner\"}", 0.0),
    ] {
        assert_eq!(sample(&text, series), Some(want), "{series} in\n{text}");
    }
}
