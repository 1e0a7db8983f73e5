use filter::parse::{adblock, domains, hosts, rpz};

fn names(p: &filter::parse::Parsed) -> Vec<(&str, u32, bool)> {
    p.entries
        .iter()
        .map(|e| (e.name.as_str(), e.line, e.exception))
        .collect()
}

#[test]
fn plain_domains_with_comments_wildcards_idn_and_bad_lines() {
    let text = "# school list\nExample.COM.\n*.games.test\n\nbücher.example # comment\nbad..name\n10.1.2.3\n";
    let p = domains::parse(text, "d.txt");
    assert_eq!(
        names(&p),
        [
            ("example.com", 2, false),
            ("games.test", 3, false),
            ("xn--bcher-kva.example", 5, false)
        ]
    );
    assert_eq!(p.report.invalid, 1);
    assert_eq!(p.report.problems[0].line, 6);
    assert!(p.report.problems[0].message.contains("bad..name"));
    assert_eq!(
        p.report.skipped, 1,
        "the IP literal is recognised and skipped"
    );
    assert_eq!(p.report.lines, 7);
}

#[test]
fn hosts_files_take_every_name_and_skip_local_ones() {
    let text = "127.0.0.1 localhost\n0.0.0.0 ads.test tracker.test # two\n:: ipv6.test\nnot-an-ip bad.test\n0.0.0.0\n";
    let p = hosts::parse(text, "hosts");
    assert_eq!(
        names(&p),
        [
            ("ads.test", 2, false),
            ("tracker.test", 2, false),
            ("ipv6.test", 3, false)
        ]
    );
    assert_eq!(p.report.skipped, 1);
    assert_eq!(p.report.invalid, 2);
    assert_eq!(p.report.problems[0].line, 4);
}

#[test]
fn adblock_network_rules_and_exceptions_only() {
    let text = "! title\n[Adblock Plus 2.0]\n||ads.test^\n@@||good.ads.test^\n||x.test^$important\n##.banner\n||path.test/ads^\n/regex/\n||third.test^$third-party\n";
    let p = adblock::parse(text, "a.txt");
    assert_eq!(
        names(&p),
        [
            ("ads.test", 3, false),
            ("good.ads.test", 4, true),
            ("x.test", 5, false)
        ]
    );
    assert_eq!(p.report.skipped, 4);
}

#[test]
fn rpz_zones_block_allow_and_skip_other_actions() {
    let text = "$TTL 300\n@ IN SOA localhost. hostmaster.localhost. ( 1 3600 600 86400 300 )\n  IN NS localhost.\nbad.test CNAME .\n*.bad.test CNAME .\nok.bad.test CNAME rpz-passthru.\nnodata.test CNAME *.\n$ORIGIN rpz.example.\nrel CNAME .\nabs.test.rpz.example. CNAME .\n";
    let p = rpz::parse(text, "z.zone");
    assert_eq!(
        names(&p),
        [
            ("bad.test", 4, false),
            ("bad.test", 5, false),
            ("ok.bad.test", 6, true),
            ("rel", 9, false),
            ("abs.test", 10, false)
        ]
    );
    assert_eq!(p.report.skipped, 1);
}

#[test]
fn ut1_folders_give_each_folder_its_category() {
    let dir = tempfile::tempdir().unwrap();
    for (cat, domains) in [
        ("adult", "porn.test\n"),
        ("gambling", "bet.test\nporn.test\n"),
    ] {
        std::fs::create_dir_all(dir.path().join(cat)).unwrap();
        std::fs::write(dir.path().join(cat).join("domains"), domains).unwrap();
        std::fs::write(dir.path().join(cat).join("urls"), "").unwrap();
    }
    let list = filter::ListFile::guess(dir.path(), "").unwrap();
    let (index, report) = filter::compile(&[list], |_| {}).unwrap();
    assert_eq!(report.duplicates, 1);
    let hit = index.matches("www.porn.test").next().unwrap();
    assert_eq!(hit.rule, "porn.test");
    assert_eq!(hit.categories, index.mask_of(["adult", "gambling"]));
    assert!(index.source_of(hit.entry).ends_with("adult/domains:1"));
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let list = filter::ListFile {
        path: "/nonexistent/list.txt".into(),
        format: policy::profile::filtering::ListFormat::Domains,
        category: "adult".into(),
        mandatory: false,
        optional: false,
    };
    let err = filter::compile(&[list], |_| {}).err().unwrap().to_string();
    assert!(err.contains("/nonexistent/list.txt"), "{err}");
}

#[test]
fn byte_order_marks_crlf_blank_lines_and_duplicates_are_handled() {
    let text = "\u{feff}first.test\r\n\r\n# comment\r\nsecond.test\r\nFIRST.test\r\n";
    let p = domains::parse(text, "bom.txt");
    assert_eq!(
        names(&p),
        [
            ("first.test", 1, false),
            ("second.test", 4, false),
            ("first.test", 5, false)
        ]
    );
    assert_eq!(p.report.invalid, 0);
    let p = hosts::parse("\u{feff}0.0.0.0 a.test\r\n", "hosts");
    assert_eq!(names(&p), [("a.test", 1, false)]);
    let mut b = filter::IndexBuilder::new();
    let cat = b.category("adult", false).unwrap();
    let src = b.source("bom.txt");
    for e in &domains::parse(text, "bom.txt").entries {
        b.add(&e.name, cat, e.exception, src, e.line);
    }
    assert_eq!((b.len(), b.duplicates), (2, 1));
}
