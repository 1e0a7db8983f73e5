//! Access-log write throughput: batches of events into a fresh SQLite file and, with
//! PALISADE_BENCH_PG=1, a fresh PostgreSQL database (created and dropped like the tests'), as
//! the gateways' writer does. `cargo bench -p store`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use store::{AccessEvent, Store};

fn event(i: usize) -> AccessEvent {
    // Ten events a millisecond, always later than the last batch's, as the gateways log them
    // (repeating a batch's times would make every index insert a random one).
    let at = format!(
        "2026-11-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        1 + i / 864_000_000 % 28,
        i / 36_000_000 % 24,
        i / 600_000 % 60,
        i / 10_000 % 60,
        i / 10 % 1000
    );
    let client = format!("10.1.{}.{}", i / 250 % 250, i % 250);
    let blocked = i.is_multiple_of(5);
    let verdict = if blocked {
        events::LogVerdict::Block
    } else {
        events::LogVerdict::Allow
    };
    let name = format!("host{i}.example.com");
    AccessEvent {
        qtype: Some("A".into()),
        category: blocked.then(|| "adult".into()),
        rule: blocked.then(|| "example.com".into()),
        upstream_ms: Some(0),
        ..AccessEvent::new(at, "dns", client, "ks2".into(), name, verdict)
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut urls = vec![(
        "sqlite",
        format!("sqlite://{}/bench.db", dir.path().display()),
    )];
    if let Ok(pg) = std::env::var("PALISADE_BENCH_PG") {
        urls.push(("postgres", pg));
    }
    const BATCH: usize = 4000;
    let mut next = 0usize;
    let mut g = c.benchmark_group("access log");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(20);
    for (name, url) in urls {
        let store: Store = rt
            .block_on(Store::open(&url, store::Clock::system()))
            .unwrap();
        // One writer for the whole run, as the gateways' writer thread keeps one.
        let mut writer = store.access_writer();
        g.bench_function(format!("insert {BATCH} events ({name})"), |b| {
            b.iter_batched(
                || {
                    next += BATCH;
                    (next - BATCH..next).map(event).collect::<Vec<_>>()
                },
                |batch| rt.block_on(writer.write(&batch)).unwrap(),
                criterion::BatchSize::PerIteration,
            )
        });
        drop(writer);
        rt.block_on(store.close());
    }
    g.finish();
}

criterion_group!(access_log, bench);
criterion_main!(access_log);
