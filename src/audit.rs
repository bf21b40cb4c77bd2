//! The audit trail: certificates issued and revoked, refused certificates and admin
//! deletions, each an `AuditEvent` turned into one JSON object and sent to syslog (facility
//! authpriv), the main log, or nowhere (`audit`). Callers pass events, never text; recording
//! never blocks or fails a request.

#[cfg(feature = "syslog")]
mod socket;

use std::fmt::Display;
use std::time::{Duration, UNIX_EPOCH};

use serde::{Serialize, Serializer};

use crate::config::{AuditTarget, Config};
use crate::ids::Fingerprint;

/// Something an auditor must be able to find later. Its `details` are the variant's fields.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(untagged)]
pub enum AuditEvent<'a> {
    /// `cert_issued`: a certificate was made.
    CertIssued {
        /// Registration by the client itself, or issue by an administrator.
        #[serde(rename = "type")]
        kind: IssueKind,
        /// The certificate's subject common name.
        common_name: &'a str,
        /// The certificate's SHA-1 fingerprint.
        #[serde(serialize_with = "display")]
        fingerprint: &'a Fingerprint,
        /// The certificate's serial number, as the API shows it.
        serial: &'a str,
        /// End of validity, in Unix seconds.
        expires_at: i64,
    },
    /// `cert_revoked`: a certificate was revoked.
    CertRevoked {
        /// The certificate's serial number, as the API shows it.
        serial: &'a str,
        /// The certificate's SHA-1 fingerprint.
        #[serde(serialize_with = "display")]
        fingerprint: &'a Fingerprint,
    },
    /// `auth_failure`: a client presented a certificate that no longer counts.
    AuthFailure {
        /// The presented certificate's SHA-1 fingerprint.
        #[serde(serialize_with = "display")]
        fingerprint: &'a Fingerprint,
        /// Why it was refused.
        reason: AuthFailureReason,
    },
    /// `admin_delete`: an administrator deleted something they do not own.
    AdminDelete {
        /// A paste or a short URL.
        what: Deleted,
        /// Its id.
        id: &'a str,
        /// The owner's certificate fingerprint, if it had an owner.
        owner: Option<&'a str>,
    },
}

/// How a certificate came to be issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// A client registered itself.
    Registration,
    /// An administrator issued it.
    Issue,
}

/// Why a certificate was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthFailureReason {
    Revoked,
    Expired,
}

/// What an administrator deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Deleted {
    Paste,
    ShortUrl,
}

/// Whether the audited action succeeded; failures are logged as warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

impl AuditEvent<'_> {
    /// The event's name in the `event` field.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            AuditEvent::CertIssued { .. } => "cert_issued",
            AuditEvent::CertRevoked { .. } => "cert_revoked",
            AuditEvent::AuthFailure { .. } => "auth_failure",
            AuditEvent::AdminDelete { .. } => "admin_delete",
        }
    }
}

impl Outcome {
    fn level(self) -> &'static str {
        match self {
            Outcome::Success => "INFO",
            Outcome::Failure => "WARNING",
        }
    }
}

/// One audit record, in the field order of the reference's log lines.
#[derive(Serialize)]
struct Record<'a> {
    #[serde(serialize_with = "display")]
    time: humantime::Rfc3339Timestamp,
    level: &'static str,
    logger: &'static str,
    event: &'static str,
    outcome: Outcome,
    #[serde(serialize_with = "display_opt")]
    client_id: Option<&'a Fingerprint>,
    client_ip: &'a str,
    details: AuditEvent<'a>,
}

fn display<T: Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

fn display_opt<T: Display, S: Serializer>(value: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => s.collect_str(value),
        None => s.serialize_none(),
    }
}

/// The JSON text of one event at `now` (Unix seconds).
fn render(
    event: AuditEvent<'_>,
    outcome: Outcome,
    client_id: Option<&Fingerprint>,
    client_ip: &str,
    now: i64,
) -> String {
    let time = UNIX_EPOCH + Duration::from_secs(u64::try_from(now).unwrap_or(0));
    let record = Record {
        time: humantime::format_rfc3339_seconds(time),
        level: outcome.level(),
        logger: "app.audit",
        event: event.name(),
        outcome,
        client_id,
        client_ip,
        details: event,
    };
    serde_json::to_string(&record).expect("an audit record is strings, numbers and null")
}

/// Where recorded events go (`audit`); a reload may point them elsewhere.
#[derive(Debug)]
pub struct Audit {
    sink: arc_swap::ArcSwap<Sink>,
    /// The target the sink was made for.
    target: std::sync::Mutex<AuditTarget>,
}

#[derive(Debug)]
enum Sink {
    Off,
    Log,
    #[cfg(feature = "syslog")]
    Syslog(socket::Socket),
}

impl Audit {
    /// The sink `config` asks for. Connects nothing yet; call it after `logging::init`,
    /// since a build without the `syslog` feature warns here that `audit = "syslog"`
    /// falls back to the main log.
    #[must_use]
    pub fn new(config: &Config) -> Audit {
        Audit {
            sink: arc_swap::ArcSwap::from_pointee(sink(config)),
            target: std::sync::Mutex::new(config.audit),
        }
    }

    /// An audit trail that records nothing.
    #[must_use]
    pub fn off() -> Audit {
        Audit {
            sink: arc_swap::ArcSwap::from_pointee(Sink::Off),
            target: std::sync::Mutex::new(AuditTarget::Off),
        }
    }

    /// Sends later events where `config.audit` says. An unchanged target keeps its sink
    /// (and its syslog socket).
    pub fn reconfigure(&self, config: &Config) {
        let mut target = self
            .target
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *target != config.audit {
            self.sink.store(std::sync::Arc::new(sink(config)));
            *target = config.audit;
        }
    }

    /// Records `event`, done for `client_id` (the client certificate's fingerprint, if any)
    /// from `client_ip`. Never waits: when the syslog socket is missing, refuses the event or
    /// is full, the event goes to the main log, with one warning until the socket takes
    /// events again.
    pub fn record(
        &self,
        event: AuditEvent<'_>,
        outcome: Outcome,
        client_id: Option<&Fingerprint>,
        client_ip: &str,
    ) {
        let sink = self.sink.load();
        if matches!(**sink, Sink::Off) {
            return;
        }
        let json = render(event, outcome, client_id, client_ip, crate::clock::now());
        match &**sink {
            Sink::Off => {}
            Sink::Log => to_log(outcome, &json),
            #[cfg(feature = "syslog")]
            Sink::Syslog(socket) => to_syslog(socket, outcome, &json),
        }
    }
}

fn to_log(outcome: Outcome, json: &str) {
    match outcome {
        Outcome::Success => tracing::info!(audit = %json),
        Outcome::Failure => tracing::warn!(audit = %json),
    }
}

#[cfg(feature = "syslog")]
fn to_syslog(socket: &socket::Socket, outcome: Outcome, json: &str) {
    use socket::Delivery;
    let severity = match outcome {
        Outcome::Success => ::syslog::Severity::LOG_INFO,
        Outcome::Failure => ::syslog::Severity::LOG_WARNING,
    };
    match socket.send(severity, json) {
        Delivery::Sent => {}
        Delivery::Restored => tracing::info!(
            socket = %socket.path().display(),
            "the audit socket takes events again"
        ),
        Delivery::Failed(e) => {
            tracing::warn!(
                socket = %socket.path().display(),
                error = %e,
                "cannot send to the audit socket; audit events go to this log until it takes them again"
            );
            to_log(outcome, json);
        }
        Delivery::StillFailing => to_log(outcome, json),
    }
}

/// The sink `config.audit` names.
fn sink(config: &Config) -> Sink {
    match config.audit {
        AuditTarget::Off => Sink::Off,
        AuditTarget::Log => Sink::Log,
        AuditTarget::Syslog => syslog_sink(config),
    }
}

#[cfg(feature = "syslog")]
fn syslog_sink(config: &Config) -> Sink {
    Sink::Syslog(socket::Socket::new(&config.syslog_socket))
}

#[cfg(not(feature = "syslog"))]
fn syslog_sink(_config: &Config) -> Sink {
    // Falling back beats refusing to start: `audit = "syslog"` is the default, and the
    // events still reach the main log.
    tracing::warn!(
        "audit = \"syslog\" needs the `syslog` feature, which this build lacks; audit events go to this log"
    );
    Sink::Log
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Whatever the main log got, shared with the writer.
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Buf {
            self.clone()
        }
    }

    /// Runs `f` with a main log of its own (this thread only) and returns that log.
    fn logged(f: impl FnOnce()) -> String {
        let buf = Buf::default();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(buf.clone())
            .with_ansi(false)
            .without_time();
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        tracing::dispatcher::with_default(&dispatch, f);
        String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
    }

    fn fingerprint(c: char) -> Fingerprint {
        Fingerprint::parse(&c.to_string().repeat(40)).unwrap()
    }

    /// 2024-12-24T10:30:00Z.
    const NOW: i64 = 1_735_036_200;

    fn json(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    #[test]
    fn record_has_the_reference_fields_in_order() {
        let fp = fingerprint('a');
        let client = fingerprint('b');
        let event = AuditEvent::CertIssued {
            kind: IssueKind::Registration,
            common_name: "alice",
            fingerprint: &fp,
            serial: "00000000000000000000000000000001",
            expires_at: 1_766_572_200,
        };
        let text = render(event, Outcome::Success, Some(&client), "192.168.1.100", NOW);
        assert_eq!(
            text,
            format!(
                "{{\"time\":\"2024-12-24T10:30:00Z\",\"level\":\"INFO\",\"logger\":\"app.audit\",\
                 \"event\":\"cert_issued\",\"outcome\":\"success\",\"client_id\":\"{client}\",\
                 \"client_ip\":\"192.168.1.100\",\"details\":{{\"type\":\"registration\",\
                 \"common_name\":\"alice\",\"fingerprint\":\"{fp}\",\
                 \"serial\":\"00000000000000000000000000000001\",\"expires_at\":1766572200}}}}"
            )
        );
    }

    #[test]
    fn each_event_has_its_name_and_details() {
        let fp = fingerprint('c');
        let cases = [
            (
                AuditEvent::CertIssued {
                    kind: IssueKind::Issue,
                    common_name: "bob \"the\" admin",
                    fingerprint: &fp,
                    serial: "02",
                    expires_at: NOW,
                },
                serde_json::json!({"type": "issue", "common_name": "bob \"the\" admin",
                    "fingerprint": fp.as_str(), "serial": "02", "expires_at": NOW}),
            ),
            (
                AuditEvent::CertRevoked {
                    serial: "03",
                    fingerprint: &fp,
                },
                serde_json::json!({"serial": "03", "fingerprint": fp.as_str()}),
            ),
            (
                AuditEvent::AuthFailure {
                    fingerprint: &fp,
                    reason: AuthFailureReason::Revoked,
                },
                serde_json::json!({"fingerprint": fp.as_str(), "reason": "revoked"}),
            ),
            (
                AuditEvent::AuthFailure {
                    fingerprint: &fp,
                    reason: AuthFailureReason::Expired,
                },
                serde_json::json!({"fingerprint": fp.as_str(), "reason": "expired"}),
            ),
            (
                AuditEvent::AdminDelete {
                    what: Deleted::Paste,
                    id: "abcdef123456",
                    owner: Some(fp.as_str()),
                },
                serde_json::json!({"what": "paste", "id": "abcdef123456", "owner": fp.as_str()}),
            ),
            (
                AuditEvent::AdminDelete {
                    what: Deleted::ShortUrl,
                    id: "AbCd1234",
                    owner: None,
                },
                serde_json::json!({"what": "short_url", "id": "AbCd1234", "owner": null}),
            ),
        ];
        let names = [
            "cert_issued",
            "cert_revoked",
            "auth_failure",
            "auth_failure",
            "admin_delete",
            "admin_delete",
        ];
        for ((event, details), name) in cases.into_iter().zip(names) {
            let v = json(&render(event, Outcome::Failure, None, "unix", NOW));
            assert_eq!(v["event"], name);
            assert_eq!(v["details"], details, "{name}");
            assert_eq!(v["level"], "WARNING");
            assert_eq!(v["outcome"], "failure");
            assert_eq!(v["client_id"], serde_json::Value::Null);
            assert_eq!(v["client_ip"], "unix");
        }
    }

    #[test]
    fn a_time_before_1970_is_shown_as_the_epoch() {
        let fp = fingerprint('d');
        let event = AuditEvent::CertRevoked {
            serial: "1",
            fingerprint: &fp,
        };
        let v = json(&render(event, Outcome::Success, None, "::1", -5));
        assert_eq!(v["time"], "1970-01-01T00:00:00Z");
    }

    fn config(audit: AuditTarget, socket: &std::path::Path) -> Config {
        Config {
            audit,
            syslog_socket: socket.to_owned(),
            ..Config::default()
        }
    }

    fn revoked(fp: &Fingerprint) -> AuditEvent<'_> {
        AuditEvent::AuthFailure {
            fingerprint: fp,
            reason: AuthFailureReason::Revoked,
        }
    }

    /// The `audit=` fields of the log's lines, as JSON.
    fn audit_lines(log: &str) -> Vec<serde_json::Value> {
        log.lines()
            .filter_map(|l| l.split_once(" audit=").map(|(_, j)| json(j)))
            .collect()
    }

    #[test]
    fn log_target_writes_one_line_per_event_at_its_level() {
        let fp = fingerprint('e');
        let audit = Audit::new(&config(AuditTarget::Log, "/nonexistent".as_ref()));
        let log = logged(|| {
            audit.record(revoked(&fp), Outcome::Failure, Some(&fp), "10.0.0.1");
            audit.record(revoked(&fp), Outcome::Success, None, "10.0.0.2");
        });
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 2, "{log}");
        assert!(lines[0].starts_with(" WARN "), "{log}");
        assert!(lines[1].starts_with(" INFO "), "{log}");
        let events = audit_lines(&log);
        assert_eq!(events[0]["client_id"], fp.as_str());
        assert_eq!(events[1]["client_ip"], "10.0.0.2");
    }

    #[test]
    fn off_records_nothing() {
        let fp = fingerprint('f');
        let audit = Audit::new(&config(AuditTarget::Off, "/nonexistent".as_ref()));
        let log = logged(|| audit.record(revoked(&fp), Outcome::Failure, None, "::1"));
        assert_eq!(log, "");
        let log = logged(|| Audit::off().record(revoked(&fp), Outcome::Failure, None, "::1"));
        assert_eq!(log, "");
    }

    #[cfg(not(feature = "syslog"))]
    #[test]
    fn syslog_without_the_feature_warns_once_and_writes_to_the_log() {
        let fp = fingerprint('0');
        let log = logged(|| {
            let audit = Audit::new(&config(AuditTarget::Syslog, "/nonexistent".as_ref()));
            audit.record(revoked(&fp), Outcome::Failure, None, "::1");
            audit.record(revoked(&fp), Outcome::Success, None, "::1");
        });
        assert_eq!(log.matches("`syslog` feature").count(), 1, "{log}");
        assert_eq!(audit_lines(&log).len(), 2, "{log}");
    }

    #[cfg(feature = "syslog")]
    mod syslog {
        use std::os::unix::net::UnixDatagram;
        use std::path::Path;
        use std::time::Instant;

        use super::*;

        /// Longer than any of these sends may take, and still a bounded test.
        const QUICK: Duration = Duration::from_secs(2);

        fn bind(path: &Path) -> UnixDatagram {
            let sock = UnixDatagram::bind(path).unwrap();
            sock.set_read_timeout(Some(QUICK)).unwrap();
            sock
        }

        fn recv(sock: &UnixDatagram) -> String {
            let mut buf = vec![0u8; 65_536];
            let n = sock.recv(&mut buf).expect("a datagram in time");
            String::from_utf8(buf[..n].to_vec()).unwrap()
        }

        /// Splits `<PRI>Mmm dd hh:mm:ss flaskpaste[pid]: JSON` into PRI, tag and JSON.
        fn parse(datagram: &str) -> (u8, &str, serde_json::Value) {
            let rest = datagram.strip_prefix('<').unwrap();
            let (pri, rest) = rest.split_once('>').unwrap();
            let (header, message) = rest.split_once(": ").unwrap();
            let tag = header.rsplit(' ').next().unwrap();
            (pri.parse().unwrap(), tag, json(message))
        }

        /// Fills `receiver`'s queue from another socket until a send would block.
        fn fill(path: &Path) -> UnixDatagram {
            let filler = UnixDatagram::unbound().unwrap();
            filler.set_nonblocking(true).unwrap();
            filler.connect(path).unwrap();
            for _ in 0..1_000_000 {
                match filler.send(&[b'x'; 512]) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return filler,
                    Err(e) => panic!("filling: {e}"),
                }
            }
            panic!("the socket never filled");
        }

        fn drain(sock: &UnixDatagram) {
            sock.set_nonblocking(true).unwrap();
            let mut buf = vec![0u8; 65_536];
            while sock.recv(&mut buf).is_ok() {}
            sock.set_nonblocking(false).unwrap();
        }

        #[test]
        fn each_event_is_one_authpriv_datagram_tagged_flaskpaste() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("log.sock");
            let syslog = bind(&path);
            let fp = fingerprint('1');
            let audit = Audit::new(&config(AuditTarget::Syslog, &path));
            let issued = AuditEvent::CertIssued {
                kind: IssueKind::Registration,
                common_name: "alice",
                fingerprint: &fp,
                serial: "01",
                expires_at: NOW,
            };
            let log = logged(|| {
                audit.record(issued, Outcome::Success, Some(&fp), "192.0.2.1");
                audit.record(revoked(&fp), Outcome::Failure, Some(&fp), "192.0.2.2");
            });
            assert_eq!(log, "", "nothing goes to the main log");
            let tag = format!("flaskpaste[{}]", std::process::id());
            // authpriv (10) * 8 + info (6) = 86, + warning (4) = 84.
            let first = recv(&syslog);
            let (pri, got_tag, v) = parse(&first);
            assert_eq!((pri, got_tag), (86, tag.as_str()));
            assert_eq!(v["event"], "cert_issued");
            assert_eq!(v["level"], "INFO");
            assert_eq!(v["logger"], "app.audit");
            assert_eq!(v["details"]["common_name"], "alice");
            let second = recv(&syslog);
            let (pri, got_tag, v) = parse(&second);
            assert_eq!((pri, got_tag), (84, tag.as_str()));
            assert_eq!(v["event"], "auth_failure");
            assert_eq!(v["level"], "WARNING");
            assert_eq!(v["client_ip"], "192.0.2.2");
        }

        #[test]
        fn a_missing_socket_sends_events_to_the_log_with_one_warning() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("absent.sock");
            let fp = fingerprint('2');
            let audit = Audit::new(&config(AuditTarget::Syslog, &path));
            let start = Instant::now();
            let log = logged(|| {
                for _ in 0..3 {
                    audit.record(revoked(&fp), Outcome::Failure, None, "::1");
                }
            });
            assert!(start.elapsed() < QUICK, "{:?}", start.elapsed());
            assert_eq!(log.matches("audit socket").count(), 1, "{log}");
            assert!(log.contains(&*path.to_string_lossy()), "{log}");
            assert_eq!(audit_lines(&log).len(), 3, "{log}");
        }

        #[test]
        fn a_full_socket_does_not_block_and_warns_once_until_it_drains() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("full.sock");
            let syslog = bind(&path);
            let fp = fingerprint('3');
            let audit = Audit::new(&config(AuditTarget::Syslog, &path));
            let _filler = fill(&path);
            let start = Instant::now();
            let log = logged(|| {
                for _ in 0..3 {
                    audit.record(revoked(&fp), Outcome::Failure, None, "::1");
                }
            });
            assert!(start.elapsed() < QUICK, "{:?}", start.elapsed());
            assert_eq!(log.matches("audit socket").count(), 1, "{log}");
            assert_eq!(audit_lines(&log).len(), 3, "{log}");

            drain(&syslog);
            let log = logged(|| audit.record(revoked(&fp), Outcome::Success, None, "::2"));
            assert!(log.contains("takes events again"), "{log}");
            assert!(audit_lines(&log).is_empty(), "{log}");
            assert_eq!(parse(&recv(&syslog)).2["client_ip"], "::2");
        }

        #[test]
        fn a_socket_that_appears_or_comes_back_later_is_used() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("late.sock");
            let fp = fingerprint('4');
            let audit = Audit::new(&config(AuditTarget::Syslog, &path));
            let log = logged(|| audit.record(revoked(&fp), Outcome::Failure, None, "a"));
            assert_eq!(audit_lines(&log).len(), 1, "{log}");

            let syslog = bind(&path);
            logged(|| audit.record(revoked(&fp), Outcome::Failure, None, "b"));
            assert_eq!(parse(&recv(&syslog)).2["client_ip"], "b");

            // The reader restarts, as journald does: a new socket at the same path.
            drop(syslog);
            std::fs::remove_file(&path).unwrap();
            let syslog = bind(&path);
            let log = logged(|| audit.record(revoked(&fp), Outcome::Failure, None, "c"));
            assert_eq!(log, "", "reconnected without a warning");
            assert_eq!(parse(&recv(&syslog)).2["client_ip"], "c");
        }
    }
}
