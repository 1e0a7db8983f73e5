//! The registers in a real headless Chromium (issue 18): the head records a training session for
//! three teachers and the DSL's training from 25 months ago, which shows as overdue on the DSL's
//! and the head's home pages; a new staff code of conduct sends a teacher to it before any other
//! page, and once signed the page they asked for opens. Screenshots in target/screenshots/.

use crate::BIN;
use testkit::browser::{
    body_text, click, fill, scroll_to, shot, sign_in, sign_out, start_browser, text_of, wait_for,
};
use testkit::{Backend, Server};

/// The id of `username` in the demo school.
async fn id_of(server: &Server, username: &str) -> i64 {
    let (_, body) = server.login("head").await.get_json("/api/v1/people").await;
    body["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["username"] == username)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// The text of `css` once it holds `want`, or as it is after 10 s: a page sent by a form may
/// still show the one before it, whose elements go stale as the new one arrives.
async fn settled(c: &fantoccini::Client, css: &str, want: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        wait_for(c, css).await;
        let text = text_of(c, css).await;
        if text.contains(want) || std::time::Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Picks `course`, the day and the people on the training form, and sends it.
async fn record(c: &fantoccini::Client, course: &str, day: &str, people: &[i64]) {
    wait_for(c, "#training-form").await;
    click(c, &format!("#course option[value='{course}']")).await;
    // Date inputs take their value in the browser's locale when typed: set it as the form sends it.
    c.execute(
        &format!("document.getElementById('held_on').value = '{day}';"),
        vec![],
    )
    .await
    .unwrap();
    for id in people {
        click(c, &format!("#attendee-{id}")).await;
    }
    fill(c, "#note", "Recorded in the browser test").await;
    click(c, "#record-training").await;
    wait_for(c, "#training-history").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn training_an_overdue_dsl_course_and_the_staff_code_gate_in_chromium() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let base = server.url.clone();
    let mut teachers = Vec::new();
    for t in ["teacher1", "teacher2", "teacher3"] {
        teachers.push(id_of(&server, t).await);
    }
    let dsl = id_of(&server, "dsl").await;
    let (_driver, c, _profile) = start_browser().await;

    sign_in(&c, &base, "head").await;
    click(&c, "nav a[href='/registers/training']").await;
    record(&c, "online_safety_update", "2026-11-02", &teachers).await;
    let row = settled(&c, &format!("#training-person-{}", teachers[0]), "current").await;
    assert!(
        row.contains("current") && row.contains("until 2027-11-02"),
        "{row}"
    );
    shot(&c, "registers-10-training-recorded").await;
    record(&c, "dsl", "2024-10-03", &[dsl]).await;
    let row = settled(&c, &format!("#training-person-{dsl}"), "expired").await;
    assert!(
        row.contains("expired") && row.contains("ran out 2026-10-03"),
        "{row}"
    );
    scroll_to(&c, &format!("#training-person-{dsl}")).await;
    shot(&c, "registers-11-dsl-training-expired").await;
    c.goto(&format!("{base}/")).await.unwrap();
    let due = wait_for(&c, "#due").await.text().await.unwrap();
    assert!(due.contains("Training run out or running out"), "{due}");
    assert!(due.contains("was due 2026-10-03"), "{due}");
    shot(&c, "registers-12-head-home-due").await;
    sign_out(&c).await;
    sign_in(&c, &base, "dsl").await;
    let due = wait_for(&c, "#due").await.text().await.unwrap();
    assert!(due.contains("Training run out or running out"), "{due}");
    shot(&c, "registers-13-dsl-home-due").await;
    sign_out(&c).await;

    // The head adds the 2026 staff code of conduct, approved by the governors.
    sign_in(&c, &base, "head").await;
    click(&c, "nav a[href='/registers/documents']").await;
    wait_for(&c, "#document-form").await;
    click(&c, "#kind option[value='staff_code']").await;
    fill(&c, "#version", "2026").await;
    fill(&c, "#title", "Staff Code of Conduct").await;
    fill(&c, "#revised_by", "Tom Gleeson").await;
    fill(&c, "#minute_ref", "FGB 20/10/26 item 7").await;
    c.execute(
        "document.getElementById('approved_on').value = '2026-10-20';",
        vec![],
    )
    .await
    .unwrap();
    fill(&c, "#body", "I will use school technology for school work.\nI will keep my password to myself.\nI will report any concern about a child to the DSL at once.").await;
    scroll_to(&c, "#document-form").await;
    shot(&c, "registers-14-new-staff-code").await;
    click(&c, "#add-document").await;
    // The head has not signed it either: the code comes first.
    wait_for(&c, "#code-gate").await;
    click(&c, "#accept-aup").await;
    wait_for(&c, "#document-list").await;
    let text = body_text(&c).await;
    assert!(
        text.contains("2026-10-20 (minute FGB 20/10/26 item 7)") && text.contains("2028-10-20"),
        "{text}"
    );
    shot(&c, "registers-15-documents").await;
    sign_out(&c).await;

    // A teacher asks for the report form: the code comes first, then the form.
    c.goto(&format!("{base}/concerns/new")).await.unwrap();
    testkit::browser::fill_sign_in(&c, "teacher1").await;
    wait_for(&c, "#code-gate").await;
    let text = body_text(&c).await;
    assert!(
        text.contains("Staff Code of Conduct, version 2026") && text.contains("report any concern"),
        "{text}"
    );
    shot(&c, "registers-16-teacher-sent-to-the-code").await;
    c.goto(&format!("{base}/alerts")).await.unwrap();
    wait_for(&c, "#code-gate").await;
    c.goto(&format!("{base}/aup?return=/concerns/new"))
        .await
        .unwrap();
    click(&c, "#accept-aup").await;
    wait_for(&c, "#summary").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/concerns/new")
    );
    shot(&c, "registers-17-after-signing-the-form-opens").await;
    c.goto(&format!("{base}/account")).await.unwrap();
    let status = wait_for(&c, "#aup-status").await.text().await.unwrap();
    assert!(status.contains("version 2026 signed"), "{status}");
}

/// The data manager records a consent and its withdrawal; the teacher's class list shows it at
/// once; the website editor checks photos before publishing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_the_class_list_and_the_publish_check_in_chromium() {
    let server = Server::start(BIN, Backend::Sqlite, "coleridge").await;
    let base = server.url.clone();
    let pupil = id_of(&server, "pupil1").await;
    let (_driver, c, _profile) = start_browser().await;
    sign_in(&c, &base, "data").await;
    click(&c, "nav a[href='/registers/consent']").await;
    wait_for(&c, "#consent-form").await;
    let answer = |given: &'static str| {
        let c = c.clone();
        async move {
            click(&c, &format!("#pupil option[value='{pupil}']")).await;
            click(&c, "#purpose option[value='website']").await;
            click(&c, &format!("#answer option[value='{given}']")).await;
            fill(&c, "#by_whom", "Mrs Example (mother)").await;
            c.execute(
                "document.getElementById('on').value = '2026-10-01';",
                vec![],
            )
            .await
            .unwrap();
            click(&c, "#record-consent").await;
            wait_for(&c, "#consent-list").await;
        }
    };
    answer("given").await;
    let row = settled(&c, &format!("#consent-pupil-{pupil}"), "given").await;
    assert!(row.contains("given"), "{row}");
    shot(&c, "registers-20-consent-given").await;
    answer("refused").await;
    let row = settled(&c, &format!("#consent-pupil-{pupil}"), "refused").await;
    assert!(row.contains("refused"), "{row}");
    scroll_to(&c, "#consent-history").await;
    shot(&c, "registers-21-consent-history").await;
    sign_out(&c).await;
    sign_in(&c, &base, "teacher1").await;
    click(&c, "nav a[href='/registers/consent']").await;
    // Their class, from the chooser.
    wait_for(&c, "#class-choice").await;
    click(&c, "#class-choice option[value='Robins']").await;
    click(&c, "form[aria-label='Choose a class'] button").await;
    let row = settled(&c, &format!("#consent-pupil-{pupil}"), "refused").await;
    assert!(row.contains("refused"), "{row}");
    shot(&c, "registers-22-teacher-class-list").await;
    // The publish check: a photo with a pupil's name in its file name.
    let dir = tempfile::tempdir().unwrap();
    let (_, people) = server.login("head").await.get_json("/api/v1/people").await;
    let name = people["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == pupil)
        .unwrap()["display_name"]
        .as_str()
        .unwrap()
        .replace(' ', "_");
    let photo = dir.path().join(format!("{name}.jpg"));
    std::fs::write(&photo, media::fixtures::jpeg()).unwrap();
    let hall = dir.path().join("hall.jpg");
    std::fs::write(&hall, media::fixtures::jpeg()).unwrap();
    click(&c, "#to-publish-check").await;
    let input = wait_for(&c, "#files").await;
    input
        .send_keys(&format!("{}\n{}", photo.display(), hall.display()))
        .await
        .unwrap();
    click(&c, "#run-publish-check").await;
    let flagged = wait_for(&c, "#publish-flagged").await.text().await.unwrap();
    assert!(flagged.contains("1 of 2"), "{flagged}");
    let text = body_text(&c).await;
    assert!(
        text.contains("name_in_filename") && text.contains("no_consent"),
        "{text}"
    );
    shot(&c, "registers-23-publish-check").await;
}
