//! Where a request comes from: the connection's peer, and the client's address behind
//! trusted proxies (for rate limits and logs). Reads no headers but the one it is given.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::config::TrustedProxy;

/// Where a connection came from.
#[derive(Debug, Clone)]
pub enum Peer {
    Tcp(SocketAddr),
    Unix,
    Stdio,
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Peer::Tcp(a) => write!(f, "{}", a.ip()),
            Peer::Unix => f.write_str("unix"),
            Peer::Stdio => f.write_str("stdio"),
        }
    }
}

/// A connection's peer and its text for logs, rendered once per connection.
#[derive(Debug, Clone)]
pub struct Remote {
    pub peer: Peer,
    pub text: Arc<str>,
}

impl Remote {
    /// The remote end `peer`.
    #[must_use]
    pub fn new(peer: Peer) -> Remote {
        let text = peer.to_string().into();
        Remote { peer, text }
    }
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the nearest
/// untrusted address in `X-Forwarded-For` (read right to left, so a client cannot forge it).
#[must_use]
pub fn client_address(
    remote: &Remote,
    forwarded_for: Option<&str>,
    trusted: &[TrustedProxy],
) -> Arc<str> {
    let peer_trusted = match remote.peer {
        Peer::Tcp(addr) => is_trusted(addr.ip(), trusted),
        Peer::Unix => trusted.contains(&TrustedProxy::Unix),
        Peer::Stdio => false,
    };
    if peer_trusted {
        if let Some(list) = forwarded_for {
            let hops: Vec<IpAddr> = list
                .split(',')
                .filter_map(|h| h.trim().parse().ok())
                .collect();
            if let Some(client) = hops
                .iter()
                .rev()
                .find(|ip| !is_trusted(**ip, trusted))
                .or(hops.first())
            {
                return client.to_string().into();
            }
        }
    }
    Arc::clone(&remote.text)
}

fn is_trusted(ip: IpAddr, trusted: &[TrustedProxy]) -> bool {
    trusted
        .iter()
        .any(|t| matches!(t, TrustedProxy::Net(net) if net.contains(&ip)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let trusted: Vec<TrustedProxy> = vec!["10.0.0.0/8".parse().unwrap(), TrustedProxy::Unix];
        let client_address = |peer: &Peer, xff, trusted| {
            client_address(&Remote::new(peer.clone()), xff, trusted).to_string()
        };
        let proxy = Peer::Tcp("10.1.2.3:5555".parse().unwrap());
        let stranger = Peer::Tcp("203.0.113.9:5555".parse().unwrap());
        assert_eq!(
            client_address(&proxy, Some("198.51.100.7"), &trusted),
            "198.51.100.7"
        );
        assert_eq!(
            client_address(&stranger, Some("198.51.100.7"), &trusted),
            "203.0.113.9"
        );
        // A client-supplied first hop cannot hide the address the proxy saw.
        assert_eq!(
            client_address(&proxy, Some("1.2.3.4, 198.51.100.7, 10.9.9.9"), &trusted),
            "198.51.100.7"
        );
        assert_eq!(
            client_address(&Peer::Unix, Some("198.51.100.7"), &trusted),
            "198.51.100.7"
        );
        assert_eq!(
            client_address(&Peer::Unix, Some("198.51.100.7"), &[]),
            "unix"
        );
        assert_eq!(
            client_address(&proxy, Some("garbage"), &trusted),
            "10.1.2.3"
        );
    }
}
