//! A TLS terminator in front of a test daemon, as nginx is in production: it requires a
//! client certificate on every handshake and forwards each request over the daemon's Unix
//! socket with `X-SSL-Client-SHA1` set to the certificate's SHA-1. Loopback only.
//!
//! It verifies handshake signatures with rustls' aws-lc-rs provider, as fpaste signs them:
//! P-256, P-384, P-521 and RSA client certificates all work.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName as HintName, SignatureScheme};
use sha1::{Digest, Sha1};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::task::{JoinHandle, JoinSet};

const X_SSL_CLIENT_SHA1: &str = "x-ssl-client-sha1";

type Body = BoxBody<Bytes, hyper::Error>;

/// A running front; its task (and every connection's) stops when it is dropped.
pub struct TlsFront {
    addr: SocketAddr,
    ca_path: PathBuf,
    refused: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl TlsFront {
    /// Serves https://127.0.0.1:PORT/ with a server certificate for "localhost" and IP
    /// 127.0.0.1 signed by a fresh test CA (written to `dir/front-ca.pem`), requiring a client
    /// certificate on every handshake. Each request is forwarded over HTTP/1.1 to the daemon
    /// at `upstream` (a Unix socket path) with X-SSL-Client-SHA1 set to the SHA-1 hex of the
    /// client certificate's DER (any incoming X-SSL-Client-SHA1 removed), and the response
    /// streamed back.
    pub async fn start(upstream: &Path, dir: &Path) -> TlsFront {
        let (ca_pem, chain, key) = server_identity();
        let ca_path = dir.join("front-ca.pem");
        std::fs::write(&ca_path, ca_pem).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = Arc::new(AnyClientCertificate {
            algorithms: provider.signature_verification_algorithms,
        });
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .unwrap();
        // Like the nginx example: HTTP/1.1 only, which is all the daemon's client speaks.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let refused = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(accept_loop(
            listener,
            acceptor,
            upstream.to_owned(),
            Arc::clone(&refused),
        ));
        TlsFront {
            addr,
            ca_path,
            refused,
            task,
        }
    }

    /// `https://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The loopback address the front listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The PEM certificate of the CA that signed the front's server certificate.
    pub fn ca_path(&self) -> PathBuf {
        self.ca_path.clone()
    }

    /// Handshakes that failed so far (no client certificate, a bad signature, no TLS).
    pub fn refused_handshakes(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        // The connections live in the loop's JoinSet, which aborts them as it is dropped.
        self.task.abort();
    }
}

/// A test CA and the server certificate it signed for `localhost` and `127.0.0.1`.
pub struct LocalhostIdentity {
    pub ca: rcgen::Certificate,
    pub cert: rcgen::Certificate,
    pub key: KeyPair,
}

/// A new CA named `ca_name` and a localhost server certificate from it.
pub fn localhost_identity(ca_name: &str) -> LocalhostIdentity {
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = common_name(ca_name);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params.distinguished_name = common_name("localhost");
    let cert = params.signed_by(&key, &issuer).unwrap();
    LocalhostIdentity { ca, cert, key }
}

/// The CA's PEM, the server's chain (leaf, CA) and the server's key.
fn server_identity() -> (String, Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let id = localhost_identity("flaskpaste test front CA");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key.serialize_der()));
    (
        id.ca.pem(),
        vec![id.cert.der().clone(), id.ca.der().clone()],
        key,
    )
}

/// A distinguished name of just this common name.
pub fn common_name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    upstream: PathBuf,
    refused: Arc<AtomicUsize>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                connections.spawn(serve_connection(
                    tcp,
                    acceptor.clone(),
                    upstream.clone(),
                    Arc::clone(&refused),
                ));
            }
            Some(_) = connections.join_next() => {}
        }
    }
}

async fn serve_connection(
    tcp: TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    upstream: PathBuf,
    refused: Arc<AtomicUsize>,
) {
    let tls = match acceptor.accept(tcp).await {
        Ok(tls) => tls,
        Err(_) => {
            refused.fetch_add(1, Ordering::SeqCst);
            return;
        }
    };
    let fingerprint = {
        let (_, session) = tls.get_ref();
        // The verifier made a certificate mandatory, so a finished handshake has one.
        let certs = session.peer_certificates().unwrap();
        hex(&Sha1::digest(certs[0].as_ref()))
    };
    let fingerprint = HeaderValue::from_str(&fingerprint).unwrap();
    let service =
        hyper::service::service_fn(move |req| forward(req, upstream.clone(), fingerprint.clone()));
    // A client that goes away mid-request is its own business, as it is nginx's.
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tls), service)
        .await;
}

/// One request to the daemon over a fresh Unix connection; 502 when it cannot be reached.
async fn forward(
    mut req: Request<Incoming>,
    upstream: PathBuf,
    fingerprint: HeaderValue,
) -> Result<Response<Body>, Infallible> {
    let headers = req.headers_mut();
    // insert() replaces every value the client sent under this name.
    headers.insert(X_SSL_CLIENT_SHA1, fingerprint);
    let answer = async {
        let io = UnixStream::connect(&upstream).await.ok()?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .ok()?;
        tokio::spawn(conn);
        sender.send_request(req).await.ok()
    };
    Ok(match answer.await {
        Some(resp) => resp.map(BodyExt::boxed),
        None => {
            let mut resp = Response::new(
                Full::new(Bytes::from_static(b"bad gateway\n"))
                    .map_err(|never| match never {})
                    .boxed(),
            );
            *resp.status_mut() = StatusCode::BAD_GATEWAY;
            resp
        }
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Accepts any client certificate, since `fpaste cert` makes self-signed ones that chain to
/// nothing (nginx's `ssl_verify_client optional_no_ca`), but still checks that the client
/// holds its key: the handshake signatures are verified against the certificate.
#[derive(Debug)]
struct AnyClientCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCertificate {
    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[HintName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
