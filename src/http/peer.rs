//! Where a request comes from: the connection's peer, and the client's address behind
//! trusted proxies (for rate limits and logs). Reads no headers but the one it is given.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::HeaderValue;

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
            // Canonical: an IPv4 client of a dual-stack listener is logged and counted as
            // the IPv4 address it is.
            Peer::Tcp(a) => write!(f, "{}", a.ip().to_canonical()),
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

    /// Whether this peer may vouch for a client certificate without the proxy secret: a
    /// loopback or Unix-socket peer (a proxy on this host), or one of `trusted_proxies`.
    /// Anyone else could name any fingerprint.
    #[must_use]
    pub fn may_vouch(&self, trusted: &[TrustedProxy]) -> bool {
        match self.peer {
            Peer::Tcp(addr) => {
                addr.ip().to_canonical().is_loopback() || is_trusted(addr.ip(), trusted)
            }
            Peer::Unix => true,
            // inetd hands over whatever connected, from anywhere.
            Peer::Stdio => false,
        }
    }

    /// Whether this peer's `X-Forwarded-For` is believed.
    fn is_trusted_proxy(&self, trusted: &[TrustedProxy]) -> bool {
        match self.peer {
            Peer::Tcp(addr) => is_trusted(addr.ip(), trusted),
            Peer::Unix => trusted.contains(&TrustedProxy::Unix),
            Peer::Stdio => false,
        }
    }
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the first hop of
/// `X-Forwarded-For` (all its lines, in order, read right to left) that is not a trusted
/// proxy. The walk stops there whether or not that hop parses, so a client cannot choose
/// what it is counted as; an unparsable hop leaves the nearest hop that did parse.
#[must_use]
pub fn client_address<'a, I>(
    remote: &Remote,
    forwarded_for: I,
    trusted: &[TrustedProxy],
) -> Arc<str>
where
    I: IntoIterator<Item = &'a HeaderValue>,
    I::IntoIter: DoubleEndedIterator,
{
    if !remote.is_trusted_proxy(trusted) {
        return Arc::clone(&remote.text);
    }
    let mut nearest = None;
    'lines: for line in forwarded_for.into_iter().rev() {
        let Ok(line) = line.to_str() else { break };
        for hop in line.rsplit(',') {
            let Some(ip) = parse_hop(hop.trim()) else {
                break 'lines;
            };
            nearest = Some(ip);
            if !is_trusted(ip, trusted) {
                break 'lines;
            }
        }
    }
    nearest.map_or_else(|| Arc::clone(&remote.text), |ip| ip.to_string().into())
}

/// One `X-Forwarded-For` hop: `ip`, `ip:port` or `[v6]:port`, as its canonical address.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok())?;
    Some(ip.to_canonical())
}

/// Whether `ip` lies in one of the `trusted` networks (an IPv4 peer of a dual-stack
/// listener, `::ffff:a.b.c.d`, as its IPv4 address).
#[must_use]
pub fn is_trusted(ip: IpAddr, trusted: &[TrustedProxy]) -> bool {
    let ip = ip.to_canonical();
    trusted
        .iter()
        .any(|t| matches!(t, TrustedProxy::Net(net) if net.contains(&ip)))
}

/// What counts as one client for limits: an IPv4 address, or the IPv6 network of
/// `ipv6_prefix` bits around it (one host usually owns a whole /64).
#[must_use]
pub fn client_network(ip: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(ipv6_prefix.min(128)))
                .unwrap_or(0);
            IpAddr::V6(std::net::Ipv6Addr::from_bits(v6.to_bits() & mask))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(values: &[&str]) -> Vec<HeaderValue> {
        values
            .iter()
            .map(|v| HeaderValue::from_str(v).unwrap())
            .collect()
    }

    fn address(peer: &Peer, xff: &[&str], trusted: &[TrustedProxy]) -> String {
        client_address(&Remote::new(peer.clone()), &lines(xff), trusted).to_string()
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let trusted: Vec<TrustedProxy> = vec!["10.0.0.0/8".parse().unwrap(), TrustedProxy::Unix];
        let proxy = Peer::Tcp("10.1.2.3:5555".parse().unwrap());
        let stranger = Peer::Tcp("203.0.113.9:5555".parse().unwrap());
        assert_eq!(address(&proxy, &["198.51.100.7"], &trusted), "198.51.100.7");
        assert_eq!(
            address(&stranger, &["198.51.100.7"], &trusted),
            "203.0.113.9"
        );
        // A client-supplied first hop cannot hide the address the proxy saw.
        assert_eq!(
            address(&proxy, &["1.2.3.4, 198.51.100.7, 10.9.9.9"], &trusted),
            "198.51.100.7"
        );
        assert_eq!(
            address(&Peer::Unix, &["198.51.100.7"], &trusted),
            "198.51.100.7"
        );
        assert_eq!(address(&Peer::Unix, &["198.51.100.7"], &[]), "unix");
        assert_eq!(address(&proxy, &["garbage"], &trusted), "10.1.2.3");
        assert_eq!(address(&proxy, &[], &trusted), "10.1.2.3");
    }

    #[test]
    fn every_forwarded_for_line_counts_and_the_last_is_nearest() {
        let trusted = [TrustedProxy::Unix];
        // A client's own line comes first; the proxy appends its line after it.
        assert_eq!(
            address(&Peer::Unix, &["1.1.1.1", "198.51.100.7"], &trusted),
            "198.51.100.7"
        );
        let trusted: Vec<TrustedProxy> = vec!["10.0.0.0/8".parse().unwrap(), TrustedProxy::Unix];
        assert_eq!(
            address(
                &Peer::Unix,
                &["1.1.1.1, 198.51.100.7", "10.0.0.1"],
                &trusted
            ),
            "198.51.100.7"
        );
    }

    #[test]
    fn an_unparsable_hop_stops_the_walk() {
        let trusted: Vec<TrustedProxy> = vec!["10.0.0.0/8".parse().unwrap(), TrustedProxy::Unix];
        // Garbage nearest: nothing parsed, so the peer is the client.
        assert_eq!(
            address(&Peer::Unix, &["1.1.1.1, garbage"], &trusted),
            "unix"
        );
        assert_eq!(address(&Peer::Unix, &["1.1.1.1", ""], &trusted), "unix");
        // Garbage behind a trusted hop: that hop is the nearest that parsed.
        assert_eq!(
            address(&Peer::Unix, &["1.1.1.1, x, 10.0.0.1"], &trusted),
            "10.0.0.1"
        );
        // Every hop trusted: the furthest one.
        assert_eq!(
            address(&Peer::Unix, &["10.0.0.2, 10.0.0.1"], &trusted),
            "10.0.0.2"
        );
    }

    #[test]
    fn hops_may_carry_ports_and_mapped_addresses() {
        let trusted: Vec<TrustedProxy> = vec!["10.0.0.0/8".parse().unwrap(), TrustedProxy::Unix];
        assert_eq!(
            address(&Peer::Unix, &["198.51.100.7:4711"], &trusted),
            "198.51.100.7"
        );
        assert_eq!(
            address(&Peer::Unix, &["[2001:db8::1]:4711"], &trusted),
            "2001:db8::1"
        );
        assert_eq!(
            address(&Peer::Unix, &["[2001:db8::1]"], &trusted),
            "2001:db8::1"
        );
        assert_eq!(
            address(&Peer::Unix, &["198.51.100.7, ::ffff:10.0.0.1"], &trusted),
            "198.51.100.7"
        );
        // An IPv4 proxy on a dual-stack listener is the trusted IPv4 address it is.
        let mapped = Peer::Tcp("[::ffff:10.1.2.3]:5555".parse().unwrap());
        assert_eq!(
            address(&mapped, &["198.51.100.7"], &trusted),
            "198.51.100.7"
        );
        assert_eq!(Remote::new(mapped).text.as_ref(), "10.1.2.3");
    }

    #[test]
    fn only_local_peers_and_trusted_proxies_may_vouch_for_a_certificate() {
        let trusted: Vec<TrustedProxy> = vec!["10.0.0.0/8".parse().unwrap()];
        let vouches = |peer: Peer, trusted: &[TrustedProxy]| Remote::new(peer).may_vouch(trusted);
        let tcp = |a: &str| Peer::Tcp(a.parse().unwrap());
        assert!(vouches(tcp("127.0.0.1:1"), &[]));
        assert!(vouches(tcp("127.9.8.7:1"), &[]));
        assert!(vouches(tcp("[::1]:1"), &[]));
        assert!(vouches(tcp("[::ffff:127.0.0.1]:1"), &[]));
        assert!(vouches(Peer::Unix, &[]));
        assert!(vouches(tcp("10.1.2.3:1"), &trusted));
        assert!(vouches(tcp("[::ffff:10.1.2.3]:1"), &trusted));
        assert!(!vouches(tcp("10.1.2.3:1"), &[]));
        assert!(!vouches(tcp("203.0.113.9:1"), &trusted));
        assert!(!vouches(tcp("[2001:db8::1]:1"), &trusted));
        assert!(!vouches(Peer::Stdio, &trusted));
    }
}
