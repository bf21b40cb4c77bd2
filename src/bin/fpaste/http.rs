//! Talking to the server: one ureq agent (rustls; the server always verified, against the
//! system roots or `ca_cert`; mTLS with the client certificate), the identity header, the
//! server's JSON errors turned into one-line messages, and progress bars for big bodies.

use std::io::{IsTerminal, Read};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use http::{Method, Response};
use indicatif::{ProgressBar, ProgressStyle};
use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};
use ureq::{Agent, Body};

use crate::settings::Settings;

/// Bodies above this size get a progress bar (on a terminal).
const PROGRESS_FROM: u64 = 1 << 20;

/// The server, and how to reach it.
pub struct Client {
    agent: Agent,
    /// Base URL, no trailing slash.
    pub server: String,
    cert_sha1: Option<String>,
}

/// A request's extra headers.
pub type Headers = Vec<(&'static str, String)>;

impl Client {
    /// An agent for `settings`.
    ///
    /// # Errors
    /// Unreadable certificate, key or CA files.
    pub fn new(settings: &Settings) -> Result<Client> {
        Self::for_server(settings, &settings.server)
    }

    /// As [`Client::new`], for another server (a full URL given to `get`).
    ///
    /// # Errors
    /// As [`Client::new`].
    pub fn for_server(settings: &Settings, server: &str) -> Result<Client> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut tls = TlsConfig::builder()
            .unversioned_rustls_crypto_provider(provider)
            .root_certs(RootCerts::PlatformVerifier);
        if let Some(ca) = &settings.ca_cert {
            let certs = certificates(ca)?;
            tls = tls.root_certs(RootCerts::new_with_certs(&certs));
        }
        match (&settings.client_cert, &settings.client_key) {
            (Some(cert), Some(key)) => {
                let chain = certificates(cert)?;
                let key = private_key(key)?;
                tls = tls.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
            }
            (Some(_), None) | (None, Some(_)) => {
                bail!("client_cert and client_key must be given together")
            }
            (None, None) => {}
        }
        let agent: Agent = Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            // Headers such as X-Paste-Password must not follow a redirect to another host.
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_recv_response(Some(Duration::from_secs(300)))
            .user_agent(concat!("fpaste/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Client {
            agent,
            server: server.trim_end_matches('/').to_owned(),
            cert_sha1: settings.cert_sha1.clone(),
        })
    }

    /// `server` + `path`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server)
    }

    /// Sends a request with an optional body, and returns the response when its status is
    /// a success (anything below 400).
    ///
    /// # Errors
    /// An unreachable server, or the server's own error text for a 4xx/5xx.
    pub fn send(
        &self,
        method: Method,
        path: &str,
        headers: &Headers,
        body: Option<&[u8]>,
    ) -> Result<Response<Body>> {
        let url = self.url(path);
        let mut req = http::Request::builder().method(method).uri(&url);
        if let Some(fp) = &self.cert_sha1 {
            req = req.header("X-SSL-Client-SHA1", fp);
        }
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let result = match body {
            Some(bytes) => {
                let req = req
                    .header("Content-Length", bytes.len())
                    .body(())
                    .context("bad request header")?;
                let bar = progress(bytes.len() as u64, "uploading");
                let mut reader = bar.wrap_read(bytes);
                let sent = self
                    .agent
                    .run(req.map(|()| ureq::SendBody::from_reader(&mut reader)));
                bar.finish_and_clear();
                sent
            }
            None => self.agent.run(req.body(()).context("bad request header")?),
        };
        let resp = result.map_err(|e| transport(&self.server, e))?;
        if resp.status().as_u16() >= 400 {
            return Err(server_error(resp));
        }
        Ok(resp)
    }

    /// [`Client::send`], then the JSON answer.
    ///
    /// # Errors
    /// As [`Client::send`], or an answer that is not JSON.
    pub fn json(
        &self,
        method: Method,
        path: &str,
        headers: &Headers,
        body: Option<&[u8]>,
    ) -> Result<serde_json::Value> {
        let resp = self.send(method, path, headers, body)?;
        let bytes = read_body(resp, "")?;
        serde_json::from_slice(&bytes).context("the server's answer is not JSON")
    }
}

/// Reads a whole response body (with a progress bar for a large one on a terminal).
///
/// # Errors
/// A connection that breaks before the declared length.
pub fn read_body(resp: Response<Body>, what: &str) -> Result<Vec<u8>> {
    let declared = resp.body().content_length();
    let mut body = resp.into_body();
    let cap = declared.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    let mut out = Vec::with_capacity(cap);
    let bar = progress(declared.unwrap_or(0), what);
    bar.wrap_read(body.with_config().limit(u64::MAX).reader())
        .read_to_end(&mut out)
        .context("the connection broke during the download")?;
    bar.finish_and_clear();
    Ok(out)
}

/// A progress bar on stderr for `len` bytes, hidden unless stderr is a terminal and the
/// body is large.
fn progress(len: u64, what: &str) -> ProgressBar {
    if what.is_empty() || len <= PROGRESS_FROM || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    // Drawn at once: a fast transfer would otherwise end before the first redraw.
    bar.tick();
    bar
}

/// The server's `{"error": ..., "hint": ...}` as one line.
/// The server's answer to a request it refused: its status and its one-line text.
#[derive(Debug)]
pub struct ServerError {
    pub status: u16,
    text: String,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for ServerError {}

/// The status of a refusal by the server, when `err` is one.
#[must_use]
pub fn refused_with(err: &anyhow::Error) -> Option<u16> {
    err.downcast_ref::<ServerError>().map(|e| e.status)
}

fn server_error(resp: Response<Body>) -> anyhow::Error {
    let status = resp.status();
    let mut body = resp.into_body();
    let text = body
        .with_config()
        .limit(64 * 1024)
        .read_to_vec()
        .unwrap_or_default();
    let doc: serde_json::Value = serde_json::from_slice(&text).unwrap_or_default();
    let error = doc.get("error").and_then(|e| e.as_str()).map_or_else(
        || status.canonical_reason().unwrap_or("error").to_owned(),
        str::to_owned,
    );
    let text = match doc.get("hint").and_then(|h| h.as_str()) {
        Some(hint) => format!("{error} (HTTP {}; {hint})", status.as_u16()),
        None => format!("{error} (HTTP {})", status.as_u16()),
    };
    anyhow::Error::new(ServerError {
        status: status.as_u16(),
        text,
    })
}

/// A failure below HTTP, naming the server.
fn transport(server: &str, e: ureq::Error) -> anyhow::Error {
    anyhow!("cannot reach {server}: {e}")
}

/// The certificates in a PEM file.
fn certificates(path: &std::path::Path) -> Result<Vec<Certificate<'static>>> {
    let pem = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(c)) => Some(c.to_owned()),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        bail!("no certificate in {}", path.display());
    }
    Ok(certs)
}

/// The private key in a PEM file.
fn private_key(path: &std::path::Path) -> Result<PrivateKey<'static>> {
    let pem = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    ureq::tls::parse_pem(&pem)
        .find_map(|item| match item {
            Ok(PemItem::PrivateKey(k)) => Some(k.to_owned()),
            _ => None,
        })
        .with_context(|| format!("no private key in {}", path.display()))
}
