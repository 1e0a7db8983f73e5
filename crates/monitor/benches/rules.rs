//! Rule evaluation throughput on one core: 10,000 keywords in three languages (English,
//! Polish, Romanian, with diacritics), and a mix of events like a school day's access log:
//! mostly allowed names, some blocked, some searches and full URLs. `cargo bench -p monitor`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use events::{AccessEvent, LogVerdict};
use monitor::{KeywordList, Monitor};
use policy::profile::monitoring::{AlertSeverity, MonitoringPolicy};
use std::hint::black_box;

/// A deterministic pseudo-random word from a syllable table (no RNG crate needed).
fn word(seed: u64, syllables: &[&str]) -> String {
    let mut x = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    let n = 2 + (x % 3) as usize;
    let mut out = String::new();
    for _ in 0..n {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        out.push_str(syllables[(x % syllables.len() as u64) as usize]);
    }
    out
}

const EN: [&str; 12] = [
    "ka", "lo", "ren", "tis", "mar", "ped", "fol", "gun", "sh", "wy", "ble", "tor",
];
const PL: [&str; 12] = [
    "ką", "łó", "rzę", "ść", "mar", "pie", "żo", "gni", "szcz", "wy", "ble", "tór",
];
const RO: [&str; 12] = [
    "că", "lă", "rân", "ți", "mar", "peș", "fol", "gâ", "șt", "vi", "ble", "tor",
];

fn lists() -> Vec<KeywordList> {
    let mut out = Vec::new();
    for (lang, syllables) in [("en", &EN), ("pl", &PL), ("ro", &RO)] {
        let words = (0..3334u64)
            .map(|i| {
                let w = if i % 3 == 0 {
                    format!("{} {}", word(i, syllables), word(i + 99_991, syllables))
                } else {
                    word(i, syllables)
                };
                (w, format!("{lang}.txt:{i}"))
            })
            .collect();
        out.push(KeywordList {
            name: format!("bench-{lang}"),
            language: lang.into(),
            severity: AlertSeverity::High,
            words,
        });
    }
    out
}

fn events() -> Vec<AccessEvent> {
    (0..10_000u64)
        .map(|i| {
            let (verdict, category) = match i % 10 {
                0 => (LogVerdict::Block, Some("gaming".to_string())),
                1 if i % 100 == 1 => (LogVerdict::Block, Some("selfharm".to_string())),
                _ => (LogVerdict::Allow, None),
            };
            let search =
                (i % 5 == 0).then(|| format!("{} homework {}", word(i, &EN), word(i + 7, &PL)));
            AccessEvent {
                school: None,
                at: "2026-11-25T10:00:00.000Z".into(),
                source: if i % 2 == 0 { "dns" } else { "proxy" }.into(),
                client_ip: format!("10.1.{}.{}", (i / 250) % 250, i % 250),
                device: None,
                person_id: None,
                username: (i % 3 == 0).then(|| format!("pupil{}", i % 400)),
                group_name: if i % 7 == 0 { "staff" } else { "ks2" }.into(),
                name: format!("www.site{}.example", i % 2000),
                qtype: Some("A".into()),
                url: (i % 2 == 1).then(|| {
                    format!(
                        "http://www.site{}.example/path/{}?q={}",
                        i % 2000,
                        word(i + 3, &RO),
                        search.clone().unwrap_or_default().replace(' ', "+")
                    )
                }),
                search_term: search,
                verdict,
                category,
                rule: None,
                upstream_ms: Some(1),
            }
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let policy = MonitoringPolicy::default();
    let mut m = Monitor::new(
        &policy,
        ["iwf".to_string()],
        ["ks2".to_string()],
        clock::Clock::system(),
    )
    .with_keywords(lists());
    let events = events();
    let mut g = c.benchmark_group("monitor");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("evaluate 10k events, 10k keywords in 3 languages", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for e in &events {
                hits += m.evaluate(black_box(e)).len();
            }
            black_box(hits)
        })
    });
    g.finish();
}

criterion_group!(rules, benches);
criterion_main!(rules);
