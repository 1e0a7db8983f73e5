//! Filter engine benchmarks on the shared harness's synthetic 1M-domain lists:
//! `python3 ../shared/bench/gen-lists.py /var/tmp/bench-data/1m` first, then
//! `cargo bench -p filter`. Prints heap bytes per domain; skips when the lists are missing.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use filter::{Index, ListFile};
use std::hint::black_box;
use std::path::Path;

fn data_dir() -> Option<std::path::PathBuf> {
    let dir = std::env::var("BENCH_LISTS").unwrap_or_else(|_| "/var/tmp/bench-data/1m".into());
    let p = Path::new(&dir).to_path_buf();
    p.join("ut1").is_dir().then_some(p)
}

fn benches(c: &mut Criterion) {
    let Some(dir) = data_dir() else {
        eprintln!(
            "filter benches skipped: no lists at /var/tmp/bench-data/1m (run gen-lists.py, or set BENCH_LISTS)"
        );
        return;
    };
    let lists = [ListFile::guess(&dir.join("ut1"), "").expect("ut1 folder")];
    let (index, _) = filter::compile(&lists, |_| {}).expect("compile");
    let bytes = index.to_bytes();
    eprintln!(
        "index: {} entries, {} heap bytes ({:.1} per domain), snapshot {} bytes",
        index.len(),
        index.heap_bytes(),
        index.heap_bytes() as f64 / index.len() as f64,
        bytes.len()
    );
    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    g.bench_function("compile 1M (UT1 folders)", |b| {
        b.iter(|| filter::compile(black_box(&lists), |_| {}).expect("compile"))
    });
    g.bench_function("load 1M snapshot", |b| {
        b.iter(|| Index::from_bytes(black_box(&bytes)).expect("load"))
    });
    g.finish();

    let listed: Vec<String> = std::fs::read_to_string(dir.join("domains.txt"))
        .expect("domains.txt")
        .lines()
        .step_by(997)
        .take(1000)
        .map(str::to_string)
        .collect();
    let mut g = c.benchmark_group("lookup");
    for labels in 2..=6usize {
        // Hits: a listed domain with labels prepended up to `labels` in all.
        let hits: Vec<String> = listed
            .iter()
            .map(|d| {
                let have = d.split('.').count();
                let extra = labels.saturating_sub(have);
                format!("{}{d}", "w.".repeat(extra))
            })
            .collect();
        let misses: Vec<String> = (0..1000)
            .map(|i| format!("{}nowhere{i}.example", "a.".repeat(labels - 2)))
            .collect();
        g.bench_function(format!("hit {labels} labels"), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % hits.len();
                black_box(index.matches(&hits[i]).next().is_some())
            })
        });
        g.bench_function(format!("miss {labels} labels"), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % misses.len();
                black_box(index.matches(&misses[i]).next().is_some())
            })
        });
    }
    g.finish();
}

criterion_group!(filter_benches, benches);
criterion_main!(filter_benches);
