//! `palisade import people` and `POST /api/v1/people/import` (issue 20): the dry run prints the
//! diff and writes nothing, the import writes it once, a bad cell is exit 1 naming its row and
//! column, a usage error exit 2; the API's dry run and import.

use crate::BIN;
use std::process::{Command, Output};
use testkit::mis::{sample, sample_text};
use testkit::{Backend, Server, TestDb};

/// `palisade import people ARGS... --db URL`, on the test clock.
fn import(url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["import", "people"])
        .args(args)
        .args(["--db", url])
        .env(
            clock::TEST_CLOCK_VAR,
            store::timestamp(testkit::school_morning()),
        )
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path(name: &str) -> String {
    sample(name).display().to_string()
}

async fn the_command_line_imports_once_and_refuses_bad_rows(backend: Backend) {
    let db = TestDb::new(backend).await;
    // The database the school set up with its first administrator.
    let out = Command::new(BIN)
        .args([
            "user",
            "add",
            "--username",
            "head",
            "--name",
            "Head Teacher",
        ])
        .args(["--database-url", &db.url])
        .env("PALISADE_PASSWORD", "a long enough passphrase")
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    let files = [path("sims-pupils.csv"), path("sims-staff.csv")];
    let files: Vec<&str> = files.iter().map(String::as_str).collect();

    let dry = import(&db.url, &[&files[..], &["--dry-run"]].concat());
    let (stdout, stderr) = text(&dry);
    assert!(dry.status.success(), "{stderr}");
    assert!(
        stdout.contains("+ pupil gwendolyn.juniperson Gwendolyn Juniperson (Year 1, 1F)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+ staff bea.appleyard Bea Appleyard"),
        "{stdout}"
    );
    assert!(
        stdout.contains("added 54 (26 parent, 20 pupil, 8 staff)"),
        "{stdout}"
    );
    assert!(stderr.contains("Dry run: nothing was written."), "{stderr}");
    // Not a terminal: no progress bar in the output.
    assert!(!stderr.contains("importing"), "{stderr}");
    let store = db.store().await;
    assert_eq!(
        store.people(None).await.unwrap().len(),
        1,
        "the dry run wrote nothing"
    );

    let done = import(&db.url, &files);
    let (stdout, stderr) = text(&done);
    assert!(done.status.success(), "{stderr}");
    assert!(
        stdout.contains("added 54") && stdout.contains("parent links: 27 added"),
        "{stdout}"
    );
    assert_eq!(store.people(None).await.unwrap().len(), 55);
    let again = import(&db.url, &[&files[..], &["--leavers", "mark"]].concat());
    let (stdout, _) = text(&again);
    assert!(again.status.success());
    assert!(stdout.contains("added 0\nchanged 0\nleaving 0"), "{stdout}");
    assert!(stdout.contains("unchanged 54"), "{stdout}");
    assert_eq!(store.people(None).await.unwrap().len(), 55);

    // A bad date on row 17: exit 1, the row and column named, nothing written.
    let bad_dir = tempfile::tempdir().unwrap();
    let bad = bad_dir.path().join("sims-pupils.csv");
    let mut lines: Vec<String> = sample_text("sims-pupils.csv")
        .lines()
        .map(str::to_string)
        .collect();
    let mut row17: Vec<&str> = lines[16].split(',').collect();
    row17[7] = "31/02/2015";
    lines[16] = row17.join(",");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let audit_before = store.audit_page(None, 1000).await.unwrap().len();
    let refused = import(&db.url, &[bad.to_str().unwrap(), "--leavers", "mark"]);
    let (_, stderr) = text(&refused);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("sims-pupils.csv: row 17, column \"DOB\": \"31/02/2015\" is not a date"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert_eq!(
        store.audit_page(None, 1000).await.unwrap().len(),
        audit_before
    );

    // Usage errors: exit 2.
    let wrong = import(&db.url, &[files[0], "--format", "capita"]);
    assert_eq!(wrong.status.code(), Some(2));
    let missing = import(&db.url, &["/nowhere/export.csv"]);
    assert_eq!(missing.status.code(), Some(2));
    let (_, stderr) = text(&missing);
    assert!(
        stderr.contains("cannot read /nowhere/export.csv"),
        "{stderr}"
    );

    // An export Palisade does not know, through its mapping file.
    let mapped = import(
        &db.url,
        &[
            &path("other-mis.csv"),
            "--mapping",
            &path("other-mis.toml"),
            "--dry-run",
        ],
    );
    let (stdout, stderr) = text(&mapped);
    assert!(mapped.status.success(), "{stderr}");
    assert!(
        stdout.contains(
            "+ pupil perry.featherstonehaugh Perry Featherstonehaugh (Year 6, Kingfishers)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("without parental responsibility"),
        "{stdout}"
    );
    let verify = Command::new(BIN)
        .args(["audit", "verify", "--database-url", &db.url])
        .output()
        .unwrap();
    assert!(verify.status.success(), "{:?}", text(&verify));
    store.close().await;
}

both_backends!(
    the_command_line_dry_run_writes_nothing_the_import_writes_once_and_bad_rows_are_named,
    the_command_line_imports_once_and_refuses_bad_rows
);

/// The API: a dry run of a CSV body, the import, its problems as a list; a teacher is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_previews_and_imports_an_export() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let data = server.login("data").await;
    let csv = sample_text("arbor-students.csv");
    let send = |client: &testkit::Client, query: &str, body: String| {
        client
            .request(
                reqwest::Method::POST,
                &format!("/api/v1/people/import{query}"),
            )
            .header("content-type", "text/csv")
            .body(body)
            .send()
    };
    let res = send(&data, "?dry_run=1", csv.clone()).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["counts"]["added"], 20);
    assert_eq!(body["plan"]["added"][0]["values"]["mis_id"], "A1200");
    let res = send(&data, "", csv.clone()).await.unwrap();
    assert_eq!(res.status(), 201);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["report"]["counts"]["added"], 20);
    let res = send(&data, "?dry_run=1", csv.clone()).await.unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["counts"]["added"], 0);
    assert_eq!(body["counts"]["unchanged"], 20);
    let bad = csv.replacen(",2020-01-28,", ",2020-13-28,", 1);
    let res = send(&data, "", bad).await.unwrap();
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["problems"][0]["row"], 2);
    assert_eq!(body["problems"][0]["column"], "Date of Birth");
    let teacher = server.login("teacher4").await;
    let res = send(&teacher, "?dry_run=1", csv).await.unwrap();
    assert_eq!(res.status(), 403);
}

/// After a full year's import the people page shows a page at a time, with the school's
/// filters: the data manager finds a pupil by part of a name, and a wrong filter is a 400
/// naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_people_page_pages_and_filters_an_imported_school() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let dir = tempfile::tempdir().unwrap();
    let pupils = dir.path().join("pupils.csv");
    std::fs::write(&pupils, testkit::mis::sims_pupils(250, 300)).unwrap();
    let out = import(&server.db.url, &[pupils.to_str().unwrap()]);
    assert!(out.status.success(), "{:?}", text(&out));

    let data = server.login("data").await;
    let first = data.get_text("/people").await;
    let total: i64 = first
        .split("Showing 1 to 100 of ")
        .nth(1)
        .and_then(|rest| rest.split('.').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count on the first page: {first}"));
    assert!(
        total > 550,
        "250 pupils and their contacts besides the demo's: {total}"
    );
    assert_eq!(first.matches("<tr").count(), 101, "a header and 100 people");
    assert!(
        first.contains("href=\"/people?page=2\" rel=\"next\""),
        "{first}"
    );
    let second = data.get_text("/people?page=2").await;
    assert!(
        second.contains(&format!("Showing 101 to 200 of {total}.")),
        "{second}"
    );
    assert!(second.contains("rel=\"prev\""), "{second}");

    // One pupil by part of their name, whatever the case; the filters stay in the links.
    let store = server.store().await;
    let pupil = store
        .people(Some(store::PersonKind::Pupil))
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.username != "pupil1" && p.display_name.contains(' '))
        .unwrap();
    store.close().await;
    let surname = pupil
        .display_name
        .rsplit(' ')
        .next()
        .unwrap()
        .to_uppercase();
    let found = data
        .get_text(&format!("/people?kind=pupil&q={surname}"))
        .await;
    assert!(found.contains(&pupil.display_name), "{surname}: {found}");
    assert!(!found.contains("<td>staff</td>"), "{found}");
    // Bad filters: a 400 that names them.
    let bad = data.get("/people?kind=alien").await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("kind"));
    let bad = data.get("/people?page=0").await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("page"));
}
