use filter::{Engine, Verdict};
use policy::profile::filtering::{FilteringPolicy, GroupPolicy, TimeRule, YoutubeMode};

fn group(name: &str, pupil: bool, cats: &[&str]) -> GroupPolicy {
    GroupPolicy {
        name: name.into(),
        description: String::new(),
        pupil,
        block_categories: cats.iter().map(|c| c.to_string()).collect(),
        allow: vec![],
        block: vec![],
        safesearch: pupil,
        youtube: if pupil {
            YoutubeMode::Strict
        } else {
            YoutubeMode::Off
        },
        time_rules: vec![],
    }
}

fn engine() -> Engine {
    let mut b = filter::IndexBuilder::new();
    let adult = b.category("adult", false).unwrap();
    let gaming = b.category("gaming", false).unwrap();
    let iwf = b.category("iwf", true).unwrap();
    let src = b.source("lists/test.txt");
    b.add("adult.test", adult, false, src, 7);
    b.add("ok.adult.test", adult, true, src, 8);
    b.add("games.test", gaming, false, src, 9);
    b.add("abuse.test", iwf, false, src, 10);
    let circumvention = b.category("circumvention", false).unwrap();
    b.add("dns.google", circumvention, false, src, 11);
    let mut staff = group("staff", false, &["adult"]);
    staff.time_rules = vec![TimeRule {
        allow_categories: vec![],
        from: "00:00".into(),
        to: "00:01".into(),
    }];
    let mut ks2 = group("ks2", true, &["adult", "gaming", "circumvention"]);
    ks2.allow = vec!["abuse.test".into(), "learn.games.test".into()];
    ks2.block = vec!["distracting.test".into()];
    let mut staff_gaming = group("staff-evening", false, &["adult", "gaming"]);
    staff_gaming.time_rules = vec![TimeRule {
        allow_categories: vec!["gaming".into()],
        from: "16:00".into(),
        to: "23:00".into(),
    }];
    let policy = FilteringPolicy {
        groups: vec![staff, ks2, staff_gaming],
        ..FilteringPolicy::default()
    };
    Engine::new(b.build(), &policy)
}

const NOON: u16 = 12 * 60;

fn blocked_by(v: &Verdict) -> Option<(&str, &str, &str)> {
    match v {
        Verdict::Block {
            category,
            rule,
            source,
        } => Some((category, rule, source)),
        _ => None,
    }
}

#[test]
fn mandatory_lists_beat_every_allow_list() {
    let e = engine();
    for g in ["ks2", "staff"] {
        assert_eq!(
            blocked_by(&e.verdict(g, "www.abuse.test", NOON)),
            Some(("iwf", "abuse.test", "lists/test.txt:10"))
        );
    }
}

#[test]
fn the_group_allow_list_beats_its_block_list_and_categories() {
    let e = engine();
    assert_eq!(e.verdict("ks2", "learn.games.test", NOON), Verdict::Allow);
    assert_eq!(
        blocked_by(&e.verdict("ks2", "games.test", NOON)).map(|b| b.0),
        Some("gaming")
    );
    assert_eq!(
        blocked_by(&e.verdict("ks2", "a.distracting.test", NOON)).map(|b| b.0),
        Some("group block-list")
    );
    assert_eq!(e.verdict("staff", "games.test", NOON), Verdict::Allow);
}

#[test]
fn exceptions_lift_a_category_for_a_subdomain() {
    let e = engine();
    assert_eq!(e.verdict("ks2", "ok.adult.test", NOON), Verdict::Allow);
    assert_eq!(e.verdict("ks2", "www.ok.adult.test", NOON), Verdict::Allow);
    assert!(blocked_by(&e.verdict("ks2", "bad.adult.test", NOON)).is_some());
    assert!(blocked_by(&e.verdict("ks2", "notadult.test", NOON)).is_none());
}

#[test]
fn time_rules_allow_gaming_for_staff_after_four() {
    let e = engine();
    assert!(blocked_by(&e.verdict("staff-evening", "games.test", 15 * 60 + 59)).is_some());
    assert_eq!(
        e.verdict("staff-evening", "games.test", 16 * 60),
        Verdict::Allow
    );
    assert!(blocked_by(&e.verdict("staff-evening", "adult.test", 17 * 60)).is_some());
}

#[test]
fn safesearch_youtube_canary_and_doh_for_pupils() {
    let e = engine();
    let rw = |t: &str| Verdict::Rewrite { target: t.into() };
    assert_eq!(
        e.verdict("ks2", "www.google.com", NOON),
        rw("forcesafesearch.google.com")
    );
    assert_eq!(
        e.verdict("ks2", "www.bing.com", NOON),
        rw("strict.bing.com")
    );
    assert_eq!(
        e.verdict("ks2", "duckduckgo.com", NOON),
        rw("safe.duckduckgo.com")
    );
    assert_eq!(
        e.verdict("ks2", "www.youtube.com", NOON),
        rw("restrict.youtube.com")
    );
    assert_eq!(e.verdict("staff", "www.google.com", NOON), Verdict::Allow);
    assert!(matches!(
        e.verdict("staff", "use-application-dns.net", NOON),
        Verdict::Nxdomain { .. }
    ));
    assert_eq!(
        blocked_by(&e.verdict("ks2", "dns.google", NOON)).map(|b| b.0),
        Some("circumvention")
    );
    assert_eq!(e.verdict("staff", "dns.google", NOON), Verdict::Allow);
}

#[test]
fn an_unknown_group_fails_closed() {
    assert!(blocked_by(&engine().verdict("nobody", "example.com", NOON)).is_some());
}
