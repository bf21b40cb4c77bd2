//! The paste commands: `create`, `get`, `update`, `delete`.

use std::fs;
use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::{Context, Result, bail};
use http::Method;
use serde_json::{Value, json};

use crate::cli::{CreateArgs, DeleteArgs, GetArgs, UpdateArgs};
use crate::crypto::{self, Key};
use crate::http::{Client, Headers, read_body, refused_with};
use crate::settings::Settings;
use crate::target::{self, Target};
use crate::{history, output, secret, work};

/// `fpaste create`: read, encrypt (unless `-E`), prove work, upload, print the URL.
///
/// # Errors
/// Unreadable input, or the server's refusal.
pub fn create(settings: &Settings, args: &CreateArgs) -> Result<()> {
    let client = Client::new(settings)?;
    let key = (!args.no_encrypt).then(Key::generate);
    let body = content(args.file.as_deref(), key.as_ref())?;
    let mut headers = work::prove(&client, "/challenge")?;
    if args.confirm {
        headers.push(("X-Burn-After-Read", "confirm".to_owned()));
    } else if args.burn {
        headers.push(("X-Burn-After-Read", "true".to_owned()));
    }
    if let Some(seconds) = args.expiry {
        headers.push(("X-Expiry", seconds.to_string()));
    }
    if let Some(password) = secret::password(&args.password)? {
        headers.push(("X-Paste-Password", password));
    }
    if let Some(name) = &args.display_name {
        if settings.cert_sha1.is_none() && settings.client_cert.is_none() {
            eprintln!("fpaste: the server keeps display names of authenticated clients only");
        }
        headers.push(("X-Display-Name", name.clone()));
    }
    if key.is_some() {
        headers.push(("Content-Type", "application/octet-stream".to_owned()));
    }
    let doc = client.json(Method::POST, "/", &headers, Some(&body))?;
    drop(body);
    let id = field(&doc, "id")?;
    let url = link(&client, &id, key.as_ref());
    let token = doc.get("owner_token").and_then(Value::as_str);
    let expires_at = doc.get("expires_at").and_then(Value::as_i64);
    if let (Some(token), false) = (token, args.no_history) {
        let entry = history::Entry {
            server: client.server.clone(),
            id: id.clone(),
            owner_token: token.to_owned(),
            expires_at,
        };
        // The paste exists now: its URL must still be printed.
        if let Err(e) = history::record(&entry) {
            eprintln!("fpaste: owner token not kept ({e:#}); it is {token}");
        }
    }
    if args.json {
        let raw = client.url(&format!("/{id}/raw"));
        let summary = json!({"id": id, "url": url, "raw": raw, "owner_token": token,
                             "expires_at": expires_at, "encrypted": key.is_some()});
        output::json(&summary)
    } else {
        output::line(&url)
    }
}

/// The paste's URL, with its key after `#` when encrypted.
fn link(client: &Client, id: &str, key: Option<&Key>) -> String {
    match key {
        Some(k) => client.url(&format!("/{id}#{}", k.encode())),
        None => client.url(&format!("/{id}")),
    }
}

/// The bytes to upload: the file (or stdin) as it is, or sealed in a frame under `key`.
/// One buffer: the content is read straight after the frame header and encrypted in place.
fn content(file: Option<&Path>, key: Option<&Key>) -> Result<Vec<u8>> {
    let stdin_path = Path::new("-");
    let mut buf = match file.filter(|f| *f != stdin_path) {
        Some(path) => {
            let mut f =
                fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
            let len = f
                .metadata()
                .ok()
                .and_then(|m| usize::try_from(m.len()).ok())
                .unwrap_or(0);
            let mut buf = start(key, len);
            f.read_to_end(&mut buf)
                .with_context(|| format!("cannot read {}", path.display()))?;
            buf
        }
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                bail!("nothing to paste: give a FILE or pipe content to fpaste");
            }
            let mut buf = start(key, 0);
            stdin
                .lock()
                .read_to_end(&mut buf)
                .context("cannot read stdin")?;
            buf
        }
    };
    let header = if key.is_some() { crypto::HEADER_LEN } else { 0 };
    if buf.len() == header {
        bail!("nothing to paste: the input is empty");
    }
    if let Some(key) = key {
        crypto::seal(key, &mut buf)?;
    }
    Ok(buf)
}

fn start(key: Option<&Key>, len: usize) -> Vec<u8> {
    match key {
        Some(_) => crypto::frame_buffer(len),
        None => Vec::with_capacity(len),
    }
}

/// `fpaste get`: the content (decrypted and authenticated when the URL has its key) to
/// stdout or `-o`, or with `-m` the metadata.
///
/// # Errors
/// The server's refusal, a bad key or altered data (then nothing is written).
pub fn get(settings: &Settings, args: &GetArgs) -> Result<()> {
    let target = named(&args.target)?;
    let client = client_for(settings, &target)?;
    let mut headers = Vec::new();
    if let Some(password) = secret::password(&args.password)? {
        headers.push(("X-Paste-Password", password));
    }
    if args.meta {
        let doc = client.json(Method::GET, &format!("/{}", target.id), &headers, None)?;
        return if args.json {
            output::json(&doc)
        } else {
            output::fields(&doc)
        };
    }
    // A bad key is found before the paste is fetched (and perhaps burnt).
    let key = target.key.as_deref().map(Key::decode).transpose()?;
    let raw = format!("/{}/raw", target.id);
    let resp = match client.send(Method::GET, &raw, &headers, None) {
        // 409: a paste only a deliberate POST reads (and burns); this is that read.
        Err(e) if refused_with(&e) == Some(409) => {
            client.send(Method::POST, &raw, &headers, None)?
        }
        other => other?,
    };
    let burnt = resp.headers().contains_key("x-burn-after-read");
    let mut data = read_body(resp, "downloading")?;
    let plain: &[u8] = match &key {
        Some(key) => crypto::open(key, &mut data).map_err(|e| {
            let gone = if burnt {
                "; the paste was burn-after-read and is gone"
            } else {
                ""
            };
            anyhow::anyhow!("{e}{gone}")
        })?,
        None => {
            if crypto::is_frame(&data) {
                eprintln!("fpaste: the paste is encrypted; its URL with #key decrypts it");
            }
            &data
        }
    };
    match &args.output {
        Some(path) => {
            fs::write(path, plain).with_context(|| format!("cannot write {}", path.display()))?
        }
        None => output::bytes(plain)?,
    }
    if burnt {
        eprintln!("fpaste: burn-after-read: the paste is now deleted on the server");
    }
    Ok(())
}

/// The target, read from stdin for `-` (so the key need not be on the command line).
fn named(text: &str) -> Result<Target> {
    if text != "-" {
        return target::parse(text);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the URL from stdin")?;
    target::parse(&line)
}

/// A client for the target's server (a full URL) or the configured one.
fn client_for(settings: &Settings, target: &Target) -> Result<Client> {
    match &target.server {
        Some(server) => Client::for_server(settings, server),
        None => Client::new(settings),
    }
}

/// The owner token this machine kept for the target, as a header.
fn owner_token(client: &Client, id: &str) -> Result<Headers> {
    Ok(history::token_for(&client.server, id)?
        .map(|t| vec![("X-Owner-Token", t)])
        .unwrap_or_default())
}

/// `fpaste delete`: by certificate, or by the owner token kept at creation.
///
/// # Errors
/// The server's refusal ("Authentication required", "Paste not found", ...).
pub fn delete(settings: &Settings, args: &DeleteArgs) -> Result<()> {
    let target = named(&args.target)?;
    let client = client_for(settings, &target)?;
    let headers = owner_token(&client, &target.id)?;
    client.send(Method::DELETE, &format!("/{}", target.id), &headers, None)?;
    history::forget(&client.server, &target.id)?;
    output::line(&format!("Deleted: {}", target.id))
}

/// `fpaste update`: new content (encrypted under a new key unless `-E`), password,
/// display name or expiry.
///
/// # Errors
/// Nothing to change, unreadable input, or the server's refusal.
pub fn update(settings: &Settings, args: &UpdateArgs) -> Result<()> {
    let target = named(&args.target)?;
    let client = client_for(settings, &target)?;
    let mut headers = owner_token(&client, &target.id)?;
    let key = (args.file.is_some() && !args.no_encrypt).then(Key::generate);
    let body = match &args.file {
        Some(file) => Some(content(Some(file), key.as_ref())?),
        None => None,
    };
    if let Some(password) = secret::password(&args.password)? {
        headers.push(("X-Paste-Password", password));
    }
    let flags = [
        ("X-Remove-Password", args.remove_password),
        ("X-Remove-Display-Name", args.remove_name),
    ];
    headers.extend(
        flags
            .iter()
            .filter(|f| f.1)
            .map(|f| (f.0, "true".to_owned())),
    );
    if let Some(seconds) = args.extend {
        headers.push(("X-Extend-Expiry", seconds.to_string()));
    }
    if let Some(name) = &args.display_name {
        headers.push(("X-Display-Name", name.clone()));
    }
    if body.is_none() && headers.iter().all(|h| h.0 == "X-Owner-Token") {
        bail!("nothing to update: give new content, a password, a name or --extend");
    }
    let path = format!("/{}", target.id);
    let doc = client.json(Method::PUT, &path, &headers, body.as_deref())?;
    if args.json {
        output::json(&doc)
    } else if body.is_some() {
        output::line(&link(&client, &target.id, key.as_ref()))
    } else {
        output::line(&format!("Updated: {}", target.id))
    }
}

/// A string field of the server's answer.
fn field(doc: &Value, name: &str) -> Result<String> {
    doc.get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("the server's answer has no {name}"))
}
