//! The test TLS front (tests/common/tls_front.rs) behaves like the production nginx: it
//! reaches the real daemon, refuses handshakes without a client certificate, and is the only
//! one who names the client's certificate to the daemon.

#![expect(clippy::unwrap_used, reason = "test: any failure is the test's")]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::tls_front::TlsFront;
use common::{Builder, PATIENCE, send_h1};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_ECDSA_P256_SHA256};
use rustls::client::ResolvesClientCert;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, SignatureScheme, SupportedProtocolVersion};
use sha1::{Digest, Sha1};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// A self-signed client certificate, as `fpaste cert` makes, and its SHA-1 hex.
fn client_certificate() -> (CertificateDer<'static>, PrivateKeyDer<'static>, String) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "tls front test");
    params.distinguished_name = dn;
    let cert = params.self_signed(&key).unwrap();
    let fingerprint = Sha1::digest(cert.der())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (cert.der().clone(), key, fingerprint)
}

/// What a test client presents.
enum Presents {
    Nothing,
    Certificate(CertificateDer<'static>, PrivateKeyDer<'static>),
    /// A certificate, signing with a key that is not the certificate's.
    StolenCertificate(CertificateDer<'static>, PrivateKeyDer<'static>),
}

/// A client trusting the front's CA, speaking only `version`.
fn client(
    front: &TlsFront,
    version: &'static SupportedProtocolVersion,
    presents: Presents,
) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(front.ca_path()).unwrap())
        .unwrap();
    let builder = ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(&[version])
    .unwrap()
    .with_root_certificates(roots);
    let config = match presents {
        Presents::Nothing => builder.with_no_client_auth(),
        Presents::Certificate(cert, key) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
        // with_client_auth_cert would refuse the pair; the resolver hands it over unchecked.
        Presents::StolenCertificate(cert, key) => {
            let key = rustls::crypto::aws_lc_rs::sign::any_supported_type(&key).unwrap();
            builder.with_client_cert_resolver(Arc::new(Always(Arc::new(CertifiedKey::new(
                vec![cert],
                key,
            )))))
        }
    };
    TlsConnector::from(Arc::new(config))
}

#[derive(Debug)]
struct Always(Arc<CertifiedKey>);

impl ResolvesClientCert for Always {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A TLS connection to the front, checked against its certificate for `host`.
async fn connect(
    front: &TlsFront,
    connector: &TlsConnector,
    host: &str,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(front.addr()).await?;
    let name = ServerName::try_from(host.to_owned()).unwrap();
    connector.connect(name, tcp).await
}

/// `GET path` where the handshake may fail: where it failed, or the status it got.
async fn try_get(front: &TlsFront, connector: &TlsConnector, path: &str) -> Result<u16, String> {
    // TLS 1.3 clients finish their side first; the server's refusal arrives as an alert
    // on the first read.
    let tls = connect(front, connector, "localhost")
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("http: {e}"))?;
    tokio::spawn(conn);
    let req = http::Request::get(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = resp.status().as_u16();
    resp.into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?;
    Ok(status)
}

async fn wait_refused(front: &TlsFront, count: usize) {
    let deadline = Instant::now() + PATIENCE;
    while front.refused_handshakes() < count {
        assert!(
            Instant::now() < deadline,
            "refused {} handshakes, not {count}",
            front.refused_handshakes()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_client_certificate_reaches_the_daemon_as_its_fingerprint() {
    let d = Builder::new().spawn();
    let front = TlsFront::start(&d.sock, d.dir.path()).await;
    assert!(
        front.url().starts_with("https://127.0.0.1:"),
        "{}",
        front.url()
    );
    assert_eq!(front.ca_path(), d.path("front-ca.pem"));
    let (cert, key, fingerprint) = client_certificate();
    let connector = client(
        &front,
        &rustls::version::TLS13,
        Presents::Certificate(cert, key),
    );

    let health = send_h1(
        connect(&front, &connector, "localhost").await.unwrap(),
        "GET",
        "/health",
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(health.status, 200);

    // A header the client sends itself is replaced, never passed on.
    let spoofed = ("x-ssl-client-sha1", common::FP);
    let created = send_h1(
        connect(&front, &connector, "localhost").await.unwrap(),
        "POST",
        "/",
        &[spoofed],
        b"through the front".to_vec(),
    )
    .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.json()["owner"], fingerprint.as_str());

    // The server certificate also names 127.0.0.1, as `fpaste` reaches it by url().
    let listing = send_h1(
        connect(&front, &connector, "127.0.0.1").await.unwrap(),
        "GET",
        "/pastes",
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(listing.status, 200);
    assert_eq!(listing.json()["total"], 1);
    let direct = d
        .req("GET", "/pastes", &[("x-ssl-client-sha1", &fingerprint)])
        .await;
    assert_eq!(direct.json()["total"], 1);
    assert_eq!(d.req("GET", "/pastes", &[spoofed]).await.json()["total"], 0);
    assert_eq!(front.refused_handshakes(), 0);
}

#[tokio::test]
async fn tls12_clients_are_served_too() {
    let d = Builder::new().spawn();
    let front = TlsFront::start(&d.sock, d.dir.path()).await;
    let (cert, key, _) = client_certificate();
    let connector = client(
        &front,
        &rustls::version::TLS12,
        Presents::Certificate(cert, key),
    );
    let health = send_h1(
        connect(&front, &connector, "localhost").await.unwrap(),
        "GET",
        "/health",
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(health.status, 200);
}

#[tokio::test]
async fn a_handshake_without_a_client_certificate_is_refused_and_counted() {
    let d = Builder::new().spawn();
    let front = TlsFront::start(&d.sock, d.dir.path()).await;
    for (n, version) in [&rustls::version::TLS13, &rustls::version::TLS12]
        .into_iter()
        .enumerate()
    {
        let connector = client(&front, version, Presents::Nothing);
        let got = try_get(&front, &connector, "/health").await;
        assert!(got.is_err(), "{version:?} without a certificate: {got:?}");
        wait_refused(&front, n + 1).await;
    }
    // Not TLS at all.
    send_plain_http(&front).await;
    wait_refused(&front, 3).await;
    assert_eq!(front.refused_handshakes(), 3);
}

async fn send_plain_http(front: &TlsFront) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = TcpStream::connect(front.addr()).await.unwrap();
    tcp.write_all(b"GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    assert!(!answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
}

#[tokio::test]
async fn a_certificate_presented_without_its_key_is_refused() {
    let d = Builder::new().spawn();
    let front = TlsFront::start(&d.sock, d.dir.path()).await;
    for (n, version) in [&rustls::version::TLS13, &rustls::version::TLS12]
        .into_iter()
        .enumerate()
    {
        let (cert, _, _) = client_certificate();
        let (_, other_key, _) = client_certificate();
        let connector = client(
            &front,
            version,
            Presents::StolenCertificate(cert, other_key),
        );
        let got = try_get(&front, &connector, "/health").await;
        assert!(got.is_err(), "{version:?} with the wrong key: {got:?}");
        wait_refused(&front, n + 1).await;
    }
}
