use filter::{Engine, Verdict};
use policy::profile::filtering::{FilteringPolicy, GroupPolicy, TimeRule, YoutubeMode};

fn group(name: &str, pupil: bool, cats: &[&str]) -> GroupPolicy {
    GroupPolicy {
        name: name.into(),
        description: String::new(),
        pupil,
        staff: !pupil,
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

/// The category that blocks `host` for `group` at noon, if it is blocked.
fn blocking_category(e: &Engine, group: &str, host: &str) -> Option<String> {
    blocked_by(&e.verdict(group, host, NOON)).map(|b| b.0.to_string())
}

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
        blocking_category(&e, "ks2", "games.test"),
        Some("gaming".into())
    );
    assert_eq!(
        blocking_category(&e, "ks2", "a.distracting.test"),
        Some("group block-list".into())
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
        blocking_category(&e, "ks2", "dns.google"),
        Some("circumvention".into())
    );
    assert_eq!(e.verdict("staff", "dns.google", NOON), Verdict::Allow);
}

#[test]
fn an_unknown_group_fails_closed() {
    assert!(blocked_by(&engine().verdict("nobody", "example.com", NOON)).is_some());
}

#[test]
fn urls_and_search_keywords_block_what_the_host_alone_does_not() {
    use policy::profile::filtering::ListFormat;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("ut1/gaming")).unwrap();
    std::fs::write(dir.path().join("ut1/gaming/domains"), "games.test\n").unwrap();
    std::fs::write(dir.path().join("ut1/gaming/urls"), "video.test/games\n").unwrap();
    std::fs::write(dir.path().join("iwf-urls.txt"), "hosting.test/abuse/42\n").unwrap();
    std::fs::write(
        dir.path().join("selfharm.txt"),
        "# English\nkill myself\n# Spanish\nquiero morir\n",
    )
    .unwrap();
    let list = |path: &str, format, category: &str, mandatory| filter::ListFile {
        path: dir.path().join(path),
        format,
        category: category.into(),
        mandatory,
        optional: false,
    };
    let lists = [
        list("ut1", ListFormat::Ut1, "", false),
        list("iwf-urls.txt", ListFormat::Urls, "iwf", true),
        list("selfharm.txt", ListFormat::Keywords, "selfharm", false),
    ];
    let (index, layers, report) = filter::compile::compile_all(&lists, |_| {}).unwrap();
    assert!(
        report
            .files
            .iter()
            .any(|f| f.file.ends_with("selfharm.txt") && f.accepted == 2)
    );
    // The URL and keyword lists' categories are the layers' own: the index of names holds
    // only its lists', so schools with other keyword lists can share it.
    assert!(!index.categories().iter().any(|c| c == "selfharm"));
    assert_eq!(layers.categories.names(), ["iwf", "selfharm"]);
    assert_eq!(layers.categories.mandatory(), 1);
    // The same lists again, and a trust's list before them, are each read once.
    let trust = [list("iwf-urls.txt", ListFormat::Urls, "iwf", true)];
    let merged = filter::compile::merged(&trust, lists.to_vec());
    assert_eq!(merged.len(), 3);
    assert_eq!(merged[0].category, "iwf");
    let other = [list("iwf-urls.txt", ListFormat::Urls, "other", true)];
    assert_eq!(filter::compile::merged(&other, lists.to_vec()).len(), 4);
    let mut ks2 = group("ks2", true, &["gaming", "selfharm"]);
    ks2.allow = vec!["hosting.test".into(), "video.test".into()];
    let staff = group("staff", false, &[]);
    let policy = FilteringPolicy {
        groups: vec![ks2, staff],
        ..FilteringPolicy::default()
    };
    let e = Engine::with_layers(index, layers, &policy);
    // A path on an otherwise allowed host.
    assert_eq!(
        e.verdict_url("staff", "http://video.test/games/chess", NOON),
        Verdict::Allow
    );
    assert_eq!(
        e.verdict_url("ks2", "http://video.test/maths", NOON),
        Verdict::Allow
    );
    // The allow-list lets video.test through for ks2, but never a mandatory URL.
    assert_eq!(
        e.verdict_url("ks2", "http://video.test/games/chess", NOON),
        Verdict::Allow
    );
    let v = e.verdict_url("ks2", "https://www.hosting.test/abuse/42?x=1", NOON);
    assert_eq!(
        blocked_by(&v).map(|b| (b.0, b.1)),
        Some(("iwf", "hosting.test/abuse/42"))
    );
    assert!(blocked_by(&e.verdict_url("staff", "https://hosting.test/abuse/42", NOON)).is_some());
    // Search terms, folded: digits for letters, accents, case.
    let v = e.verdict_url(
        "ks2",
        "https://www.google.com/search?q=how+to+K1ll+my%24elf",
        NOON,
    );
    assert_eq!(
        blocked_by(&v).map(|b| (b.0, b.1)),
        Some(("selfharm", "kill myself"))
    );
    let v = e.verdict_url("ks2", "https://www.bing.com/search?q=Quiero+Morír", NOON);
    assert_eq!(blocked_by(&v).map(|b| b.1), Some("quiero morir"));
    assert!(
        blocked_by(&e.verdict_url("staff", "https://www.google.com/search?q=kill+myself", NOON))
            .is_none()
    );
    assert!(
        e.keyword_hit("ks2", "a page about killing mysteries", NOON)
            .is_none()
    );
}
