use filter::IndexBuilder;
use proptest::prelude::*;

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,8}"
}

proptest! {
    /// A listed domain covers itself and every subdomain, and nothing that merely ends with the
    /// same letters.
    #[test]
    fn listed_domains_cover_their_subdomains_only(
        domain in prop::collection::vec(label(), 1..4),
        prefix in prop::collection::vec(label(), 0..4),
        glued in label(),
    ) {
        let domain = domain.join(".");
        let mut b = IndexBuilder::new();
        let cat = b.category("adult", false).unwrap();
        let src = b.source("list");
        b.add(&domain, cat, false, src, 1);
        let index = b.build();
        let mut host = prefix.join(".");
        if !host.is_empty() { host.push('.'); }
        host.push_str(&domain);
        prop_assert_eq!(index.matches(&host).next().map(|h| h.rule), Some(domain.as_str()));
        let lookalike = format!("{glued}{domain}");
        prop_assert!(index.matches(&lookalike).all(|h| h.rule != domain));
    }

    /// A snapshot loads back into an index that answers exactly the same.
    #[test]
    fn snapshots_round_trip(names in prop::collection::hash_set("[a-z]{1,6}\\.[a-z]{2,3}", 1..60), probe in "[a-z]{1,6}\\.[a-z]{2,3}") {
        let mut b = IndexBuilder::new();
        let cat = b.category("malware", false).unwrap();
        let src = b.source("list");
        for (i, n) in names.iter().enumerate() {
            b.add(n, cat, false, src, i as u32 + 1);
        }
        let index = b.build();
        let loaded = filter::Index::from_bytes(&index.to_bytes()).unwrap();
        for n in names.iter().chain(std::iter::once(&probe)) {
            let host = format!("www.{n}");
            prop_assert_eq!(index.matches(&host).next().map(|h| (h.rule, index.source_of(h.entry))),
                            loaded.matches(&host).next().map(|h| (h.rule, loaded.source_of(h.entry))));
        }
    }

    /// Damaged snapshots are refused, never a panic.
    #[test]
    fn damaged_snapshots_are_errors(cut in 0usize..400, flip in 0usize..400) {
        let mut b = IndexBuilder::new();
        let cat = b.category("adult", false).unwrap();
        let src = b.source("list");
        for n in ["a.test", "b.test", "c.example"] {
            b.add(n, cat, false, src, 1);
        }
        let bytes = b.build().to_bytes();
        let _ = filter::Index::from_bytes(&bytes[..cut.min(bytes.len())]);
        let mut flipped = bytes.clone();
        let i = flip % flipped.len();
        flipped[i] ^= 0xff;
        if let Ok(index) = filter::Index::from_bytes(&flipped) {
            let _ = index.matches("www.a.test").count();
        }
    }
}
