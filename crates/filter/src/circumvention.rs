//! What pupils use to get round DNS filtering, known to both the compile step (the built-in
//! `circumvention` list) and the engine (the DoH canary).

/// The Firefox canary domain: NXDOMAIN tells Firefox not to switch to its own DoH resolver.
pub const DOH_CANARY: &str = "use-application-dns.net";

/// The category of the built-in list of public DoH resolvers.
pub const CIRCUMVENTION: &str = "circumvention";

/// Public DNS-over-HTTPS resolvers: a pupil reaching one bypasses DNS filtering.
pub const DOH_RESOLVERS: [&str; 14] = [
    "dns.google",
    "dns.google.com",
    "cloudflare-dns.com",
    "mozilla.cloudflare-dns.com",
    "one.one.one.one",
    "dns.quad9.net",
    "dns9.quad9.net",
    "doh.opendns.com",
    "dns.nextdns.io",
    "doh.cleanbrowsing.org",
    "dns.adguard-dns.com",
    "dns.adguard.com",
    "doh.mullvad.net",
    "dns.controld.com",
];
