//! `/pki` (feature `pki`): the CA's status, creation, certificate and CRL, issuing,
//! listing and revoking client certificates. Also what registration shares with them:
//! the opened CA, the request body, signing off the async workers, and recording an
//! issuance (store, trust cache, audit).

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};

use super::access::{self, pki_active};
use super::{AppState, blocking};
use crate::audit::{AuditEvent, IssueKind, Outcome};
use crate::http::error::ApiError;
use crate::http::request::{BodyError, Request, content_length, read_body};
use crate::http::response::{Body, bytes_with_type, json};
use crate::ids::Fingerprint;
use crate::pki::{self, Ca, Issued, Subject};
use crate::store::pki::{self as rows, CaRow, CertRow, Kind, NotRevoked};
use crate::store::pow::{Spend, paying};

/// Largest request body: a JSON object with a name and a signing request.
const MAX_BODY: u64 = 64 * 1024;
/// The name of a CA made without one.
pub const DEFAULT_CA_NAME: &str = "FlaskPaste CA";

/// The CA once opened (its key decrypted), and the one maker of CRLs at a time.
#[derive(Debug, Default)]
pub struct CaSlot {
    opened: tokio::sync::Mutex<Option<Arc<Ca>>>,
    crl: tokio::sync::Mutex<()>,
}

/// 404 unless the PKI is served.
///
/// # Errors
/// [`ApiError::PkiNotEnabled`].
pub fn require_active(state: &AppState) -> Result<(), ApiError> {
    if pki_active(&state.config()) {
        Ok(())
    } else {
        Err(ApiError::PkiNotEnabled)
    }
}

fn password(state: &AppState) -> Result<String, ApiError> {
    state
        .config()
        .pki_ca_password
        .as_ref()
        .map(|s| String::from_utf8_lossy(s.expose()).into_owned())
        .ok_or(ApiError::CaPasswordMissing)
}

fn failed(e: pki::Error) -> ApiError {
    match e {
        pki::Error::CsrParse | pki::Error::CsrSignature | pki::Error::CsrKeyType => {
            ApiError::BadCsr(e.to_string())
        }
        pki::Error::NoCommonName => ApiError::CommonNameRequired,
        pki::Error::BadCommonName => ApiError::CommonNameInvalid,
        pki::Error::WrongPassword => {
            tracing::error!("{e}");
            ApiError::CaLocked
        }
        pki::Error::Rcgen(_)
        | pki::Error::Pkcs8(_)
        | pki::Error::Der(_)
        | pki::Error::Pkcs5(_)
        | pki::Error::CaCert
        | pki::Error::P12(_)
        | pki::Error::Time => ApiError::IssuanceFailed(e.to_string()),
    }
}

/// The CA, opened with `pki_ca_password` on first use and kept.
///
/// # Errors
/// 404 without a CA, 500 without a password or with one that does not open the key.
pub async fn opened(state: &AppState) -> Result<Arc<Ca>, ApiError> {
    let mut slot = state.ca.opened.lock().await;
    if let Some(ca) = slot.as_ref() {
        return Ok(Arc::clone(ca));
    }
    let row = state
        .store
        .lookup(rows::ca)
        .await?
        .ok_or(ApiError::CaMissing)?;
    let password = password(state)?;
    let ca = blocking(move || pki::open_ca(&row.cert_pem, &row.key_pem, &password))
        .await?
        .map_err(failed)?;
    let ca = Arc::new(ca);
    *slot = Some(Arc::clone(&ca));
    Ok(ca)
}

/// Makes the CA named `cn` and its first CRL.
///
/// # Errors
/// 409 when there is one, 500 without a password.
pub async fn make_ca(state: &AppState, cn: String) -> Result<(Arc<Ca>, CaRow), ApiError> {
    let mut slot = state.ca.opened.lock().await;
    if state.store.lookup(rows::ca).await?.is_some() {
        return Err(ApiError::CaExists);
    }
    let password = password(state)?;
    let days = state.config().pki_ca_days;
    let name = cn.clone();
    let (ca, made) = blocking(move || pki::create_ca(&name, days, &password))
        .await?
        .map_err(failed)?;
    let row = CaRow {
        common_name: cn,
        cert_pem: made.cert_pem,
        key_pem: made.key_pem,
        fingerprint: made.fingerprint,
        created_at: made.created_at,
        expires_at: made.expires_at,
        crl_pem: None,
        crl_number: 0,
        crl_next: 0,
    };
    let kept = row.clone();
    if !state
        .store
        .write(move |c| rows::insert_ca(c, &kept))
        .await?
    {
        return Err(ApiError::CaExists);
    }
    let ca = Arc::new(ca);
    *slot = Some(Arc::clone(&ca));
    drop(slot);
    refresh_crl(state, &ca).await?;
    Ok((ca, row))
}

/// Makes and keeps a new CRL of every revoked certificate; returns it.
///
/// # Errors
/// Signing or storage failed.
async fn refresh_crl(state: &AppState, ca: &Arc<Ca>) -> Result<String, ApiError> {
    let _one = state.ca.crl.lock().await;
    let (number, revoked) = state
        .store
        .read(|c| {
            let number = rows::ca(c)?.map_or(0, |r| r.crl_number);
            Ok((number + 1, rows::revoked(c)?))
        })
        .await?;
    let signer = Arc::clone(ca);
    let serial = u64::try_from(number).unwrap_or(1);
    let pem = blocking(move || signer.crl(serial, &revoked))
        .await?
        .map_err(failed)?;
    // Made again at half its life: an expired CRL makes nginx refuse every certificate.
    let next = crate::clock::now() + pki::CRL_DAYS * 86_400 / 2;
    let kept = pem.clone();
    state
        .store
        .write(move |c| rows::set_crl(c, &kept, number, next))
        .await?;
    Ok(pem)
}

/// The request body as JSON: `{}` when empty.
///
/// # Errors
/// 400 for a body that is not JSON, 413 past [`MAX_BODY`], 408 when too slow.
pub async fn json_body(req: &mut Request<'_>) -> Result<Value, ApiError> {
    let too_large = |size| ApiError::TooLarge {
        size,
        max_size: MAX_BODY,
        authenticated: false,
    };
    let declared = content_length(req.headers());
    if let Some(size) = declared.filter(|&n| n > MAX_BODY) {
        return Err(too_large(size));
    }
    let raw: Bytes = read_body(req.take_body()?, MAX_BODY, declared)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { received } => too_large(received),
            BodyError::Read(_) => ApiError::InvalidJson,
            BodyError::Timeout => ApiError::RequestTimeout,
        })?;
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(&raw).map_err(|_| ApiError::InvalidJson)
}

/// The `common_name` of a body, checked: 1 to 64 characters, no control characters.
///
/// # Errors
/// 400 for one that is not a fitting string.
pub fn common_name(body: &Value) -> Result<Option<String>, ApiError> {
    match body.get("common_name") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(cn)) => {
            let cn = cn.trim();
            if pki::fits_common_name(cn) {
                Ok(Some(cn.to_owned()))
            } else {
                Err(ApiError::CommonNameInvalid)
            }
        }
        Some(_) => Err(ApiError::CommonNameInvalid),
    }
}

/// The `csr` of a body, if any.
///
/// # Errors
/// 400 for one that is not a string.
pub fn csr(body: &Value) -> Result<Option<String>, ApiError> {
    match body.get("csr") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(pem)) => Ok(Some(pem.clone())),
        Some(_) => Err(ApiError::BadCsr("csr must be a PEM string".into())),
    }
}

/// Issues a certificate named `cn` (or as the signing request asks) for a new key or for
/// `csr`, off the async workers.
///
/// # Errors
/// 400 for a bad signing request or no name, 500 when signing fails.
pub async fn sign(
    state: &AppState,
    ca: Arc<Ca>,
    csr: Option<String>,
    cn: Option<String>,
) -> Result<Issued, ApiError> {
    let days = state.config().pki_cert_days;
    blocking(move || {
        let subject = csr.as_deref().map_or(Subject::NewKey, Subject::Csr);
        pki::issue(&ca, subject, cn.as_deref(), days)
    })
    .await?
    .map_err(failed)
}

/// Records an issued certificate, spending `spend` in the same write; forgets cached
/// standings and writes the audit event. Returns whether it is the admin's.
///
/// # Errors
/// The proof-of-work nonce was spent meanwhile; storage failed.
pub async fn record(
    state: &AppState,
    req: &Request<'_>,
    issued: &Issued,
    kind: Kind,
    spend: Option<Spend>,
) -> Result<bool, ApiError> {
    let cn = issued.common_name.as_str();
    let caller = access::caller(state, req.ctx).await?;
    let row = CertRow {
        serial: issued.serial.clone(),
        common_name: cn.to_owned(),
        fingerprint: issued.fingerprint.clone(),
        issued_to: caller.identity().map(|f| f.as_str().to_owned()),
        created_at: issued.created_at,
        expires_at: issued.expires_at,
        revoked_at: None,
        admin: false,
    };
    let admin = state
        .store
        .write(move |c| {
            paying(c, spend.as_ref(), |c| {
                Ok(Ok(rows::insert_cert(c, &row, kind)?))
            })
        })
        .await?
        .map_err(|r| super::upload::refused(r, &state.config()))?;
    state.standings.forget();
    state.metrics.certificate_issued();
    if let Some(fp) = Fingerprint::parse(&issued.fingerprint) {
        let event = AuditEvent::CertIssued {
            kind: match kind {
                Kind::Registration => IssueKind::Registration,
                Kind::Issue => IssueKind::Issue,
            },
            common_name: cn,
            fingerprint: &fp,
            serial: &issued.serial,
            expires_at: issued.expires_at,
        };
        state
            .audit
            .record(event, Outcome::Success, caller.identity(), &req.ctx.client);
    }
    Ok(admin)
}

/// `GET /pki`: whether the PKI is served, and the CA if there is one.
///
/// # Errors
/// Storage failed.
pub async fn status(state: &AppState) -> Result<Response<Body>, ApiError> {
    if !pki_active(&state.config()) {
        return Ok(json(StatusCode::OK, &json!({"enabled": false})));
    }
    let doc = match state.store.lookup(rows::ca).await? {
        None => json!({"enabled": true, "ca_exists": false,
                       "hint": "POST /pki/ca to generate CA"}),
        Some(ca) => json!({
            "enabled": true,
            "ca_exists": true,
            "common_name": ca.common_name,
            "fingerprint_sha1": ca.fingerprint,
            "created_at": ca.created_at,
            "expires_at": ca.expires_at,
            "key_algorithm": pki::KEY_ALGORITHM,
        }),
    };
    Ok(json(StatusCode::OK, &doc))
}

/// `POST /pki/ca`: makes the CA, once.
///
/// # Errors
/// 404 PKI off, 409 when there is one, 500 without a password.
pub async fn create_ca(
    state: &AppState,
    req: &mut Request<'_>,
) -> Result<Response<Body>, ApiError> {
    require_active(state)?;
    let body = json_body(req).await?;
    let cn = common_name(&body)?.unwrap_or_else(|| DEFAULT_CA_NAME.to_owned());
    let (_, ca) = make_ca(state, cn).await?;
    let prefix = &state.config().url_prefix;
    Ok(json(
        StatusCode::CREATED,
        &json!({
            "message": "CA generated",
            "common_name": ca.common_name,
            "fingerprint_sha1": ca.fingerprint,
            "created_at": ca.created_at,
            "expires_at": ca.expires_at,
            "download": format!("{prefix}/pki/ca.crt"),
        }),
    ))
}

fn pem(text: String) -> Response<Body> {
    bytes_with_type(
        StatusCode::OK,
        Bytes::from(text),
        HeaderValue::from_static("application/x-pem-file"),
    )
}

/// `GET /pki/ca.crt`: the CA certificate, PEM.
///
/// # Errors
/// 404 PKI off or no CA.
pub async fn ca_cert(state: &AppState) -> Result<Response<Body>, ApiError> {
    require_active(state)?;
    let ca = state
        .store
        .lookup(rows::ca)
        .await?
        .ok_or(ApiError::CaMissing)?;
    Ok(pem(ca.cert_pem))
}

/// `GET /pki/crl`: the CRL, PEM; made again when it is past half its life.
///
/// # Errors
/// 404 PKI off or no CA; 500 when it must be made and the CA cannot be opened.
pub async fn crl(state: &AppState) -> Result<Response<Body>, ApiError> {
    require_active(state)?;
    let row = state
        .store
        .lookup(rows::ca)
        .await?
        .ok_or(ApiError::CaMissing)?;
    let text = match row.crl_pem {
        Some(text) if row.crl_next > crate::clock::now() => text,
        _ => refresh_crl(state, &opened(state).await?).await?,
    };
    let mut resp = pem(text);
    resp.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline; filename=\"crl.pem\""),
    );
    Ok(resp)
}

/// `POST /pki/issue`: a certificate for a new key (key included) or for a signing request
/// (named by `common_name`, else by the request's subject).
///
/// # Errors
/// 400 without a name or with a bad request, 404 PKI off or no CA, 500.
pub async fn issue(state: &AppState, req: &mut Request<'_>) -> Result<Response<Body>, ApiError> {
    require_active(state)?;
    let body = json_body(req).await?;
    let cn = common_name(&body)?;
    let csr = csr(&body)?;
    if cn.is_none() && csr.is_none() {
        return Err(ApiError::CommonNameRequired);
    }
    let ca = opened(state).await?;
    let issued = sign(state, ca, csr, cn).await?;
    record(state, req, &issued, Kind::Issue, None).await?;
    let mut doc = json!({
        "message": "Certificate issued",
        "serial": issued.serial,
        "common_name": issued.common_name,
        "fingerprint_sha1": issued.fingerprint,
        "created_at": issued.created_at,
        "expires_at": issued.expires_at,
        "certificate_pem": issued.cert_pem,
    });
    if let Some((key_pem, _)) = &issued.key {
        doc["private_key_pem"] = json!(key_pem);
    }
    Ok(json(StatusCode::CREATED, &doc))
}

/// `GET /pki/certs`: the certificates the caller asked for or holds; none for anonymous.
///
/// # Errors
/// 404 PKI off; storage failed.
pub async fn certs(state: &AppState, req: &mut Request<'_>) -> Result<Response<Body>, ApiError> {
    require_active(state)?;
    let caller = access::caller(state, req.ctx).await?;
    let rows = match caller.identity() {
        None => Vec::new(),
        Some(me) => {
            let me = me.as_str().to_owned();
            state.store.read(move |c| rows::certs_of(c, &me)).await?
        }
    };
    let now = crate::clock::now();
    let certificates: Vec<Value> = rows
        .iter()
        .map(|r| {
            let status = if r.revoked_at.is_some() {
                "revoked"
            } else if r.expires_at <= now {
                "expired"
            } else {
                "valid"
            };
            json!({
                "serial": r.serial,
                "common_name": r.common_name,
                "fingerprint_sha1": r.fingerprint,
                "created_at": r.created_at,
                "expires_at": r.expires_at,
                "status": status,
                "issued_to": r.issued_to,
            })
        })
        .collect();
    let count = certificates.len();
    Ok(json(
        StatusCode::OK,
        &json!({"certificates": certificates, "count": count}),
    ))
}

/// `POST /pki/revoke/{serial}`: by whoever asked for the certificate or holds it.
///
/// # Errors
/// 401 anonymous, 404 unknown (or PKI off), 403 someone else's, 409 revoked already.
pub async fn revoke(
    state: &AppState,
    req: &mut Request<'_>,
    serial: &str,
) -> Result<Response<Body>, ApiError> {
    require_active(state)?;
    let caller = access::caller(state, req.ctx).await?;
    let me = caller.identity().ok_or(ApiError::AuthRequired)?.clone();
    let serial = serial.to_ascii_lowercase();
    let lookup = serial.clone();
    let cert = state
        .store
        .lookup(move |c| rows::cert(c, &lookup))
        .await?
        .ok_or(ApiError::CertNotFound)?;
    let mine = cert.fingerprint == me.as_str() || cert.issued_to.as_deref() == Some(me.as_str());
    if !mine {
        return Err(ApiError::PermissionDenied);
    }
    let now = crate::clock::now();
    let target = serial.clone();
    match state
        .store
        .write(move |c| rows::revoke(c, &target, now))
        .await?
    {
        Ok(()) => {}
        Err(NotRevoked::NotFound) => return Err(ApiError::CertNotFound),
        Err(NotRevoked::Already) => return Err(ApiError::CertAlreadyRevoked),
    }
    state.standings.forget();
    state.metrics.certificate_revoked();
    if let Some(fp) = Fingerprint::parse(&cert.fingerprint) {
        let event = AuditEvent::CertRevoked {
            serial: &serial,
            fingerprint: &fp,
        };
        state
            .audit
            .record(event, Outcome::Success, Some(&me), &req.ctx.client);
    }
    // The revocation stands either way; a CRL that cannot be made now is made on request.
    if let Err(e) = async { refresh_crl(state, &opened(state).await?).await }.await {
        tracing::warn!("revoked {serial}, but the CRL could not be made again: {e:?}");
    }
    Ok(json(
        StatusCode::OK,
        &json!({"message": "Certificate revoked", "serial": serial}),
    ))
}
