//! What only a peer beyond loopback meets, tested between two network namespaces the test
//! makes itself (the daemon in one, the client in the other, a veth pair between them):
//! the cap on connections per client address. Needs root and `ip`; skips otherwise.

#![expect(clippy::unwrap_used, reason = "test: any failure is the test's")]

mod common;

use std::process::Command;

use common::{Builder, is_root};

/// The daemon's and the client's namespaces, removed (with their veth pair) on drop.
struct Namespaces {
    daemon: String,
    client: String,
}

const DAEMON_IP: &str = "10.231.0.1";

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

impl Namespaces {
    /// Two namespaces joined by a veth pair: the daemon's side is `DAEMON_IP`.
    fn make() -> Option<Namespaces> {
        if !is_root() || !ip(&["netns", "list"]) {
            return None;
        }
        let id = std::process::id();
        let ns = Namespaces {
            daemon: format!("fpd{id}"),
            client: format!("fpc{id}"),
        };
        let (d, c) = (ns.daemon.as_str(), ns.client.as_str());
        let (dv, cv) = (format!("fpd{id}v"), format!("fpc{id}v"));
        let ok = ip(&["netns", "add", d])
            && ip(&["netns", "add", c])
            && ip(&[
                "link", "add", &dv, "netns", d, "type", "veth", "peer", "name", &cv, "netns", c,
            ])
            && ip(&[
                "-n",
                d,
                "addr",
                "add",
                &format!("{DAEMON_IP}/30"),
                "dev",
                &dv,
            ])
            && ip(&["-n", c, "addr", "add", "10.231.0.2/30", "dev", &cv])
            && ip(&["-n", d, "link", "set", &dv, "up"])
            && ip(&["-n", c, "link", "set", &cv, "up"])
            && ip(&["-n", d, "link", "set", "lo", "up"]);
        ok.then_some(ns)
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        ip(&["netns", "del", &self.daemon]);
        ip(&["netns", "del", &self.client]);
    }
}

/// Opens `n` connections from the client namespace at once, asks `/health` on each, and
/// returns how many were answered 200 and how many were closed unanswered.
fn hold_connections(ns: &Namespaces, addr: &str, n: usize) -> (usize, usize) {
    const CLIENT: &str = r#"
import socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
conns = [socket.create_connection((host, port), timeout=5) for _ in range(n)]
answered = closed = 0
for c in conns:
    try:
        c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        data = c.recv(4096)
    except OSError:
        data = b""
    if data.startswith(b"HTTP/1.1 200"):
        answered += 1
    elif not data:
        closed += 1
print(answered, closed)
"#;
    let (host, port) = addr.rsplit_once(':').unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.client, "python3", "-c", CLIENT])
        .args([host, port, &n.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut counts = text.split_whitespace().map(|w| w.parse().unwrap());
    (counts.next().unwrap(), counts.next().unwrap())
}

fn daemon(ns: &Namespaces, toml: &str) -> (common::Daemon, String) {
    let mut d = Builder::new()
        .toml(toml)
        .listen(&[&format!("{DAEMON_IP}:0")])
        .run_in(&["ip", "netns", "exec", &ns.daemon])
        .spawn();
    let addr = common::tcp_address(&d.wait_log("listening on"));
    (d, addr)
}

#[test]
fn one_address_holds_at_most_max_connections_per_ip() {
    let Some(ns) = Namespaces::make() else {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    };
    let (d, addr) = daemon(&ns, "max_connections_per_ip = 2");
    assert_eq!(hold_connections(&ns, &addr, 5), (2, 3), "{}", d.log());
    // The slots come back when the connections close.
    assert_eq!(hold_connections(&ns, &addr, 2), (2, 0), "{}", d.log());
    drop(d);
    // Without the cap the same client gets every connection: the namespaces do not limit.
    let (d, addr) = daemon(&ns, "max_connections_per_ip = 0");
    assert_eq!(hold_connections(&ns, &addr, 5), (5, 0), "{}", d.log());
}
