//! Who is signed in at which address: the proxy learns it from proxy sign-ins, and the DNS
//! gateway uses it to name the user in its query log too.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// A user known at an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub person_id: i64,
    pub username: String,
}

/// The address-to-user register, each binding kept for a while after the last sign-in.
#[derive(Debug)]
pub struct SignedIn {
    ttl: Duration,
    map: RwLock<HashMap<IpAddr, (Identity, Instant)>>,
}

/// Most addresses remembered; beyond it, expired bindings are swept out first.
const MAX_BINDINGS: usize = 100_000;

impl SignedIn {
    pub fn new(ttl: Duration) -> SignedIn {
        SignedIn {
            ttl,
            map: RwLock::new(HashMap::new()),
        }
    }

    /// Binds `ip` to `who` from now.
    pub fn bind(&self, ip: IpAddr, who: &Identity) {
        let Ok(mut map) = self.map.write() else {
            return;
        };
        if map.len() >= MAX_BINDINGS {
            let ttl = self.ttl;
            map.retain(|_, (_, at)| at.elapsed() < ttl);
            if map.len() >= MAX_BINDINGS {
                map.clear();
            }
        }
        map.insert(ip, (who.clone(), Instant::now()));
    }

    /// Who is signed in at `ip`, if the binding is fresh.
    pub fn who(&self, ip: IpAddr) -> Option<Identity> {
        let map = self.map.read().ok()?;
        let (who, at) = map.get(&ip)?;
        (at.elapsed() < self.ttl).then(|| who.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_name_the_user_until_they_expire() {
        let ip: IpAddr = [10, 1, 2, 3].into();
        let who = Identity {
            person_id: 7,
            username: "pupil7".into(),
        };
        let fresh = SignedIn::new(Duration::from_secs(60));
        assert_eq!(fresh.who(ip), None);
        fresh.bind(ip, &who);
        assert_eq!(fresh.who(ip), Some(who.clone()));
        let stale = SignedIn::new(Duration::ZERO);
        stale.bind(ip, &who);
        assert_eq!(stale.who(ip), None);
    }
}
