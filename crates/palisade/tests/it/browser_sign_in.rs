//! Sign-in security in a real headless Chromium: "my password may be known" signs a second
//! browser out and forces a new password; a safeguarding lead enrols a second factor from its
//! QR code's page and signs in with codes. Screenshots go to target/screenshots/.

use crate::BIN;
use testkit::browser::{
    body_text, click, click_link, fill, fill_sign_in, fill_sign_in_with, shot, sign_in, sign_out,
    start_browser, text_of, wait_for, wait_for_path,
};
use testkit::{Backend, DEMO_PASSWORD, Server, TestDb, totp_code};

/// Acceptance: two browsers signed in as the same teacher; in one, "my password may be known"
/// ends the other's session (signed out at its next request) and leaves this one only the
/// page that sets a new password, as the next sign-in does too; after setting it, sign-in
/// works as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_password_signs_the_other_browser_out_and_forces_a_new_one_in_chromium() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let base = server.url.clone();
    let (_driver_one, one, _profile_one) = start_browser().await;
    let (_driver_two, two, _profile_two) = start_browser().await;
    sign_in(&one, &base, "teacher1").await;
    sign_in(&two, &base, "teacher1").await;
    two.goto(&format!("{base}/concerns")).await.unwrap();
    wait_for(&two, "#concern-list").await;
    shot(&two, "known-01-second-browser-signed-in").await;

    one.goto(&format!("{base}/account")).await.unwrap();
    wait_for(&one, "#password-known").await;
    shot(&one, "known-02-account-page").await;
    click(&one, "#password-known button").await;
    wait_for(&one, "#must-change").await;
    let text = body_text(&one).await;
    assert!(text.contains("may be known to someone else"), "{text}");
    assert!(!text.contains("My password may be known"), "{text}");
    shot(&one, "known-03-choose-a-new-password").await;

    // The other browser is signed out at its next request.
    two.goto(&format!("{base}/concerns")).await.unwrap();
    wait_for_path(&two, "/login").await;
    wait_for(&two, "#username").await;
    shot(&two, "known-04-second-browser-signed-out").await;

    // The next sign-in, with the old password, leads only to setting a new one.
    sign_out(&one).await;
    fill_sign_in(&one, "teacher1").await;
    wait_for(&one, "#must-change").await;
    one.goto(&format!("{base}/concerns")).await.unwrap();
    wait_for_path(&one, "/account").await;
    let new = "a-fresh-secret-phrase-9";
    fill(&one, "#current", DEMO_PASSWORD).await;
    fill(&one, "#new", new).await;
    fill(&one, "#confirm", new).await;
    click(&one, "form[action='/account/password'] button").await;
    wait_for(&one, ".flash").await;
    assert!(body_text(&one).await.contains("Your password was changed"));
    shot(&one, "known-05-password-changed").await;
    fill_sign_in_with(&one, "teacher1", new).await;
    wait_for(&one, "header form[action='/logout']").await;
    one.goto(&format!("{base}/concerns")).await.unwrap();
    wait_for(&one, "#concern-list").await;
    assert!(!body_text(&one).await.contains("may be known"));
    shot(&one, "known-06-signed-in-normally").await;
}

/// Acceptance: under Holt the DSL's first sign-in reaches only the enrolment page; it shows a
/// QR code and the secret as text (read here, and the code computed with totp-rs on the
/// server's clock); the recovery codes are shown once; from then on the sign-in asks for a
/// code, refuses a wrong one, and takes a recovery code once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_safeguarding_lead_enrols_totp_and_signs_in_with_codes_in_chromium() {
    let server = Server::start_requiring_totp(
        BIN,
        TestDb::new(Backend::Sqlite).await,
        "holt",
        &["--no-dns", "--no-proxy"],
    );
    let base = server.url.clone();
    let (_driver, c, _profile) = start_browser().await;
    c.goto(&format!("{base}/login")).await.unwrap();
    fill_sign_in(&c, "dsl").await;
    wait_for_path(&c, "/account/two-factor").await;
    wait_for(&c, "#required").await;
    shot(&c, "totp-01-enrolment-required").await;
    // Every other page leads back here.
    c.goto(&format!("{base}/concerns")).await.unwrap();
    wait_for_path(&c, "/account/two-factor").await;

    click(&c, "form[action='/account/two-factor/start'] button").await;
    wait_for(&c, "#qr").await;
    shot(&c, "totp-02-qr-code").await;
    let secret = text_of(&c, "#secret").await;
    assert_eq!(secret.trim().len(), 32, "{secret}");
    fill(&c, "#code", &totp_code(&secret, server.clock.now())).await;
    click(&c, "form[action='/account/two-factor/confirm'] button").await;
    wait_for(&c, "#codes").await;
    shot(&c, "totp-03-recovery-codes").await;
    let codes: Vec<String> = text_of(&c, "#codes")
        .await
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    click_link(&c, "Carry on").await;
    wait_for_path(&c, "/").await;
    c.goto(&format!("{base}/concerns")).await.unwrap();
    wait_for(&c, "#concern-list").await;
    sign_out(&c).await;

    // Password, then code: a wrong one is refused; the app's next one signs in.
    fill_sign_in(&c, "dsl").await;
    wait_for_path(&c, "/login/code").await;
    shot(&c, "totp-04-code-step").await;
    fill(&c, "#code", "000000").await;
    click(&c, "form[action='/login/code'] button").await;
    wait_for(&c, "#code-error").await;
    shot(&c, "totp-05-wrong-code").await;
    let next = totp_code(&secret, server.clock.now() + chrono::Duration::seconds(30));
    fill(&c, "#code", &next).await;
    click(&c, "form[action='/login/code'] button").await;
    wait_for(&c, "header form[action='/logout']").await;
    c.goto(&format!("{base}/concerns")).await.unwrap();
    wait_for(&c, "#concern-list").await;
    shot(&c, "totp-06-signed-in-with-a-code").await;
    sign_out(&c).await;

    // A recovery code works once.
    for attempt in 0..2 {
        fill_sign_in(&c, "dsl").await;
        wait_for_path(&c, "/login/code").await;
        fill(&c, "#code", &codes[0]).await;
        click(&c, "form[action='/login/code'] button").await;
        if attempt == 0 {
            wait_for(&c, "header form[action='/logout']").await;
            c.goto(&format!("{base}/account/two-factor")).await.unwrap();
            assert_eq!(text_of(&c, "#recovery-left").await, "9");
            shot(&c, "totp-07-recovery-code-used").await;
            sign_out(&c).await;
        } else {
            wait_for(&c, "#code-error").await;
        }
    }
}
