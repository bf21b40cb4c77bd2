//! Proof-of-work against the real binary: the two shapes of `GET /challenge`, every way a
//! token or solution is refused, one creation per token (racing, across endpoints, across
//! restarts), where the signing key comes from, the sweep forgetting spent nonces, and the
//! anti-flood difficulty rising and falling back.

mod common;

use std::time::{Duration, Instant};

use common::{Builder, Daemon};
use flaskpaste::security::pow;

fn with_pow(bits: u8) -> Builder {
    Builder::new().toml(&format!("pow_difficulty = {bits}"))
}

/// POST / with a token and solution.
async fn paste_with(d: &Daemon, body: &str, token: &str, solution: &str) -> common::Resp {
    d.post(
        body,
        &[("x-pow-token", token), ("x-pow-solution", solution)],
    )
    .await
}

fn error(resp: &common::Resp) -> String {
    resp.json()["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn without_proof_of_work_the_challenge_says_so() {
    let d = Builder::new().spawn();
    let c = d.req("GET", "/challenge", &[]).await;
    assert_eq!(c.status, 200);
    assert_eq!(
        c.json(),
        serde_json::json!({"enabled": false, "difficulty": 0})
    );
    assert_eq!(d.post("no work needed", &[]).await.status, 201);
}

#[tokio::test]
async fn a_challenge_has_the_reference_shape_and_a_signed_token() {
    let d = with_pow(8).spawn();
    let before = flaskpaste::clock::now();
    let c = d.req("GET", "/challenge", &[]).await.json();
    let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "base_difficulty",
            "difficulty",
            "elevated",
            "enabled",
            "expires",
            "nonce",
            "token"
        ]
    );
    assert_eq!(
        (c["enabled"].clone(), c["difficulty"].clone()),
        (true.into(), 8.into())
    );
    assert_eq!(
        (c["base_difficulty"].clone(), c["elevated"].clone()),
        (8.into(), false.into())
    );
    let nonce = c["nonce"].as_str().unwrap();
    assert_eq!(nonce.len(), 32);
    assert!(nonce.bytes().all(|b| b.is_ascii_hexdigit()));
    let expires = c["expires"].as_i64().unwrap();
    assert!(
        (before + 299..=before + 302).contains(&expires),
        "{expires}"
    );
    let fields: Vec<&str> = c["token"].as_str().unwrap().split(':').collect();
    assert_eq!(fields[..3], [nonce, &expires.to_string(), "8"]);
    assert_eq!(fields[3].len(), 64);
    let next = d.req("GET", "/challenge", &[]).await.json();
    assert_ne!(next["nonce"], c["nonce"], "every challenge is new");
}

#[tokio::test]
async fn the_default_daemon_demands_proof_of_work_with_the_reference_hint() {
    // The harness turns proof-of-work off; the compiled-in default is 20.
    let plain = Builder::new()
        .no_config()
        .arg("--config")
        .arg("/dev/null")
        .arg("--check-config")
        .run();
    assert!(
        plain.stdout.contains("pow_difficulty = 20"),
        "{}",
        plain.stdout
    );
    let d = with_pow(20).spawn();
    let refused = d.post("hello", &[]).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.json(),
        serde_json::json!({"error": "Proof-of-work required",
                           "hint": "GET /challenge for a new challenge"})
    );
}

#[tokio::test]
async fn both_headers_are_required() {
    let d = with_pow(4).spawn();
    let (token, solution) = d.solve().await;
    for headers in [
        vec![("x-pow-token", token.as_str())],
        vec![("x-pow-solution", solution.as_str())],
        vec![],
    ] {
        let resp = d.post("x", &headers).await;
        assert_eq!(
            (resp.status, error(&resp)),
            (400, "Proof-of-work required".into())
        );
    }
    assert_eq!(paste_with(&d, "x", &token, &solution).await.status, 201);
}

#[tokio::test]
async fn malformed_tampered_wrong_and_non_numeric_are_each_refused_by_name() {
    let d = with_pow(8).spawn();
    let (token, solution) = d.solve().await;
    let f: Vec<&str> = token.split(':').collect();
    let easier = format!("{}:{}:0:{}", f[0], f[1], f[3]);
    let later = format!(
        "{}:{}:{}:{}",
        f[0],
        f[1].parse::<i64>().unwrap() + 3600,
        f[2],
        f[3]
    );
    let nonce = f[0];
    let wrong = (0u64..)
        .find(|n| {
            let digest = <sha2::Sha256 as sha2::Digest>::digest(format!("{nonce}:{n}"));
            pow::leading_zero_bits(&digest) < 8
        })
        .unwrap()
        .to_string();
    let cases = [
        ("garbage", solution.as_str(), "Invalid challenge format"),
        (&f[..3].join(":"), &solution, "Invalid challenge format"),
        (&easier, &solution, "Invalid challenge signature"),
        (&later, &solution, "Invalid challenge signature"),
        (&token, &wrong, "Invalid solution"),
        (&token, "abc", "Invalid solution format"),
        (&token, "-1", "Invalid solution format"),
    ];
    for (token, solution, why) in cases {
        let resp = paste_with(&d, "x", token, solution).await;
        assert_eq!(
            (resp.status, error(&resp)),
            (400, format!("Proof-of-work failed: {why}")),
            "{token} {solution}"
        );
    }
    // None of the refusals spent the token.
    assert_eq!(paste_with(&d, "x", &token, &solution).await.status, 201);
}

#[tokio::test]
async fn an_expired_challenge_is_refused() {
    let d = Builder::new()
        .toml("pow_difficulty = 2\npow_ttl = 1")
        .spawn();
    let (token, solution) = d.solve().await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let resp = paste_with(&d, "late", &token, &solution).await;
    assert_eq!(
        (resp.status, error(&resp)),
        (400, "Proof-of-work failed: Challenge expired".into())
    );
}

#[tokio::test]
async fn a_token_pays_for_one_creation_across_endpoints() {
    let d = with_pow(4).spawn();
    let (token, solution) = d.solve().await;
    assert_eq!(paste_with(&d, "first", &token, &solution).await.status, 201);
    let again = paste_with(&d, "second", &token, &solution).await;
    assert_eq!(
        (again.status, error(&again)),
        (400, "Proof-of-work failed: Challenge already used".into())
    );
    let short = d
        .send(
            "POST",
            "/s",
            &[("x-pow-token", &token), ("x-pow-solution", &solution)],
            "https://example.com/",
        )
        .await;
    assert_eq!(
        (short.status, error(&short)),
        (400, "Proof-of-work failed: Challenge already used".into())
    );
}

#[tokio::test]
async fn two_creations_racing_on_one_token_give_exactly_one_201() {
    let d = with_pow(4).spawn();
    for round in 0..5 {
        let (token, solution) = d.solve().await;
        let body = format!("a{round}");
        let a = paste_with(&d, &body, &token, &solution);
        let h = [
            ("x-pow-token", token.as_str()),
            ("x-pow-solution", solution.as_str()),
        ];
        let b = d.send("POST", "/s", &h, format!("https://example.com/{round}"));
        let (a, b) = tokio::join!(a, b);
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 400], "{:?} {:?}", a.json(), b.json());
        let loser = if a.status == 400 { &a } else { &b };
        assert_eq!(error(loser), "Proof-of-work failed: Challenge already used");
    }
}

#[tokio::test]
async fn the_generated_key_and_the_spent_nonces_outlive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "pow_difficulty = 4\ndb = {:?}",
        dir.path().join("p.db").display().to_string()
    );
    let mut first = Builder::new().toml(&toml).spawn();
    let outstanding = first.solve().await;
    let spent = first.solve().await;
    assert_eq!(
        paste_with(&first, "a", &spent.0, &spent.1).await.status,
        201
    );
    assert_eq!(first.stop().code(), Some(0));

    let second = Builder::new().toml(&toml).spawn();
    let resp = paste_with(&second, "b", &outstanding.0, &outstanding.1).await;
    assert_eq!(resp.status, 201, "{:?}", resp.json());
    let resp = paste_with(&second, "c", &spent.0, &spent.1).await;
    assert_eq!(error(&resp), "Proof-of-work failed: Challenge already used");
}

#[tokio::test]
async fn the_key_comes_from_the_config_a_file_or_a_credential() {
    let issuer = Builder::new()
        .toml("pow_difficulty = 4\npow_secret = \"shared key\"")
        .spawn();
    let by_file = Builder::new().toml("pow_difficulty = 4");
    let key_file = by_file.path("pow.key");
    std::fs::write(&key_file, "shared key\n").unwrap();
    let by_file = by_file
        .env("FLASKPASTE_POW_SECRET_FILE", key_file.to_str().unwrap())
        .spawn();
    let by_credential = Builder::new().toml("pow_difficulty = 4");
    let creds = by_credential.path("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("pow_secret"), "shared key").unwrap();
    let by_credential = by_credential
        .env("CREDENTIALS_DIRECTORY", creds.to_str().unwrap())
        .spawn();
    let other = Builder::new()
        .toml("pow_difficulty = 4\npow_secret = \"another key\"")
        .spawn();
    for (i, d) in [&by_file, &by_credential].into_iter().enumerate() {
        let (token, solution) = issuer.solve().await;
        let resp = paste_with(d, &format!("k{i}"), &token, &solution).await;
        assert_eq!(resp.status, 201, "{i}: {:?}", resp.json());
    }
    let (token, solution) = issuer.solve().await;
    let resp = paste_with(&other, "k", &token, &solution).await;
    assert_eq!(
        error(&resp),
        "Proof-of-work failed: Invalid challenge signature"
    );
    let dump = Builder::new()
        .toml("pow_secret = \"shared key\"")
        .arg("--check-config")
        .run();
    assert!(
        dump.stdout.contains("pow_secret = \"<redacted>\""),
        "{}",
        dump.stdout
    );
    assert!(!dump.stdout.contains("shared key"));
}

#[tokio::test]
async fn the_sweep_forgets_nonces_of_expired_tokens() {
    let d = Builder::new()
        .toml("pow_difficulty = 2\npow_ttl = 1\ncleanup_interval = 1")
        .spawn();
    let (token, solution) = d.solve().await;
    assert_eq!(paste_with(&d, "x", &token, &solution).await.status, 201);
    let db = d.path("pastes.db");
    let spent = || {
        let c =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        c.query_row("SELECT count(*) FROM pow_spent", [], |r| r.get::<_, i64>(0))
            .unwrap()
    };
    assert_eq!(spent(), 1);
    let deadline = Instant::now() + Duration::from_secs(6);
    while spent() > 0 {
        assert!(
            Instant::now() < deadline,
            "the spent nonce was never forgotten"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn challenge(d: &Daemon) -> serde_json::Value {
    d.req("GET", "/challenge", &[]).await.json()
}

#[tokio::test]
async fn anti_flood_raises_new_challenges_and_keeps_old_ones_at_their_level() {
    let d = Builder::new()
        .toml(
            "pow_difficulty = 2\nantiflood_threshold = 2\nantiflood_window = 2\n\
             antiflood_step = 3\nantiflood_max = 9",
        )
        .spawn();
    let early = d.solve().await;
    for i in 0..3 {
        let (token, solution) = d.solve().await;
        assert_eq!(
            paste_with(&d, &format!("f{i}"), &token, &solution)
                .await
                .status,
            201
        );
    }
    let c = challenge(&d).await;
    assert_eq!(
        (
            c["difficulty"].clone(),
            c["base_difficulty"].clone(),
            c["elevated"].clone()
        ),
        (5.into(), 2.into(), true.into()),
        "{c}"
    );
    assert!(c["token"].as_str().unwrap().contains(":5:"));
    // Issued at 2 bits before the rise: still good at its own level.
    assert_eq!(
        paste_with(&d, "early", &early.0, &early.1).await.status,
        201
    );
    for i in 0..4 {
        let (token, solution) = d.solve().await;
        assert_eq!(
            paste_with(&d, &format!("g{i}"), &token, &solution)
                .await
                .status,
            201
        );
    }
    assert_eq!(
        challenge(&d).await["difficulty"],
        9,
        "capped at antiflood_max"
    );
    // The load has passed: within two windows the difficulty is back at the base.
    let deadline = Instant::now() + Duration::from_secs(6);
    loop {
        let c = challenge(&d).await;
        if c["elevated"] == false {
            assert_eq!(c["difficulty"], 2);
            break;
        }
        assert!(Instant::now() < deadline, "still elevated: {c}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn bad_proof_of_work_settings_are_config_errors() {
    for (toml, key) in [
        ("pow_difficulty = 65", "pow_difficulty"),
        ("antiflood_max = 65", "antiflood_max"),
        ("pow_ttl = 0", "pow_ttl"),
        ("antiflood_window = 0", "antiflood_window"),
        ("short_url_max = 8", "short_url_max"),
    ] {
        let out = Builder::new().toml(toml).arg("--check-config").run();
        assert_eq!(out.code, Some(78), "{toml}");
        assert!(out.stderr.contains(key), "{toml}: {}", out.stderr);
    }
}
