//! The Prometheus registry and the daemon's metric families. Every label value comes from a
//! fixed set (an enum here, a route template, a status code the daemon answers with), so no
//! request can make a new series: an unknown method is `_OTHER`, an unknown path is one
//! route label. Recording is a few atomic operations and one map lookup; with
//! `metrics_listen` empty nothing is recorded at all.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::security::pow::Rejection;

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// A request's route: its template (the label) and the route table's index for it, which
/// alone is hashed and compared, so recording a request hashes a few integers.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    index: u16,
    template: &'static str,
}

impl Route {
    /// The route of a request whose path no route has.
    pub const UNMATCHED: Route = Route {
        index: u16::MAX,
        template: "unmatched",
    };

    /// The route at `index` of the route table, whose template is `template`.
    #[must_use]
    pub fn new(index: usize, template: &'static str) -> Route {
        Route {
            index: u16::try_from(index).unwrap_or(u16::MAX - 1),
            template,
        }
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Route) -> bool {
        self.index == other.index
    }
}

impl Eq for Route {}

impl std::hash::Hash for Route {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.index.hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.template)
    }
}

/// Label enums: each value is written as its fixed text.
macro_rules! label_values {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// The label value.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl EncodeLabelValue for $name {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
                encoder.write_str(self.as_str())
            }
        }
    };
}

label_values! {
    /// A request's method; anything but the registered ones is `_OTHER`.
    Method {
        Get => "GET", Head => "HEAD", Post => "POST", Put => "PUT", Delete => "DELETE",
        Options => "OPTIONS", Patch => "PATCH", Connect => "CONNECT", Trace => "TRACE",
        Other => "_OTHER",
    }
}

impl Method {
    /// The label of `method`.
    #[must_use]
    pub fn of(method: &http::Method) -> Method {
        match *method {
            http::Method::GET => Method::Get,
            http::Method::HEAD => Method::Head,
            http::Method::POST => Method::Post,
            http::Method::PUT => Method::Put,
            http::Method::DELETE => Method::Delete,
            http::Method::OPTIONS => Method::Options,
            http::Method::PATCH => Method::Patch,
            http::Method::CONNECT => Method::Connect,
            http::Method::TRACE => Method::Trace,
            _ => Method::Other,
        }
    }
}

label_values! {
    /// How far the creator of a paste or short URL was trusted.
    Trust { Anonymous => "anonymous", Untrusted => "untrusted", Trusted => "trusted" }
}

label_values! {
    /// Why a paste or short URL went away.
    Reason { Owner => "owner", Admin => "admin", Expired => "expired", Burned => "burned" }
}

label_values! {
    /// What was created or deleted.
    Kind { Paste => "paste", ShortUrl => "short_url" }
}

label_values! {
    /// Why a proof-of-work was not accepted.
    PowFailure {
        Missing => "missing", Malformed => "malformed", Tampered => "tampered",
        Expired => "expired", TooEasy => "too_easy", Spent => "spent",
        NotANumber => "not_a_number", Wrong => "wrong",
    }
}

impl From<Rejection> for PowFailure {
    fn from(r: Rejection) -> PowFailure {
        match r {
            Rejection::Malformed => PowFailure::Malformed,
            Rejection::Tampered => PowFailure::Tampered,
            Rejection::Expired => PowFailure::Expired,
            Rejection::TooEasy => PowFailure::TooEasy,
            Rejection::Spent => PowFailure::Spent,
            Rejection::NotANumber => PowFailure::NotANumber,
            Rejection::Wrong => PowFailure::Wrong,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    method: Method,
    route: Route,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TrustLabels {
    trust: Trust,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabels {
    reason: Reason,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PowLabels {
    reason: PowFailure,
}

type Histograms = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// Request durations from 100 µs to about 6.5 s, in steps of four.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_1, 4.0, 9))
}

struct Families {
    registry: Registry,
    durations: Histograms,
    in_flight: Gauge,
    created: [Family<TrustLabels, Counter>; 2],
    deleted: [Family<ReasonLabels, Counter>; 2],
    pow_failures: Family<PowLabels, Counter>,
    rate_limited: Counter,
    duplicates: Counter,
    quota_exceeded: Counter,
    certificates_issued: Counter,
    certificates_revoked: Counter,
    stored_pastes: Gauge,
    stored_bytes: Gauge,
    stored_short_urls: Gauge,
}

/// The daemon's metrics; cheap to clone. [`Metrics::disabled`] records nothing.
#[derive(Clone, Default)]
pub struct Metrics(Option<Arc<Families>>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Metrics(enabled)"
        } else {
            "Metrics(disabled)"
        })
    }
}

impl Metrics {
    /// Metrics that record nothing (no `metrics_listen`).
    #[must_use]
    pub fn disabled() -> Metrics {
        Metrics(None)
    }

    /// A registry with every family, and `flaskpaste_build_info` naming `features`.
    #[must_use]
    pub fn new(features: &str) -> Metrics {
        let mut registry = Registry::default();
        registry.register(
            "flaskpaste_build",
            "The running build: version and cargo features",
            Info::new(vec![
                ("version", env!("CARGO_PKG_VERSION").to_owned()),
                ("features", features.to_owned()),
            ]),
        );
        let durations: Histograms = Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "flaskpaste_http_request_duration",
            "Time from a request's arrival to its response head, by method, route template \
             and status",
            Unit::Seconds,
            durations.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "flaskpaste_http_requests_in_flight",
            "Requests being handled now",
            in_flight.clone(),
        );
        let created = [Family::default(), Family::default()];
        let deleted = [Family::default(), Family::default()];
        for (i, name, help) in [
            (Kind::Paste, "flaskpaste_pastes", "Pastes"),
            (Kind::ShortUrl, "flaskpaste_short_urls", "Short URLs"),
        ]
        .map(|(kind, name, help)| (kind as usize, name, help))
        {
            registry.register(
                format!("{name}_created"),
                format!("{help} created, by the creator's trust level"),
                created[i].clone(),
            );
            registry.register(
                format!("{name}_deleted"),
                format!("{help} deleted, by reason: owner, admin, expired (pastes also burned)"),
                deleted[i].clone(),
            );
        }
        let pow_failures = Family::default();
        registry.register(
            "flaskpaste_pow_failures",
            "Creations refused for their proof-of-work, by reason",
            pow_failures.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "flaskpaste_rate_limited",
            "Creations refused by the per-client rate limit (429)",
            rate_limited.clone(),
        );
        let duplicates = Counter::default();
        registry.register(
            "flaskpaste_duplicates_rejected",
            "Creations refused as too frequent duplicate content (429)",
            duplicates.clone(),
        );
        let quota_exceeded = Counter::default();
        registry.register(
            "flaskpaste_quota_exceeded",
            "Creations and updates refused by max_storage or max_storage_per_identity (507)",
            quota_exceeded.clone(),
        );
        let certificates_issued = Counter::default();
        registry.register(
            "flaskpaste_certificates_issued",
            "Client certificates issued (by /pki/issue and /register)",
            certificates_issued.clone(),
        );
        let certificates_revoked = Counter::default();
        registry.register(
            "flaskpaste_certificates_revoked",
            "Client certificates revoked",
            certificates_revoked.clone(),
        );
        let stored_pastes = Gauge::default();
        registry.register(
            "flaskpaste_stored_pastes",
            "Live pastes in the database (refreshed by the expiry sweep)",
            stored_pastes.clone(),
        );
        let stored_bytes = Gauge::default();
        registry.register_with_unit(
            "flaskpaste_stored_paste",
            "Content bytes of the live pastes (refreshed by the expiry sweep)",
            Unit::Bytes,
            stored_bytes.clone(),
        );
        let stored_short_urls = Gauge::default();
        registry.register(
            "flaskpaste_stored_short_urls",
            "Live short URLs in the database (refreshed by the expiry sweep)",
            stored_short_urls.clone(),
        );
        registry.register_collector(Box::new(Process));
        // Every series of a fixed label set exists from the start, at zero: a scraper sees
        // the whole family, and rates start from a known value.
        for trust in [Trust::Anonymous, Trust::Untrusted, Trust::Trusted] {
            for family in &created {
                drop(family.get_or_create(&TrustLabels { trust }));
            }
        }
        for (i, family) in deleted.iter().enumerate() {
            for reason in [
                Reason::Owner,
                Reason::Admin,
                Reason::Expired,
                Reason::Burned,
            ] {
                if reason != Reason::Burned || i == Kind::Paste as usize {
                    drop(family.get_or_create(&ReasonLabels { reason }));
                }
            }
        }
        for reason in [
            PowFailure::Missing,
            PowFailure::Malformed,
            PowFailure::Tampered,
            PowFailure::Expired,
            PowFailure::TooEasy,
            PowFailure::Spent,
            PowFailure::NotANumber,
            PowFailure::Wrong,
        ] {
            drop(pow_failures.get_or_create(&PowLabels { reason }));
        }
        Metrics(Some(Arc::new(Families {
            registry,
            durations,
            in_flight,
            created,
            deleted,
            pow_failures,
            rate_limited,
            duplicates,
            quota_exceeded,
            certificates_issued,
            certificates_revoked,
            stored_pastes,
            stored_bytes,
            stored_short_urls,
        })))
    }

    /// Whether anything is recorded.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.0.is_some()
    }

    /// Counts a request as in flight until the guard is dropped.
    #[must_use]
    pub fn in_flight(&self) -> InFlight<'_> {
        let gauge = self.0.as_ref().map(|m| &m.in_flight);
        if let Some(g) = gauge {
            g.inc();
        }
        InFlight(gauge)
    }

    /// Records a finished request.
    pub fn request(&self, method: Method, route: Route, status: u16, took: Duration) {
        if let Some(m) = &self.0 {
            let labels = RequestLabels {
                method,
                route,
                status,
            };
            m.durations
                .get_or_create(&labels)
                .observe(took.as_secs_f64());
        }
    }

    /// Counts a paste or short URL created by a client of `trust`.
    pub fn created(&self, kind: Kind, trust: Trust) {
        if let Some(m) = &self.0 {
            m.created[kind as usize]
                .get_or_create(&TrustLabels { trust })
                .inc();
        }
    }

    /// Counts `n` pastes or short URLs deleted for `reason`.
    pub fn deleted(&self, kind: Kind, reason: Reason, n: u64) {
        if let Some(m) = &self.0 {
            m.deleted[kind as usize]
                .get_or_create(&ReasonLabels { reason })
                .inc_by(n);
        }
    }

    /// Counts a proof-of-work that was missing or not accepted.
    pub fn pow_failure(&self, reason: PowFailure) {
        if let Some(m) = &self.0 {
            m.pow_failures.get_or_create(&PowLabels { reason }).inc();
        }
    }

    /// Counts a creation refused by the rate limit.
    pub fn rate_limited(&self) {
        if let Some(m) = &self.0 {
            m.rate_limited.inc();
        }
    }

    /// Counts a creation or update refused by a storage quota.
    pub fn quota_exceeded(&self) {
        if let Some(m) = &self.0 {
            m.quota_exceeded.inc();
        }
    }

    /// Counts a creation refused as a duplicate.
    pub fn duplicate(&self) {
        if let Some(m) = &self.0 {
            m.duplicates.inc();
        }
    }

    /// Counts an issued certificate.
    pub fn certificate_issued(&self) {
        if let Some(m) = &self.0 {
            m.certificates_issued.inc();
        }
    }

    /// Counts a revoked certificate.
    pub fn certificate_revoked(&self) {
        if let Some(m) = &self.0 {
            m.certificates_revoked.inc();
        }
    }

    /// Sets what the database holds: live pastes, their bytes, live short URLs.
    pub fn stored(&self, pastes: i64, bytes: i64, short_urls: i64) {
        if let Some(m) = &self.0 {
            m.stored_pastes.set(pastes);
            m.stored_bytes.set(bytes);
            m.stored_short_urls.set(short_urls);
        }
    }

    /// Every metric in the Prometheus text format (see [`CONTENT_TYPE`]); empty when
    /// disabled.
    #[must_use]
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Some(m) = &self.0 {
            prometheus_client::encoding::prometheus_text::encode(&mut text, &m.registry)
                .expect("writing to a String cannot fail");
        }
        text
    }
}

/// Holds a request's place in `flaskpaste_http_requests_in_flight`.
#[derive(Debug)]
pub struct InFlight<'a>(Option<&'a Gauge>);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(g) = &self.0 {
            g.dec();
        }
    }
}

/// The process's memory and open files, read from `/proc` at each scrape.
#[derive(Debug)]
struct Process;

impl Process {
    /// A `/proc/self/status` field in bytes (the file gives kB).
    fn status_bytes(status: &str, field: &str) -> Option<i64> {
        let line = status.lines().find(|l| l.starts_with(field))?;
        let kb: i64 = line[field.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        kb.checked_mul(1024)
    }

    /// The soft limit on open files, from `/proc/self/limits`.
    fn max_fds(limits: &str) -> Option<i64> {
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        line["Max open files".len()..]
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }
}

impl Collector for Process {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
        let open = std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| i64::try_from(d.count()).unwrap_or(i64::MAX));
        let gauges = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                Process::status_bytes(&status, "VmRSS:"),
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                Process::status_bytes(&status, "VmSize:"),
            ),
            ("process_open_fds", "Number of open file descriptors", open),
            (
                "process_max_fds",
                "Maximum number of open file descriptors",
                Process::max_fds(&limits),
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(value) = value {
                let gauge = ConstGauge::new(value);
                let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
                gauge.encode(metric)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_metrics_render_nothing() {
        let m = Metrics::disabled();
        m.request(Method::Get, Route::UNMATCHED, 200, Duration::from_millis(1));
        m.created(Kind::Paste, Trust::Anonymous);
        let _guard = m.in_flight();
        assert!(m.render().is_empty());
    }

    #[test]
    fn recorded_values_are_rendered_with_their_labels() {
        let m = Metrics::new("pki systemd");
        {
            let _guard = m.in_flight();
            assert!(
                m.render()
                    .contains("flaskpaste_http_requests_in_flight 1\n")
            );
        }
        m.request(
            Method::Other,
            Route::new(3, "/<id>/raw"),
            404,
            Duration::from_micros(150),
        );
        m.created(Kind::ShortUrl, Trust::Trusted);
        m.deleted(Kind::Paste, Reason::Burned, 2);
        m.pow_failure(Rejection::Spent.into());
        m.stored(3, 4096, 1);
        let text = m.render();
        for line in [
            "flaskpaste_http_requests_in_flight 0\n",
            "flaskpaste_build_info{version=\"",
            "features=\"pki systemd\"} 1\n",
            "flaskpaste_http_request_duration_seconds_bucket{method=\"_OTHER\",\
             route=\"/<id>/raw\",status=\"404\",le=\"0.0004\"} 1\n",
            "flaskpaste_http_request_duration_seconds_bucket{method=\"_OTHER\",\
             route=\"/<id>/raw\",status=\"404\",le=\"0.0001\"} 0\n",
            "flaskpaste_short_urls_created_total{trust=\"trusted\"} 1\n",
            "flaskpaste_pastes_deleted_total{reason=\"burned\"} 2\n",
            "flaskpaste_pow_failures_total{reason=\"spent\"} 1\n",
            "flaskpaste_stored_pastes 3\n",
            "flaskpaste_stored_paste_bytes 4096\n",
            "flaskpaste_stored_short_urls 1\n",
            "# TYPE flaskpaste_rate_limited_total counter\n",
            "process_open_fds ",
            "process_resident_memory_bytes ",
        ] {
            assert!(text.contains(line), "{line:?} missing from\n{text}");
        }
    }

    #[test]
    fn proc_fields_are_parsed() {
        let status = "Name:\tx\nVmSize:\t  12345 kB\nVmRSS:\t    100 kB\n";
        assert_eq!(Process::status_bytes(status, "VmRSS:"), Some(102_400));
        assert_eq!(Process::status_bytes(status, "VmSize:"), Some(12_641_280));
        assert_eq!(Process::status_bytes(status, "VmSwap:"), None);
        let limits = "Limit Soft Limit Hard Limit Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(Process::max_fds(limits), Some(1024));
        assert_eq!(
            Process::max_fds("Max open files  unlimited  unlimited files"),
            None
        );
    }
}
