use super::*;

fn index(entries: &[(&str, &str, bool, u32)]) -> Index {
    let mut b = IndexBuilder::new();
    let src = b.source("list.txt");
    for (name, cat, exception, line) in entries {
        let bit = b.category(cat, false).unwrap_or(0);
        b.add(name, bit, *exception, src, *line);
    }
    b.build()
}

#[test]
fn suffix_hashes_from_one_pass_equal_whole_name_hashes() {
    let i = index(&[("example.com", "adult", false, 1)]);
    let hits: Vec<&str> = i.matches("a.b.example.com").map(|h| h.rule).collect();
    assert_eq!(hits, ["example.com"]);
    assert!(i.matches("notexample.com").next().is_none());
    assert_eq!(i.get(b"example.com"), Some(0));
    assert_eq!(i.get(b"com"), None);
}

#[test]
fn lines_follow_the_records_with_marks_where_they_jump() {
    let mut entries: Vec<(String, u32)> = (0..200).map(|i| (format!("n{i}.test"), i + 1)).collect();
    // A gap (a comment, a duplicate) and a jump in the middle.
    entries[100].1 = 150;
    for e in entries.iter_mut().skip(101) {
        e.1 += 49;
    }
    let mut b = IndexBuilder::new();
    let src = b.source("list.txt");
    let bit = b.category("adult", false).unwrap_or(0);
    for (name, line) in &entries {
        b.add(name, bit, false, src, *line);
    }
    let i = b.build();
    for (name, line) in &entries {
        let hit = i.matches(name).next();
        assert_eq!(
            hit.map(|h| i.source_of(h.entry)),
            Some(format!("list.txt:{line}")),
            "{name}"
        );
    }
    let loaded = Index::from_bytes(&i.to_bytes());
    assert!(loaded.is_ok());
    let Ok(loaded) = loaded else { return };
    assert_eq!(
        loaded.source_of(loaded.get(b"n150.test").unwrap_or(0)),
        "list.txt:200"
    );
}

#[test]
fn exceptions_and_categories_merge_into_one_set_per_name() {
    let i = index(&[
        ("a.test", "adult", false, 1),
        ("a.test", "gambling", false, 2),
        ("b.test", "adult", true, 3),
    ]);
    assert_eq!(i.len(), 2);
    let a = i.matches("a.test").next();
    assert_eq!(a.map(|h| h.categories), Some(0b11));
    let b = i.matches("x.b.test").next();
    assert_eq!(b.map(|h| (h.categories, h.excepted)), Some((0, 0b1)));
    assert_eq!(
        i.counts(),
        [("adult".to_string(), 1), ("gambling".to_string(), 1)]
    );
}

#[test]
fn an_old_snapshot_is_refused_with_what_to_do() {
    let err = Index::from_bytes(b"PALIDX01\0\0\0\0")
        .err()
        .map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.contains("palisade lists compile")));
}
