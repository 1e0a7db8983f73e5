//! An MIS import of a whole school (issue 20): a generated SIMS export of 2,000 pupils with
//! 3,000 contacts and 150 staff, parsed, and planned and applied into a fresh SQLite file each
//! time. `cargo bench -p store --bench import`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use policy::import::{Export, parse_file};
use store::{ImportRequest, ImportedFile, Leavers, Store};

fn generated() -> (Export, Vec<ImportedFile>) {
    let texts = [
        ("pupils.csv", testkit::mis::sims_pupils(2000, 3000)),
        ("staff.csv", testkit::mis::sims_staff(150)),
    ];
    let parsed = texts
        .iter()
        .map(|(name, text)| parse_file(text.as_bytes(), name, None, None).unwrap())
        .collect();
    let export = Export::from_files(parsed).unwrap();
    let files = export
        .files
        .iter()
        .zip(&texts)
        .map(|(s, (_, text))| ImportedFile::of(s, text.as_bytes()))
        .collect();
    (export, files)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (export, files) = generated();
    let mut g = c.benchmark_group("mis import");
    g.sample_size(10);
    g.bench_function(
        "generate and parse 2000 pupils, 3000 contacts, 150 staff",
        |b| b.iter(generated),
    );
    g.bench_function("plan and apply into a fresh SQLite file", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}/bench.db", dir.path().display());
                let store = rt
                    .block_on(Store::open(&url, store::Clock::system()))
                    .unwrap();
                (dir, store)
            },
            |(dir, store)| {
                rt.block_on(async {
                    let plan = store.plan_import(&export).await.unwrap();
                    let request = ImportRequest {
                        export: &export,
                        previewed: &plan,
                        leavers: Leavers::Ignore,
                        files: &files,
                    };
                    let permit = policy::Permit::for_operator(policy::Action::ImportPeople);
                    store
                        .import_people(&permit, policy::RoleSet::EMPTY, &request, &|_, _| {})
                        .await
                        .unwrap();
                    store.close().await;
                });
                drop(dir);
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(import, bench);
criterion_main!(import);
