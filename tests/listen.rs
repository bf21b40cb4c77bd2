//! Every listener form of interface.md, several at once, and connection hygiene.

mod common;

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::time::Duration;

use common::{Builder, PATIENCE, request_tcp, request_unix, tcp_address};

#[tokio::test]
async fn tcp_v4_reports_the_real_port_and_serves() {
    let mut d = Builder::new().listen(&["127.0.0.1:0"]).spawn();
    let addr = tcp_address(&d.wait_log("listening on"));
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "{addr}"
    );
    assert_eq!(
        request_tcp(&addr, "GET", "/health", &[], vec![])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn tcp_v6_serves() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback");
        return;
    }
    let mut d = Builder::new().listen(&["[::1]:0"]).spawn();
    let addr = tcp_address(&d.wait_log("listening on"));
    assert!(addr.starts_with("[::1]:"), "{addr}");
    assert_eq!(
        request_tcp(&addr, "GET", "/health", &[], vec![])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn unix_socket_honours_socket_mode_from_file_and_env() {
    let d = Builder::new().toml("socket_mode = \"0600\"").spawn();
    assert_eq!(
        std::fs::metadata(&d.sock).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let d = Builder::new().env("FLASKPASTE_SOCKET_MODE", "0666").spawn();
    assert_eq!(
        std::fs::metadata(&d.sock).unwrap().permissions().mode() & 0o777,
        0o666
    );
    let d = Builder::new().spawn();
    assert_eq!(
        std::fs::metadata(&d.sock).unwrap().permissions().mode() & 0o777,
        0o660
    );
    assert_eq!(d.req("GET", "/health", &[]).await.status, 200);
}

#[tokio::test]
async fn stale_socket_file_is_replaced() {
    let b = Builder::new();
    drop(std::os::unix::net::UnixListener::bind(b.path("fp.sock")).unwrap());
    let d = b.spawn();
    assert_eq!(d.req("GET", "/health", &[]).await.status, 200);
}

#[tokio::test]
async fn abstract_socket_serves() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("flaskpaste-test-{}", std::process::id());
    let mut d = Builder::new().listen(&[&format!("@{name}")]).spawn();
    d.wait_log(&format!("listening on @{name}"));
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
    let std_stream = UnixStream::connect_addr(&addr).unwrap();
    std_stream.set_nonblocking(true).unwrap();
    let io = tokio::net::UnixStream::from_std(std_stream).unwrap();
    assert_eq!(
        common::send_h1(io, "GET", "/health", &[], vec![])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn several_listeners_serve_at_once() {
    let b = Builder::new();
    let sock = b.path("fp.sock").display().to_string();
    let mut d = b.listen(&[&sock, "127.0.0.1:0"]).spawn();
    let log = d.wait_log("listening on 127.0.0.1:");
    assert!(log.contains(&format!("listening on {sock}")), "{log}");
    let addr = log
        .lines()
        .filter_map(|l| l.split("listening on ").nth(1))
        .find(|a| a.starts_with("127."))
        .unwrap()
        .to_owned();
    assert_eq!(
        request_tcp(&addr, "GET", "/health", &[], vec![])
            .await
            .status,
        200
    );
    assert_eq!(d.req("GET", "/health", &[]).await.status, 200);
}

#[tokio::test]
async fn listen_from_env_takes_a_comma_separated_list() {
    let b = Builder::new();
    let a = b.path("a.sock");
    let c = b.path("c.sock");
    let list = format!("{},{}", a.display(), c.display());
    let _d = b.listen(&[]).env("FLASKPASTE_LISTEN", &list).spawn();
    assert_eq!(
        request_unix(&a, "GET", "/health", &[], vec![]).await.status,
        200
    );
    assert_eq!(
        request_unix(&c, "GET", "/health", &[], vec![]).await.status,
        200
    );
}

#[tokio::test]
async fn sd_listen_adopts_every_inherited_socket_unix_and_tcp() {
    let b = Builder::new();
    let act = b.path("act.sock");
    let act_arg = act.display().to_string();
    let tcp = common::free_port();
    let mut d = b
        .listen(&["sd-listen"])
        .socket_activated(&[&act_arg, &tcp], None)
        .start();
    common::wait_socket(&act);
    assert_eq!(
        request_unix(&act, "GET", "/health", &[], vec![])
            .await
            .status,
        200
    );
    let log = d.wait_log("(sd-listen fd 4)");
    assert!(
        log.contains(&format!("listening on {act_arg} (sd-listen fd 3)")),
        "{log}"
    );
    assert!(
        log.contains(&format!("listening on {tcp} (sd-listen fd 4)")),
        "{log}"
    );
    assert_eq!(
        request_tcp(&tcp, "GET", "/health", &[], vec![])
            .await
            .status,
        200
    );
    assert_eq!(d.stop().code(), Some(0));
    assert!(act.exists(), "an inherited socket must never be removed");
}

#[tokio::test]
async fn sd_listen_name_adopts_only_that_socket() {
    let b = Builder::new();
    let web = b.path("web.sock");
    let api = b.path("api.sock");
    let (web_arg, api_arg) = (web.display().to_string(), api.display().to_string());
    let mut d = b
        .listen(&["sd-listen:api"])
        .socket_activated(&[&web_arg, &api_arg], Some("web:api"))
        .start();
    common::wait_socket(&api);
    assert_eq!(
        request_unix(&api, "GET", "/health", &[], vec![])
            .await
            .status,
        200
    );
    let log = d.wait_log("listening on");
    assert!(
        log.contains(&format!("listening on {api_arg} (sd-listen fd 4)")),
        "{log}"
    );
    assert!(!log.contains(&format!("listening on {web_arg}")), "{log}");
}

#[test]
fn sd_listen_with_an_unknown_name_exits_73() {
    let b = Builder::new();
    let web = b.path("web.sock").display().to_string();
    let mut d = b
        .listen(&["sd-listen:nope"])
        .socket_activated(&[&web], Some("web"))
        .start();
    common::wait_socket(std::path::Path::new(&web));
    assert_eq!(d.wait_exit().code(), Some(73), "{}", d.log());
    assert!(d.log().contains("nope"), "{}", d.log());
}

#[test]
fn inetd_serves_one_connection_on_stdin_and_stdout_then_exits() {
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let out = theirs.try_clone().unwrap();
    let mut d = Builder::new()
        .listen(&["inetd"])
        .stdio(
            Stdio::from(OwnedFd::from(theirs)),
            Stdio::from(OwnedFd::from(out)),
        )
        .spawn();
    ours.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    ours.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut resp = String::new();
    ours.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp:?}");
    assert!(resp.contains("\"healthy\""), "{resp:?}");
    assert_eq!(d.wait_exit().code(), Some(0), "{}", d.log());
}

#[test]
fn oversized_request_head_is_refused_with_431() {
    let d = Builder::new().spawn();
    let mut conn = UnixStream::connect(&d.sock).unwrap();
    let big = "x".repeat(20 * 1024);
    let req = format!("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    // The daemon may close before reading everything; what it answered is what counts.
    let _ = conn.write_all(req.as_bytes());
    conn.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut resp = Vec::new();
    let _ = conn.read_to_end(&mut resp);
    let resp = String::from_utf8_lossy(&resp);
    assert!(resp.starts_with("HTTP/1.1 431"), "{resp:?}");
}

#[test]
fn more_header_fields_than_the_limit_are_refused_with_431() {
    let d = Builder::new().spawn();
    let ask = |fields: usize| {
        let mut conn = UnixStream::connect(&d.sock).unwrap();
        let mut req = String::from("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
        for i in 2..fields {
            req.push_str(&format!("X-F{i}: {i}\r\n"));
        }
        req.push_str("\r\n");
        let _ = conn.write_all(req.as_bytes());
        conn.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut resp = Vec::new();
        let _ = conn.read_to_end(&mut resp);
        String::from_utf8_lossy(&resp).into_owned()
    };
    let at = ask(flaskpaste::serve::MAX_HEADERS);
    assert!(at.starts_with("HTTP/1.1 200"), "{at:?}");
    let over = ask(flaskpaste::serve::MAX_HEADERS + 1);
    assert!(over.starts_with("HTTP/1.1 431"), "{over:?}");
}

#[test]
fn a_slow_request_head_is_cut_off() {
    let d = Builder::new().spawn();
    let mut conn = UnixStream::connect(&d.sock).unwrap();
    conn.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let (got, took) = common::read_until_closed(&mut conn);
    assert!(!got.contains("200 OK"), "{got:?}");
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let d = Builder::new().spawn();
    let mut conn = UnixStream::connect(&d.sock).unwrap();
    conn.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (got, took) = common::read_until_closed(&mut conn);
    assert!(got.starts_with("HTTP/1.1 200"), "{got:?}");
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn connections_past_max_connections_wait_without_harming_the_others() {
    let d = Builder::new().toml("max_connections = 2").spawn();
    let ask = |conn: &mut UnixStream| {
        conn.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 4096];
        let n = conn.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let mut first = UnixStream::connect(&d.sock).unwrap();
    let mut second = UnixStream::connect(&d.sock).unwrap();
    first.set_read_timeout(Some(PATIENCE)).unwrap();
    second.set_read_timeout(Some(PATIENCE)).unwrap();
    assert!(ask(&mut first).starts_with("HTTP/1.1 200"));
    assert!(ask(&mut second).starts_with("HTTP/1.1 200"));

    let mut third = UnixStream::connect(&d.sock).unwrap();
    third
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 4096];
    assert!(
        third.read(&mut buf).is_err(),
        "a third connection was served at once"
    );
    // Those already being served are unaffected.
    assert!(ask(&mut second).starts_with("HTTP/1.1 200"));
    drop(first);
    third.set_read_timeout(Some(PATIENCE)).unwrap();
    let n = third.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn h2c_with_prior_knowledge_is_served() {
    let d = Builder::new().spawn();
    let io = tokio::net::UnixStream::connect(&d.sock).await.unwrap();
    let resp = common::send_h2(io, "GET", "/health").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["status"], "healthy");
    assert_eq!(resp.header("x-frame-options"), Some("DENY"));
}
