//! `POST /register` (feature `pki`): anyone who did the proof-of-work gets a client
//! certificate, as a PKCS#12 bundle with its new key, or (for a signing request) as PEM.
//! The CA is made on the first registration; the first registered identity is the admin.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use super::pki::{self, DEFAULT_CA_NAME};
use super::{AppState, blocking, challenge};
use crate::http::error::ApiError;
use crate::http::request::Request;
use crate::http::response::{Body, bytes_with_type};
use crate::store::pki::Kind;

/// `POST /register`: proof-of-work of `register_pow` bits, an optional `common_name` (else
/// the signing request's, else a random UUID) and an optional `csr`.
///
/// # Errors
/// 400 proof-of-work or a bad request, 404 PKI off, 500 without `pki_ca_password`.
pub async fn register(state: &AppState, req: &mut Request<'_>) -> Result<Response<Body>, ApiError> {
    pki::require_active(state)?;
    let spend = challenge::demand_at(state, req.headers(), state.config().register_pow).await?;
    let body = pki::json_body(req).await?;
    let csr = pki::csr(&body)?;
    // Named by the body, else by the signing request, else by a random UUID.
    let cn = pki::common_name(&body)?.or_else(|| csr.is_none().then(crate::ids::uuid_v4));
    let from_csr = csr.is_some();
    let ca = match pki::opened(state).await {
        Ok(ca) => ca,
        Err(ApiError::CaMissing) => match pki::make_ca(state, DEFAULT_CA_NAME.to_owned()).await {
            Ok((ca, _)) => ca,
            // Another registration made it meanwhile.
            Err(ApiError::CaExists) => pki::opened(state).await?,
            Err(e) => return Err(e),
        },
        Err(e) => return Err(e),
    };
    let issued = pki::sign(state, ca.clone(), csr, cn).await?;
    pki::record(state, req, &issued, Kind::Registration, spend).await?;
    let mut resp = if from_csr {
        let chain = format!("{}{}", issued.cert_pem, ca.cert_pem());
        bytes_with_type(
            StatusCode::OK,
            Bytes::from(chain),
            HeaderValue::from_static("application/x-pem-file"),
        )
    } else {
        let bundled = issued.clone();
        let p12 = blocking(move || ca.p12(&bundled))
            .await?
            .map_err(|e| ApiError::IssuanceFailed(e.to_string()))?;
        let mut resp = bytes_with_type(
            StatusCode::OK,
            Bytes::from(p12),
            HeaderValue::from_static("application/x-pkcs12"),
        );
        resp.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"client.p12\""),
        );
        resp
    };
    let headers = resp.headers_mut();
    headers.insert(
        "x-fingerprint-sha1",
        HeaderValue::try_from(issued.fingerprint.as_str())
            .map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    headers.insert(
        "x-certificate-expires",
        HeaderValue::from(issued.expires_at),
    );
    Ok(resp)
}
