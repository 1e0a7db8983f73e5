//! Sign-in with the school's accounts (issue 21, part 2) against a real OpenID provider on
//! loopback (panva's `oidc-provider`, see `testkit::oidc`): a staff member signs in through it
//! and is not asked for Palisade's code; a used state is refused; an email outside the
//! school's domains and a disabled account are refused; a role left out of
//! `sign_in.password_for` cannot use a password, and one in it still can. One run in headless
//! Chromium clicks the button.

use crate::{BIN, seed_profile_text};
use testkit::oidc::{ClientConfig, Provider, User};
use testkit::{Backend, Client, DEMO_PASSWORD, Server, TestDb};

/// The provider's users: staff of the demo school (whose addresses are on
/// `school.example`), someone from elsewhere, and one the provider has not verified.
fn users() -> Vec<User> {
    vec![
        User::verified("dsl", "DSL@school.example"),
        User::verified("head", "head@school.example"),
        User::verified("teacher1", "teacher1@school.example"),
        User::verified("outsider", "someone@elsewhere.example"),
        User {
            email_verified: Some(false),
            ..User::verified("unverified", "teacher2@school.example")
        },
    ]
}

/// Holt's profile with the provider's section, staff kept off passwords, in `dir`.
fn profile(provider: &Provider, dir: &std::path::Path) -> String {
    let section = provider.profile_section(&dir.join("oidc-secret"), &["school.example"]);
    let text = format!(
        "{}\n[sign_in]\npassword_for = [\"pupil\", \"parent\"]\n\n{section}",
        seed_profile_text("holt")
    );
    let path = dir.join("holt-oidc.toml");
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// Signs `login` in through the provider; the callback's status, body and the new session's
/// cookie (if any).
async fn through_provider(
    server: &Server,
    provider: &Provider,
    login: &str,
) -> (u16, String, Option<String>, testkit::oidc::Journey) {
    let journey = provider.sign_in(&server.url, login).await;
    let (status, body, cookie) = callback(server, &journey).await;
    (status, body, cookie, journey)
}

/// Palisade's callback as the browser would reach it, with the state's cookie.
async fn callback(
    server: &Server,
    journey: &testkit::oidc::Journey,
) -> (u16, String, Option<String>) {
    let c = server.client();
    let res = c
        .http
        .get(format!("{}{}", server.url, journey.callback))
        .header("cookie", &journey.state_cookie)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("palisade_session=") && !v.starts_with("palisade_session=;"))
        .and_then(|v| v.split(';').next())
        .map(str::to_string);
    (status, res.text().await.unwrap(), cookie)
}

/// A client on the session a sign-in through the provider started.
async fn signed_in(server: &Server, cookie: String) -> Client {
    let mut c = server.client();
    c.cookie = Some(cookie);
    let (status, me) = c.get_json("/api/v1/me").await;
    assert_eq!(status, 200, "{me}");
    c.csrf = me["csrf_token"].as_str().map(str::to_string);
    c
}

async fn sign_in_through_the_provider(backend: Backend) {
    let provider = Provider::start(&users(), ClientConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let profile = profile(&provider, dir.path());
    // As `serve` has it: Holt requires a second factor of the safeguarding leads.
    let server = Server::start_requiring_totp(
        BIN,
        TestDb::new(backend).await,
        &profile,
        &["--no-dns", "--no-proxy"],
    );

    // The sign-in page offers the button.
    let page = server.client().get_text("/login").await;
    assert!(page.contains("id=\"oidc-sign-in\""), "{page}");
    assert!(page.contains("Sign in with your school account"), "{page}");

    // The DSL signs in through the provider (the email matched whatever its case) and lands
    // on the page asked for, with no Palisade code or enrolment asked of them.
    let (status, body, cookie, journey) = through_provider(&server, &provider, "dsl").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("url=/concerns"), "{body}");
    let dsl = signed_in(&server, cookie.expect("a session cookie")).await;
    let (_, me) = dsl.get_json("/api/v1/me").await;
    assert_eq!(me["username"], "dsl", "{me}");
    let concerns = dsl.get("/concerns").await;
    assert_eq!(concerns.status().as_u16(), 200);
    assert!(concerns.text().await.unwrap().contains("concern-list"));

    // The audit trail says how.
    let store = server.store().await;
    let trail = store.audit_page(None, 200).await.unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.action == "login.succeeded" && e.details.contains("\"method\":\"oidc\"")),
        "{trail:?}"
    );

    // The same answer again (a replayed state) is refused, and starts no session.
    let (status, body, cookie) = callback(&server, &journey).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("already used or took too long"), "{body}");
    assert!(cookie.is_none());

    // A state from another browser (no cookie for it) is refused too.
    let other = provider.sign_in(&server.url, "dsl").await;
    let stolen = testkit::oidc::Journey {
        callback: other.callback.clone(),
        state_cookie: "palisade_oidc=someone-elses".into(),
    };
    let (status, _, cookie) = callback(&server, &stolen).await;
    assert_eq!((status, cookie.is_none()), (400, true));

    // An account outside the school's domains is refused, and so is an unverified email.
    let (status, body, cookie, _) = through_provider(&server, &provider, "outsider").await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("elsewhere.example cannot sign in here"),
        "{body}"
    );
    assert!(cookie.is_none());
    let (status, body, cookie, _) = through_provider(&server, &provider, "unverified").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("not verified"), "{body}");
    assert!(cookie.is_none());

    // The Headteacher (signed in through the provider) disables teacher1's account: teacher1
    // is then refused as the password's sign-in would refuse them.
    let (status, body, cookie, _) = through_provider(&server, &provider, "head").await;
    assert_eq!(status, 200, "{body}");
    let head = signed_in(&server, cookie.unwrap()).await;
    let (status, _, cookie, _) = through_provider(&server, &provider, "teacher1").await;
    assert_eq!((status, cookie.is_some()), (200, true));
    let teacher1 = store.person_by_username("teacher1").await.unwrap().unwrap();
    let res = head
        .post_form(
            &format!("/people/{}/account/disable", teacher1.id),
            &[("x", "")],
        )
        .await;
    assert!(res.status().as_u16() < 400, "{}", res.status());
    let (status, body, cookie, _) = through_provider(&server, &provider, "teacher1").await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("no active Palisade account for teacher1@school.example"),
        "{body}"
    );
    assert!(cookie.is_none());

    // The refusals are in the register of failed sign-ins.
    let failures = store.recent_sign_in_failures(50).await.unwrap();
    assert!(
        failures
            .iter()
            .filter(|f| f.reason == "oidc_refused")
            .count()
            >= 3,
        "{failures:?}"
    );

    // Staff are not in `sign_in.password_for`: their right password is refused, with the
    // button pointed to; a pupil's password still works.
    let mut api = server.client();
    assert_eq!(api.login("dsl", DEMO_PASSWORD).await, 403);
    let form = server
        .client()
        .post_form(
            "/login",
            &[("username", "dsl"), ("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(form.status().as_u16(), 403);
    let text = form.text().await.unwrap();
    assert!(
        text.contains("not a Palisade password: use the “Sign in with your school account” button"),
        "{text}"
    );
    let mut pupil = server.client();
    assert_eq!(pupil.login("pupil1", DEMO_PASSWORD).await, 200);
    let (ok, out) = server.audit_verify();
    assert!(ok, "{out}");

    // Sign-ins on their way are in the database: one outlives a restart of Palisade, and one
    // that comes back after more than ten minutes (on Palisade's clock) is refused.
    let soon = provider.sign_in(&server.url, "dsl").await;
    let late = provider.sign_in(&server.url, "dsl").await;
    let server = server.restart_later(chrono::Duration::minutes(1));
    let (status, body, cookie) = callback(&server, &soon).await;
    assert_eq!(status, 200, "{body}");
    assert!(cookie.is_some());
    let server = server.restart_later(chrono::Duration::minutes(10));
    let (status, body, cookie) = callback(&server, &late).await;
    assert_eq!(status, 400, "{body}");
    assert!(cookie.is_none());
}

both_backends!(
    sign_in_through_a_real_provider,
    sign_in_through_the_provider
);

/// An unreachable provider does not stop Palisade starting; its button says what happened
/// and the password still works for those who have one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_provider_shows_an_error_and_passwords_still_work() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("oidc-secret"), "x\n").unwrap();
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = format!(
        "{}\n[sign_in.oidc]\nprovider = \"google\"\nissuer = \"http://127.0.0.1:{port}\"\nclient_id = \"c\"\nclient_secret_file = \"{}\"\ndomains = [\"school.example\"]\n",
        seed_profile_text("holt"),
        dir.path().join("oidc-secret").display()
    );
    let path = dir.path().join("holt.toml");
    std::fs::write(&path, text).unwrap();
    let server = Server::start(BIN, Backend::Sqlite, &path.to_string_lossy()).await;
    let page = server.client().get_text("/login").await;
    assert!(page.contains("Sign in with Google"), "{page}");
    let res = server.client().get("/login/oidc").await;
    assert_eq!(res.status().as_u16(), 502);
    let text = res.text().await.unwrap();
    assert!(text.contains("could not be reached"), "{text}");
    let _ = server.login("dsl").await;
}

/// Headless Chromium: the button, the provider's login form, and the dashboard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_through_the_provider_and_lands_on_the_dashboard() {
    use testkit::browser::{body_text, click, fill, shot, start_browser, wait_for};
    let provider = Provider::start(&users(), ClientConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let profile = profile(&provider, dir.path());
    let server = Server::start_requiring_totp(
        BIN,
        TestDb::new(Backend::Sqlite).await,
        &profile,
        &["--no-dns", "--no-proxy"],
    );
    let (_driver, c, _browser_profile) = start_browser().await;
    c.goto(&format!("{}/login", server.url)).await.unwrap();
    wait_for(&c, "#oidc-sign-in").await;
    shot(&c, "oidc-01-sign-in-page").await;
    click(&c, "#oidc-sign-in").await;
    wait_for(&c, "#login").await;
    fill(&c, "#login", "dsl").await;
    fill(&c, "#password", testkit::oidc::PASSWORD).await;
    shot(&c, "oidc-02-provider-login").await;
    click(&c, "#submit").await;
    wait_for(&c, "header form[action='/logout']").await;
    let text = body_text(&c).await;
    assert!(!text.contains("authenticator"), "{text}");
    assert_eq!(
        c.current_url().await.unwrap().path(),
        "/",
        "lands on the dashboard"
    );
    shot(&c, "oidc-03-dashboard").await;
}
