//! Open connections per client address, so that one address cannot take every one of
//! `max_connections`. Loopback, Unix-socket and stdio peers and `trusted_proxies` are not
//! counted: behind a proxy every connection comes from the proxy, and local load tests
//! come from loopback. Knows nothing of HTTP.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use crate::config::TrustedProxy;
use crate::http::peer::{Peer, client_network, is_trusted};

/// Counts open connections per address against a cap.
#[derive(Debug)]
pub struct PerAddress {
    /// Most connections one address may hold; 0 counts nothing.
    cap: usize,
    /// IPv6 peers are counted per network of this many bits (`rate_ipv6_prefix`).
    ipv6_prefix: u8,
    trusted: Vec<TrustedProxy>,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// What [`PerAddress::admit`] decided about a new connection.
#[derive(Debug)]
pub enum Admission {
    /// Not counted (loopback, Unix socket, trusted proxy, or no cap).
    Exempt,
    /// Counted until the slot is dropped with the connection.
    Counted(Slot),
    /// The address already holds its cap of connections.
    Refused(IpAddr),
}

/// One counted connection; dropping it releases the count.
#[derive(Debug)]
pub struct Slot {
    owner: Arc<PerAddress>,
    ip: IpAddr,
}

impl PerAddress {
    /// A counter allowing `cap` connections per address (0: no cap), exempting `trusted`.
    #[must_use]
    pub fn new(cap: usize, trusted: &[TrustedProxy], ipv6_prefix: u8) -> Arc<PerAddress> {
        Arc::new(PerAddress {
            cap,
            ipv6_prefix,
            trusted: trusted.to_vec(),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Counts a new connection from `peer`, unless it is exempt or over the cap.
    pub fn admit(self: &Arc<Self>, peer: &Peer) -> Admission {
        let ip = match peer {
            Peer::Tcp(addr) => addr.ip().to_canonical(),
            Peer::Unix | Peer::Stdio => return Admission::Exempt,
        };
        if self.cap == 0 || ip.is_loopback() || is_trusted(ip, &self.trusted) {
            return Admission::Exempt;
        }
        let ip = client_network(ip, self.ipv6_prefix);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(ip).or_insert(0);
        if *count >= self.cap {
            return Admission::Refused(ip);
        }
        *count += 1;
        Admission::Counted(Slot {
            owner: Arc::clone(self),
            ip,
        })
    }

    /// Connections counted for `ip` right now.
    #[cfg(test)]
    fn count(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .owner
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            // Forget addresses without connections, so the map stays as small as the load.
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    fn tcp(addr: &str) -> Peer {
        Peer::Tcp(addr.parse::<SocketAddr>().unwrap())
    }

    fn counted(a: Admission) -> Slot {
        match a {
            Admission::Counted(slot) => slot,
            other => panic!("not counted: {other:?}"),
        }
    }

    #[test]
    fn an_address_gets_its_cap_and_its_slots_back() {
        let per = PerAddress::new(2, &[], 64);
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        let a = counted(per.admit(&tcp("198.51.100.7:1000")));
        let b = counted(per.admit(&tcp("198.51.100.7:1001")));
        assert!(matches!(per.admit(&tcp("198.51.100.7:1002")), Admission::Refused(r) if r == ip));
        // Another address is not affected.
        let other = counted(per.admit(&tcp("198.51.100.8:1000")));
        drop(a);
        assert_eq!(per.count(ip), 1);
        let c = counted(per.admit(&tcp("198.51.100.7:1003")));
        drop((b, c, other));
        assert_eq!(per.count(ip), 0);
        assert!(per.open.lock().unwrap().is_empty());
    }

    #[test]
    fn ipv4_mapped_ipv6_counts_as_its_ipv4_address() {
        let per = PerAddress::new(1, &[], 64);
        let _slot = counted(per.admit(&tcp("198.51.100.7:1000")));
        assert!(matches!(
            per.admit(&tcp("[::ffff:198.51.100.7]:1000")),
            Admission::Refused(_)
        ));
    }

    #[test]
    fn ipv6_peers_count_per_prefix() {
        let per = PerAddress::new(1, &[], 64);
        let _slot = counted(per.admit(&tcp("[2001:db8:1:2::1]:1000")));
        assert!(matches!(
            per.admit(&tcp("[2001:db8:1:2:ffff::9]:1000")),
            Admission::Refused(_)
        ));
        let _other = counted(per.admit(&tcp("[2001:db8:1:3::1]:1000")));
    }

    #[test]
    fn loopback_unix_stdio_and_trusted_proxies_are_exempt() {
        let trusted: Vec<TrustedProxy> = vec!["203.0.113.0/24".parse().unwrap()];
        let per = PerAddress::new(1, &trusted, 64);
        for _ in 0..3 {
            for peer in [
                tcp("127.0.0.1:1"),
                tcp("127.0.0.2:1"),
                tcp("[::1]:1"),
                tcp("[::ffff:127.0.0.1]:1"),
                tcp("203.0.113.9:1"),
                Peer::Unix,
                Peer::Stdio,
            ] {
                assert!(matches!(per.admit(&peer), Admission::Exempt), "{peer:?}");
            }
        }
    }

    #[test]
    fn a_cap_of_zero_counts_nothing() {
        let per = PerAddress::new(0, &[], 64);
        let held: Vec<Admission> = (0..100)
            .map(|_| per.admit(&tcp("198.51.100.7:1")))
            .collect();
        assert!(held.iter().all(|a| matches!(a, Admission::Exempt)));
    }
}
