//! Failed-authentication throttling: a client address that sent too many unknown or malformed
//! tokens within a minute has its further unknown tokens refused with 429 (`Retry-After`) until
//! the minute is over. A valid token always passes: behind a proxy or a load balancer every
//! user shares one address, and one client with a revoked token must not lock out the rest.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window failures are counted in.
const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most (the oldest windows are dropped first when full).
const MAX_TRACKED: usize = 100_000;

/// Failed authentications per client address.
#[derive(Debug, Default)]
pub struct Throttle {
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Throttle {
    /// Seconds until `ip` may try again, if it has used up `limit` failures (0: no limit).
    pub fn blocked(&self, ip: IpAddr, limit: u32) -> Option<u64> {
        if limit == 0 {
            return None;
        }
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let (start, failures) = windows.get(&ip)?;
        let left = WINDOW.checked_sub(start.elapsed())?;
        (*failures >= limit).then(|| left.as_secs().max(1))
    }

    /// Count a failed authentication from `ip`.
    pub fn failed(&self, ip: IpAddr) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= MAX_TRACKED {
            windows.retain(|_, (start, _)| start.elapsed() < WINDOW);
        }
        let entry = windows.entry(ip).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::Throttle;

    #[test]
    fn blocks_after_the_limit_and_per_address() {
        let t = Throttle::default();
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(t.blocked(a, 3), None);
            t.failed(a);
        }
        assert!(matches!(t.blocked(a, 3), Some(1..=60)));
        assert_eq!(t.blocked(b, 3), None);
        assert_eq!(t.blocked(a, 0), None);
    }
}
