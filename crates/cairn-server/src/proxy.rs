//! Which address a request comes from. Behind a load balancer every connection comes from the
//! balancer, so for connections from a trusted proxy (`--trusted-proxy CIDR`) the client is read
//! from `X-Forwarded-For` (or the `for=` of `Forwarded`): the right-most hop that is not itself
//! a trusted proxy. A header from anyone else is ignored (a client cannot claim an address).

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;

/// An address range, `10.0.0.0/8`, `fd00::/8`, or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    bits: u8,
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}' is not an address range like 10.0.0.0/8 or fd00::/8");
        let (addr, bits) = match s.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let net: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            Some(b) => b.trim().parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if bits > max {
            return Err(bad());
        }
        Ok(Self { net, bits })
    }
}

impl Cidr {
    /// Whether `ip` is in the range (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), self.bits),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), self.bits),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = ((bits / 8) as usize, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0
}

/// One hop of a forwarding header: `1.2.3.4`, `1.2.3.4:5678`, `"[2001:db8::1]:80"`.
fn hop(raw: &str) -> Option<IpAddr> {
    let v = raw.trim().trim_matches('"');
    if let Ok(ip) = v.parse() {
        return Some(ip);
    }
    if let Some(inner) = v.strip_prefix('[') {
        return inner.split(']').next()?.parse().ok();
    }
    v.rsplit_once(':')?.0.parse().ok()
}

/// The hops a request went through, client first: `X-Forwarded-For`, else `Forwarded`'s `for=`.
fn hops(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let xff: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !xff.is_empty() {
        return Some(xff.iter().flat_map(|v| v.split(',')).map(hop).collect());
    }
    let fwd: Vec<Option<IpAddr>> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then(|| hop(v))
            })
        })
        .collect();
    (!fwd.is_empty()).then_some(fwd)
}

/// The client of a request that arrived from `peer`.
pub fn client(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let Some(hops) = hops(headers) else {
        return peer;
    };
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        match hop {
            // a hop that cannot be read: the last one known stands
            None => return client,
            Some(ip) if is_trusted(ip) => client = ip,
            Some(ip) => return ip,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        m
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains(ip("10.1.2.3")) && !c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.0.0.1")));
        let one: Cidr = "192.168.1.7".parse().unwrap();
        assert!(one.contains(ip("192.168.1.7")) && !one.contains(ip("192.168.1.8")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let odd: Cidr = "172.16.0.0/12".parse().unwrap();
        assert!(odd.contains(ip("172.31.255.255")) && !odd.contains(ip("172.32.0.0")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_hop_and_only_behind_a_trusted_proxy() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let xff = h(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.0.0.2")]);
        // from the proxy: the spoofed left-most hop is not believed
        assert_eq!(client(ip("10.0.0.1"), &xff, &trusted), ip("203.0.113.9"));
        // from anyone else: the header is ignored
        assert_eq!(
            client(ip("198.51.100.1"), &xff, &trusted),
            ip("198.51.100.1")
        );
        // Forwarded, with ports and IPv6 brackets
        let fwd = h(&[(
            "forwarded",
            "for=\"[2001:db8::7]:4711\";proto=https, for=10.0.0.3",
        )]);
        assert_eq!(client(ip("10.0.0.1"), &fwd, &trusted), ip("2001:db8::7"));
        // no header, or an unreadable hop: the last address known
        assert_eq!(client(ip("10.0.0.1"), &h(&[]), &trusted), ip("10.0.0.1"));
        let junk = h(&[("x-forwarded-for", "garbage, 10.0.0.5")]);
        assert_eq!(client(ip("10.0.0.1"), &junk, &trusted), ip("10.0.0.5"));
    }
}
