//! The MIS import page in a real headless Chromium (issue 20): the data manager uploads the SIMS
//! sample export and its staff file, sees what it would change, applies it and watches it go;
//! the same files again have nothing to apply; a file with a bad date is refused naming its row
//! and column; a 2,000-pupil export shows its progress. Screenshots in target/screenshots/.

use crate::BIN;
use testkit::browser::{
    body_text, click, scroll_to, shot, sign_in, start_browser, text_of, wait_for,
};
use testkit::mis::{sample, sample_text, sims_pupils};
use testkit::{Backend, Server};

/// Chooses `files` on the import form, with the leavers choice, and asks for the preview.
async fn upload(c: &fantoccini::Client, base: &str, files: &[std::path::PathBuf], leavers: &str) {
    c.goto(&format!("{base}/people/import")).await.unwrap();
    let input = wait_for(c, "#files").await;
    let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    input.send_keys(&paths.join("\n")).await.unwrap();
    click(c, &format!("#leavers option[value='{leavers}']")).await;
    click(c, "#preview-import").await;
}

/// Waits (up to 60 s) for the import to finish on its progress page.
async fn finished(c: &fantoccini::Client) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Ok(done) = c
            .find(fantoccini::Locator::Css("#import-done, #import-failed"))
            .await
        {
            return done.text().await.unwrap_or_default();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the import did not finish"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_manager_previews_and_applies_an_mis_export_in_chromium() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let (_driver, c, _profile) = start_browser().await;
    let base = server.url.clone();
    sign_in(&c, &base, "data").await;
    c.goto(&format!("{base}/people")).await.unwrap();
    click(&c, "#import-link").await;
    wait_for(&c, "#import-form").await;
    shot(&c, "import-1-form").await;

    let files = [sample("sims-pupils.csv"), sample("sims-staff.csv")];
    upload(&c, &base, &files, "ignore").await;
    wait_for(&c, "#import-preview").await;
    assert_eq!(text_of(&c, "#count-added").await, "54");
    assert_eq!(text_of(&c, "#count-changed").await, "0");
    let added = text_of(&c, "#preview-added").await;
    assert!(
        added.contains("gwendolyn.juniperson") && added.contains("Year 1, 1F"),
        "{added}"
    );
    assert!(
        text_of(&c, "#preview-links")
            .await
            .contains("Greta Juniperson")
    );
    shot(&c, "import-2-preview").await;

    click(&c, "#apply-import").await;
    let done = finished(&c).await;
    assert!(done.contains("The import is done"), "{done}");
    let summary = text_of(&c, "#import-summary").await;
    assert!(summary.contains("54 added"), "{summary}");
    shot(&c, "import-3-done").await;
    c.goto(&format!("{base}/people")).await.unwrap();
    let people = text_of(&c, "#people").await;
    assert!(people.contains("Gwendolyn Juniperson") && people.contains("Bea Appleyard"));

    // The same export again: nothing to apply.
    upload(&c, &base, &files, "ignore").await;
    wait_for(&c, "#import-nothing").await;
    assert_eq!(text_of(&c, "#count-unchanged").await, "54");

    // The next export: Lumen moves class, Gwendolyn is gone and marked as leaving.
    let dir = tempfile::tempdir().unwrap();
    let next = dir.path().join("sims-pupils.csv");
    let text: Vec<String> = sample_text("sims-pupils.csv")
        .lines()
        .filter(|l| !l.starts_with("1101,"))
        .map(|l| l.replace(",2,2K,", ",2,2Z,"))
        .collect();
    std::fs::write(&next, text.join("\n")).unwrap();
    upload(&c, &base, std::slice::from_ref(&next), "mark").await;
    wait_for(&c, "#import-preview").await;
    let changed = text_of(&c, "#preview-changed").await;
    assert!(
        changed.contains("Lumen Rookwood") && changed.contains("class: 2K → 2Z"),
        "{changed}"
    );
    let leaving = text_of(&c, "#preview-leaving").await;
    assert!(leaving.contains("Gwendolyn Juniperson"), "{leaving}");
    assert!(
        text_of(&c, "#count-leaving")
            .await
            .contains("marked to leave on")
    );
    scroll_to(&c, "#import-counts").await;
    shot(&c, "import-4-second-export").await;
    click(&c, "#apply-import").await;
    assert!(finished(&c).await.contains("The import is done"));
    assert!(
        text_of(&c, "#import-summary")
            .await
            .contains("1 marked to leave on")
    );

    // A bad date on row 17 is refused, naming the row and the column.
    let mut lines: Vec<String> = sample_text("sims-pupils.csv")
        .lines()
        .map(str::to_string)
        .collect();
    let mut row17: Vec<&str> = lines[16].split(',').collect();
    row17[7] = "31/02/2015";
    lines[16] = row17.join(",");
    let bad = dir.path().join("bad-export.csv");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    upload(&c, &base, std::slice::from_ref(&bad), "ignore").await;
    // The preview's answer is a new page: wait for it rather than read the old one.
    wait_for(&c, "#import-problems").await;
    let problems = text_of(&c, "#import-problems").await;
    assert!(
        problems.contains("row 17, column \"DOB\": \"31/02/2015\" is not a date"),
        "{problems}"
    );
    shot(&c, "import-5-bad-date").await;

    // A whole school: the progress shows while it is written.
    let big = dir.path().join("big-school.csv");
    std::fs::write(&big, sims_pupils(2000, 3000)).unwrap();
    upload(&c, &base, std::slice::from_ref(&big), "ignore").await;
    wait_for(&c, "#import-preview").await;
    let added: usize = text_of(&c, "#count-added").await.parse().unwrap();
    assert!(added > 4000, "{added}");
    click(&c, "#apply-import").await;
    wait_for(&c, "#import-progress").await;
    // The bar as it moves, if the screenshot catches it before the end.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let moving = c
            .execute(
                "const b = document.getElementById('import-bar'); return b ? Number(b.value) : -1;",
                vec![],
            )
            .await
            .unwrap();
        match moving.as_i64() {
            Some(v) if v > 0 => {
                shot(&c, "import-6-progress").await;
                break;
            }
            Some(-1) => break,
            _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    assert!(finished(&c).await.contains("The import is done"));
    let page = body_text(&c).await;
    assert!(page.contains(&format!("{added} added")), "{page}");
    shot(&c, "import-7-big-done").await;
    let (ok, out) = server.audit_verify();
    assert!(ok, "{out}");
}
