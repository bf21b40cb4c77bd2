//! The commands around the paste: `list`, `info`, `shorten`, and the identity commands
//! `register` (a certificate from the server's PKI) and `cert` (a self-signed one).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use http::Method;
use serde_json::{Value, json};

use crate::cli::{CertArgs, JsonFlag, ListArgs, RegisterArgs, ShortenArgs};
use crate::http::{Client, read_body};
use crate::settings::{self, Flags, Settings};
use crate::{cert, output, work};

/// `fpaste list`: one's own pastes (everyone's with `--all`, for the admin).
///
/// # Errors
/// The server's refusal (no certificate: "Authentication required").
pub fn list(settings: &Settings, args: &ListArgs) -> Result<()> {
    let client = Client::new(settings)?;
    let mut query = Vec::new();
    if let Some(n) = args.limit {
        query.push(format!("limit={n}"));
    }
    if let Some(n) = args.offset {
        query.push(format!("offset={n}"));
    }
    if args.all {
        query.push("all=1".to_owned());
    }
    let path = match query.is_empty() {
        true => "/pastes".to_owned(),
        false => format!("/pastes?{}", query.join("&")),
    };
    let doc = client.json(Method::GET, &path, &Vec::new(), None)?;
    if args.json {
        return output::json(&doc);
    }
    let pastes = doc
        .get("pastes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut text = String::new();
    for p in &pastes {
        let s = |k: &str| {
            p.get(k).map_or(String::new(), |v| {
                v.as_str().map_or_else(|| v.to_string(), str::to_owned)
            })
        };
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            s("id"),
            s("size"),
            s("mime_type"),
            s("expires_at"),
            s("display_name")
        ));
    }
    let total = doc.get("total").and_then(Value::as_u64).unwrap_or(0);
    eprintln!("fpaste: {} of {total} pastes", pastes.len());
    output::bytes(text.as_bytes())
}

/// `fpaste info`: what the server offers.
///
/// # Errors
/// An unreachable server.
pub fn info(settings: &Settings, args: &JsonFlag) -> Result<()> {
    let client = Client::new(settings)?;
    let doc = client.json(Method::GET, "/", &Vec::new(), None)?;
    if args.json {
        output::json(&doc)
    } else {
        output::fields(&doc)
    }
}

/// `fpaste shorten`: a short URL (after the proof-of-work); prints it.
///
/// # Errors
/// The server's refusal (a target it does not accept, rate limits).
pub fn shorten(settings: &Settings, args: &ShortenArgs) -> Result<()> {
    let client = Client::new(settings)?;
    let mut headers = work::prove(&client, "/challenge")?;
    headers.push(("Content-Type", "application/json".to_owned()));
    let body = serde_json::to_vec(&json!({"url": args.url}))?;
    let doc = client.json(Method::POST, "/s", &headers, Some(&body))?;
    if args.json {
        return output::json(&doc);
    }
    let id = doc
        .get("id")
        .and_then(Value::as_str)
        .context("the answer has no id")?;
    output::line(&client.url(&format!("/s/{id}")))
}

/// Where `register` and `cert --configure` keep the certificate and key.
fn identity_files(force: bool) -> Result<(PathBuf, PathBuf)> {
    let dir = settings::config_dir()?;
    let (crt, key) = (dir.join("client.crt"), dir.join("client.key"));
    if !force && (crt.exists() || key.exists()) {
        bail!(
            "{} already exists; --force replaces it",
            if crt.exists() { &crt } else { &key }.display()
        );
    }
    Ok((crt, key))
}

/// Saves certificate and key (mode 0600) and points the config file at them.
fn install(
    flags: &Flags,
    crt: &Path,
    key: &Path,
    cert_pem: &str,
    key_pem: &str,
    fp: &str,
) -> Result<()> {
    settings::write_private(key, key_pem.as_bytes())?;
    settings::write_private(crt, cert_pem.as_bytes())?;
    let config = settings::config_file(flags)?;
    let (crt, key) = (crt.display().to_string(), key.display().to_string());
    settings::set_keys(
        &config,
        &[
            ("client_cert", &crt),
            ("client_key", &key),
            ("cert_sha1", fp),
        ],
    )?;
    eprintln!(
        "fpaste: certificate {crt}, key {key}, config {}",
        config.display()
    );
    Ok(())
}

/// `fpaste register`: solves the registration challenge and sends a signing request (the
/// key never leaves this machine); saves the certificate, configures it, prints its
/// fingerprint.
///
/// # Errors
/// Existing files without `--force`, or the server's refusal (PKI off: "Not found").
pub fn register(settings: &Settings, flags: &Flags, args: &RegisterArgs) -> Result<()> {
    let (crt, key) = identity_files(args.force)?;
    let client = Client::new(settings)?;
    let request = cert::signing_request(args.name.as_deref())?;
    let mut headers = work::prove(&client, "/register/challenge")?;
    headers.push(("Content-Type", "application/json".to_owned()));
    let mut doc = json!({"csr": request.csr_pem});
    if let Some(name) = &args.name {
        doc["common_name"] = json!(name);
    }
    let resp = client.send(
        Method::POST,
        "/register",
        &headers,
        Some(&serde_json::to_vec(&doc)?),
    )?;
    let fingerprint = resp
        .headers()
        .get("x-fingerprint-sha1")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let chain = String::from_utf8(read_body(resp, "")?).context("the certificate is not PEM")?;
    let fingerprint = match fingerprint {
        Some(fp) => fp,
        None => cert::fingerprint(&chain)?,
    };
    install(flags, &crt, &key, &chain, &request.key_pem, &fingerprint)?;
    output::line(&fingerprint)
}

/// `fpaste cert`: a self-signed client certificate; with `--configure` saved and set in the
/// config. Prints the SHA-1 fingerprint on stdout, the details on stderr.
///
/// # Errors
/// Bad sizes or days, or existing files without `--force`.
pub fn cert(flags: &Flags, args: &CertArgs) -> Result<()> {
    let made = cert::self_signed(args.algorithm, args.curve, args.bits, &args.name, args.days)?;
    eprintln!(
        "fpaste: {} certificate CN={} valid until {}",
        match args.algorithm {
            cert::Algorithm::Ec => format!("{:?}", args.curve).to_lowercase(),
            cert::Algorithm::Rsa => format!("RSA-{}", args.bits),
        },
        args.name,
        made.not_after
    );
    if args.configure {
        let (crt, key) = identity_files(args.force)?;
        install(
            flags,
            &crt,
            &key,
            &made.cert_pem,
            &made.key_pem,
            &made.fingerprint,
        )?;
    } else {
        let dir = args.out.clone().unwrap_or_else(|| PathBuf::from("."));
        let (crt, key) = (dir.join("client.crt"), dir.join("client.key"));
        if !args.force && (crt.exists() || key.exists()) {
            bail!("{} already exists; --force replaces it", crt.display());
        }
        settings::write_private(&key, made.key_pem.as_bytes())?;
        settings::write_private(&crt, made.cert_pem.as_bytes())?;
        eprintln!("fpaste: wrote {} and {}", crt.display(), key.display());
    }
    output::line(&made.fingerprint)
}
