//! Sign-in security through the real binary (issue 20, parts 5 and 6): "my password may be
//! known to someone" ends every session and forces a new password (web, API and proxy); a
//! role the profile requires a second factor of reaches only the enrolment page until it has
//! one; then it signs in with a code, and wrong, replayed and reused codes are refused and
//! counted. Codes are computed with totp-rs on the server's clock.

use crate::BIN;
use crate::proxy::{curl_as, profile_copy};
use serde_json::{Value, json};
use testkit::{Backend, Client, DEMO_PASSWORD, Server, TestDb, totp_code};

/// The text between `start` and `end` in `page`.
fn between(page: &str, start: &str, end: &str) -> String {
    page.split(start)
        .nth(1)
        .and_then(|rest| rest.split(end).next())
        .unwrap_or_else(|| panic!("no `{start}` in {page}"))
        .to_string()
}

/// Enrols a second factor for `client`'s user through the pages: (the secret the page shows,
/// the recovery codes it shows once).
pub(crate) async fn enrol(server: &Server, client: &Client) -> (String, Vec<String>) {
    let res = client
        .post_form("/account/two-factor/start", &[("x", "")])
        .await;
    assert_eq!(res.status(), 303);
    let page = client.get_text("/account/two-factor").await;
    assert!(page.contains("data:image/png;base64,"), "a QR code: {page}");
    let secret = between(&page, "<code id=\"secret\">", "</code>");
    let code = totp_code(&secret, server.clock.now());
    let res = client
        .post_form("/account/two-factor/confirm", &[("code", code.as_str())])
        .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let list = between(&page, "<ol id=\"codes\">", "</ol>");
    let codes: Vec<String> = list
        .split("<code>")
        .skip(1)
        .filter_map(|c| c.split("</code>").next())
        .map(str::to_string)
        .collect();
    assert_eq!(codes.len(), 10, "{page}");
    (secret, codes)
}

/// The API's sign-in with a code: (status, body).
async fn api_login(
    server: &Server,
    user: &str,
    password: &str,
    totp: Option<&str>,
) -> (u16, Value) {
    let mut body = json!({"username": user, "password": password});
    if let Some(code) = totp {
        body["totp"] = json!(code);
    }
    let res = server
        .client()
        .http
        .post(format!("{}/api/v1/login", server.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A cookie's `name=value` from a response's `Set-Cookie` headers, if one sets it non-empty.
fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|kv| kv.starts_with(&format!("{name}=")) && kv.len() > name.len() + 1)
        .map(str::to_string)
}

/// The web form's sign-in; the response (redirects are not followed).
async fn form_login(server: &Server, user: &str, password: &str) -> reqwest::Response {
    server
        .client()
        .http
        .post(format!("{}/login", server.url))
        .form(&[("username", user), ("password", password), ("next", "/")])
        .send()
        .await
        .unwrap()
}

/// The code's step of the web form with `cookie` (the challenge); the response.
async fn form_code(server: &Server, cookie: &str, code: &str) -> reqwest::Response {
    server
        .client()
        .http
        .post(format!("{}/login/code", server.url))
        .header("cookie", cookie)
        .form(&[("code", code), ("next", "/")])
        .send()
        .await
        .unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The reasons of the register of failed sign-ins, newest first.
async fn failure_reasons(server: &Server) -> Vec<String> {
    let store = server.store().await;
    let rows = store.recent_sign_in_failures(50).await.unwrap();
    store.close().await;
    rows.into_iter().map(|r| r.reason).collect()
}

async fn failed_logins(server: &Server, user: &str) -> i64 {
    let store = server.store().await;
    let p = store.person_by_username(user).await.unwrap().unwrap();
    let n = store.account(p.id).await.unwrap().unwrap().failed_logins;
    store.close().await;
    n
}

/// Acceptance: under Holt (which requires a second factor of its safeguarding team, the
/// Headteacher and the Chair), the DSL signed in with the password reaches only the enrolment
/// page (the API: 403 saying so); once enrolled the same session reaches everything; from then
/// on sign-in is password then code; a wrong or replayed code is refused and counted towards
/// the lockout and in the register of failed sign-ins; recovery codes work once each.
async fn a_required_second_factor_is_enrolled_then_asked_for(backend: Backend) {
    let server = Server::start_requiring_totp(
        BIN,
        TestDb::new(backend).await,
        "holt",
        &["--no-dns", "--no-proxy"],
    );
    let dsl = server.login("dsl").await;
    let (status, me) = dsl.get_json("/api/v1/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["two_factor_enrolment_required"], true, "{me}");
    let (status, body) = dsl.get_json("/api/v1/concerns").await;
    assert_eq!(status, 403);
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("two-factor") && error.contains("/account/two-factor"),
        "{error}"
    );
    let res = dsl
        .post_json(
            "/api/v1/concerns",
            &json!({"subjects": ["pupil3"], "category": "contact.online_bullying",
                    "details": "x"}),
        )
        .await;
    assert_eq!(res.status(), 403);
    // Every page, the code of conduct's and the account's included, leads to the enrolment page.
    for path in ["/", "/concerns", "/alerts", "/people", "/aup", "/account"] {
        let res = dsl.get(path).await;
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(location(&res), "/account/two-factor", "{path}");
    }
    let page = dsl.get_text("/account/two-factor").await;
    assert!(
        page.contains("requires two-factor sign-in for your role"),
        "{page}"
    );
    // A teacher, whose role needs none, is not held.
    let teacher = server.login("teacher1").await;
    assert_eq!(teacher.get("/api/v1/concerns").await.status(), 200);

    let (secret, codes) = enrol(&server, &dsl).await;
    assert_eq!(dsl.get("/api/v1/concerns").await.status(), 200);
    let (_, me) = dsl.get_json("/api/v1/me").await;
    assert_eq!(me["two_factor_enrolment_required"], false, "{me}");
    let page = dsl.get_text("/account/two-factor").await;
    assert!(page.contains("cannot be turned off"), "{page}");
    assert!(
        !page.contains(&secret),
        "the secret is shown only while setting up"
    );

    // The API: the password alone is not enough; a wrong code is refused and counted.
    let (status, body) = api_login(&server, "dsl", DEMO_PASSWORD, None).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("`totp`"),
        "{body}"
    );
    assert_eq!(
        failed_logins(&server, "dsl").await,
        0,
        "no code is no wrong code"
    );
    let (status, _) = api_login(&server, "dsl", DEMO_PASSWORD, Some("000000")).await;
    assert_eq!(status, 401);
    assert_eq!(failed_logins(&server, "dsl").await, 1);
    assert_eq!(failure_reasons(&server).await[0], "wrong_code");
    // The next step's code signs in (the enrolment used this one's); again, it is a replay.
    let next = totp_code(&secret, server.clock.now() + chrono::Duration::seconds(30));
    let (status, body) = api_login(&server, "dsl", DEMO_PASSWORD, Some(&next)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(failed_logins(&server, "dsl").await, 0);
    let (status, _) = api_login(&server, "dsl", DEMO_PASSWORD, Some(&next)).await;
    assert_eq!(status, 401);
    assert_eq!(failed_logins(&server, "dsl").await, 1);
    assert_eq!(failure_reasons(&server).await[0], "replayed_code");
    // So is the code of the step before.
    let before = totp_code(&secret, server.clock.now());
    let (status, _) = api_login(&server, "dsl", DEMO_PASSWORD, Some(&before)).await;
    assert_eq!(status, 401);
    assert_eq!(failed_logins(&server, "dsl").await, 2);

    // The web form: the password leads to the code's page, with a challenge that is no
    // session; a wrong code is refused; a recovery code signs in, once.
    let res = form_login(&server, "dsl", DEMO_PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login/code?next=/");
    assert!(set_cookie(&res, "palisade_session").is_none());
    let challenge = set_cookie(&res, "palisade_challenge").expect("a challenge cookie");
    let half = server.client().http;
    for path in ["/concerns", "/api/v1/me"] {
        let res = half
            .get(format!("{}{path}", server.url))
            .header("cookie", &challenge)
            .send()
            .await
            .unwrap();
        assert!(
            matches!(res.status().as_u16(), 303 | 401),
            "{path}: {}",
            res.status()
        );
        if res.status() == 303 {
            assert!(location(&res).starts_with("/login"), "{path}");
        }
    }
    let res = half
        .get(format!("{}/login/code", server.url))
        .header("cookie", &challenge)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = form_code(&server, &challenge, "111111").await;
    assert_eq!(res.status(), 401);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("wrong or was already used")
    );
    let res = form_code(&server, &challenge, &codes[0].to_uppercase()).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
    let session = set_cookie(&res, "palisade_session").expect("a session");
    let res = half
        .get(format!("{}/api/v1/me", server.url))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The used recovery code does not work again.
    let res = form_login(&server, "dsl", DEMO_PASSWORD).await;
    let challenge = set_cookie(&res, "palisade_challenge").unwrap();
    let res = form_code(&server, &challenge, &codes[0]).await;
    assert_eq!(res.status(), 401);
    let store = server.store().await;
    let id = store.person_by_username("dsl").await.unwrap().unwrap().id;
    assert_eq!(store.recovery_codes_left(id).await.unwrap(), 9);
    let trail = store.audit_of("person", &id.to_string()).await.unwrap();
    for action in ["account.totp_enrolled", "account.recovery_code_used"] {
        assert_eq!(
            trail.iter().filter(|e| e.action == action).count(),
            1,
            "{action}: {trail:?}"
        );
    }
    assert!(trail.iter().all(|e| !e.details.contains(&secret)));
    store.close().await;

    // Wrong codes lock the account as wrong passwords do (Holt: five in a row); the right
    // password then answers locked.
    let res = form_code(&server, &challenge, "222222").await;
    assert_eq!(res.status(), 401);
    let mut last = 0;
    for code in ["333333", "444444", "555555"] {
        last = form_code(&server, &challenge, code).await.status().as_u16();
    }
    assert_eq!(last, 429, "the fifth failure in a row locks");
    let (status, _) = api_login(&server, "dsl", DEMO_PASSWORD, Some(&next)).await;
    assert_eq!(status, 429);
    let store = server.store().await;
    let trail = store.audit_of("person", &id.to_string()).await.unwrap();
    assert!(
        trail.iter().any(|e| e.action == "account.locked"),
        "{trail:?}"
    );
    store.close().await;
}

both_backends!(
    a_safeguarding_login_without_totp_reaches_only_enrolment_then_signs_in_with_a_code,
    a_required_second_factor_is_enrolled_then_asked_for
);

/// Acceptance: "my password may be known" from the API ends every session of the account (the
/// other client's too), the proxy's remembered sign-in, and the API's sign-in until a new
/// password is set; the web's next sign-in reaches only the page that sets one; after it,
/// everything works as before. The network manager is mailed, and the audit trail says who.
async fn a_known_password_is_replaced_before_anything_else(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let profile = profile_copy(
        "holt",
        dir.path(),
        "login_groups = [\"ks2\"]\nstaff_group = \"staff\"",
    );
    let sink = testkit::smtp::SmtpSink::start().await;
    let mut args = vec!["--no-dns".to_string()];
    args.extend(testkit::smtp::mail_args(sink.addr));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start_with(BIN, TestDb::new(backend).await, &profile, &args);
    let (ks2, lesson) = ("127.0.0.12", "http://lessons.example/fractions");
    let old = format!("teacher1:{DEMO_PASSWORD}");
    let laptop = server.login("teacher1").await;
    let phone = server.login("teacher1").await;
    // Signed in at the proxy (sent to the code of conduct first: not asked to sign in again).
    let (status, text) = curl_as(&server, ks2, Some(&old), lesson);
    assert_ne!(status, 407, "{text}");

    let res = laptop
        .post_json("/api/v1/account/password-known", &json!({}))
        .await;
    assert_eq!(res.status(), 204);
    for c in [&laptop, &phone] {
        assert_eq!(c.get("/api/v1/me").await.status(), 401);
    }
    let (status, body) = api_login(&server, "teacher1", DEMO_PASSWORD, None).await;
    assert_eq!(status, 403);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("may be known"),
        "{body}"
    );
    let (status, text) = curl_as(&server, ks2, Some(&old), lesson);
    assert_eq!(status, 407, "{text}");
    assert!(text.contains("may be known"), "{text}");

    // The web: the next sign-in reaches the account page only, which says why.
    let res = form_login(&server, "teacher1", DEMO_PASSWORD).await;
    assert_eq!(res.status(), 303);
    let session = set_cookie(&res, "palisade_session").unwrap();
    let web = Client {
        cookie: Some(session),
        ..server.client()
    };
    let res = web.get("/concerns").await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/account"), "{}", location(&res));
    let page = web.get_text("/account").await;
    assert!(page.contains("may be known to someone else"), "{page}");
    let csrf = between(&page, "name=\"csrf_token\" value=\"", "\"");
    let web = Client {
        csrf: Some(csrf),
        ..web
    };
    let new = "a-brand-new-password-7";
    let res = web
        .post_form(
            "/account/password",
            &[("current", DEMO_PASSWORD), ("new", new), ("confirm", new)],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?changed=1");
    // Now everything works again, with the new password.
    let mut again = server.client();
    assert_eq!(again.login("teacher1", new).await, 200);
    assert_eq!(again.get("/api/v1/concerns").await.status(), 200);
    assert_eq!(again.get("/concerns").await.status(), 200);
    let (status, text) = curl_as(&server, ks2, Some(&format!("teacher1:{new}")), lesson);
    assert_ne!(status, 407, "{text}");

    let store = server.store().await;
    let teacher = store.person_by_username("teacher1").await.unwrap().unwrap();
    let trail = store
        .audit_of("person", &teacher.id.to_string())
        .await
        .unwrap();
    let row = trail
        .iter()
        .find(|e| e.action == "account.compromised")
        .unwrap();
    assert_eq!(row.actor_id, Some(teacher.id));
    let mail = mailed(&sink, 1).await;
    assert_eq!(
        mail,
        ["netman@school.example"],
        "a teacher's: the network manager only"
    );
    assert!(
        sink.received()
            .iter()
            .all(|m| !m.data.contains(DEMO_PASSWORD) && !m.data.contains(new))
    );

    // The Headteacher and the network manager do the same to anyone; nobody else may.
    let pupil = store.person_by_username("pupil3").await.unwrap().unwrap();
    let head = server.login("head").await;
    let res = teacher_may_not(&server, pupil.id).await;
    assert_eq!(res, 403);
    let pupil_client = server.login("pupil3").await;
    // The button is on the person's page for the Headteacher, not for the data manager, who
    // sees the page too.
    let page = head.get_text(&format!("/people/{}", pupil.id)).await;
    assert!(page.contains("id=\"password-known\""), "{page}");
    let res = server
        .login("data")
        .await
        .get(&format!("/people/{}", pupil.id))
        .await;
    assert_eq!(res.status(), 200);
    assert!(!res.text().await.unwrap().contains("id=\"password-known\""));
    let res = head
        .post_form(
            &format!("/people/{}/account/password-known", pupil.id),
            &[("x", "")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(pupil_client.get("/api/v1/me").await.status(), 401);
    let netman = server.login("netman").await;
    let res = netman
        .post_json(
            &format!("/api/v1/people/{}/password-known", pupil.id),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 204);
    // A pupil's account: the DSL is told as well as the network manager, each time.
    let to = mailed(&sink, 5).await;
    assert_eq!(
        to.iter().filter(|t| *t == "dsl@school.example").count(),
        2,
        "{to:?}"
    );
    assert_eq!(
        to.iter().filter(|t| *t == "netman@school.example").count(),
        3,
        "{to:?}"
    );
    let trail = store
        .audit_of("person", &pupil.id.to_string())
        .await
        .unwrap();
    let head_id = store.person_by_username("head").await.unwrap().unwrap().id;
    assert!(
        trail
            .iter()
            .any(|e| e.action == "account.compromised" && e.actor_id == Some(head_id)),
        "{trail:?}"
    );
    store.close().await;
    let (ok, out) = server.audit_verify();
    assert!(ok, "{out}");
}

/// The recipients of the mails about known passwords the sink has, once it has `n` (or after
/// ten seconds), sorted.
async fn mailed(sink: &testkit::smtp::SmtpSink, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut to: Vec<String> = sink
            .received()
            .into_iter()
            .filter(|m| m.data.contains("Password may be known"))
            .flat_map(|m| m.to)
            .collect();
        if to.len() >= n || std::time::Instant::now() > deadline {
            to.sort();
            return to;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A teacher asking to force another's new password: the status.
async fn teacher_may_not(server: &Server, id: i64) -> u16 {
    server
        .login("teacher2")
        .await
        .post_form(
            &format!("/people/{id}/account/password-known"),
            &[("x", "")],
        )
        .await
        .status()
        .as_u16()
}

both_backends!(
    a_password_said_to_be_known_ends_every_session_and_forces_a_new_one,
    a_known_password_is_replaced_before_anything_else
);

/// The profile decides who needs a second factor: a teacher turns one on and off (with a code)
/// of their own accord; the DSL, whose role needs one, cannot turn it off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_factor_is_optional_where_the_profile_does_not_require_it() {
    let server = Server::start_requiring_totp(
        BIN,
        TestDb::new(Backend::Sqlite).await,
        "holt",
        &["--no-dns", "--no-proxy"],
    );
    let teacher = server.login("teacher2").await;
    let (secret, _) = enrol(&server, &teacher).await;
    let (status, _) = api_login(&server, "teacher2", DEMO_PASSWORD, None).await;
    assert_eq!(status, 401, "enrolled: the code is asked for");
    let code = totp_code(&secret, server.clock.now() + chrono::Duration::seconds(30));
    let res = teacher
        .post_form("/account/two-factor/remove", &[("code", "000000")])
        .await;
    assert_eq!(res.status(), 400);
    let res = teacher
        .post_form("/account/two-factor/remove", &[("code", code.as_str())])
        .await;
    assert_eq!(res.status(), 303);
    let (status, _) = api_login(&server, "teacher2", DEMO_PASSWORD, None).await;
    assert_eq!(status, 200, "turned off: the password is enough again");
    let dsl = server.login("deputy").await;
    let (secret, _) = enrol(&server, &dsl).await;
    let code = totp_code(&secret, server.clock.now() + chrono::Duration::seconds(30));
    let res = dsl
        .post_form("/account/two-factor/remove", &[("code", code.as_str())])
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("cannot be turned off"));
    let store = server.store().await;
    let id = store
        .person_by_username("teacher2")
        .await
        .unwrap()
        .unwrap()
        .id;
    let trail = store.audit_of("person", &id.to_string()).await.unwrap();
    assert!(trail.iter().any(|e| e.action == "account.totp_removed"));
    store.close().await;
}

/// A lost phone: whoever could give the person their roles turns their second factor off
/// from the person's page, their sessions end and the password alone signs in again (to
/// enrol anew where the profile requires it). Nobody resets their own, nor that of someone
/// whose roles they could not give.
async fn a_lost_second_factor_is_reset_by_whoever_could_give_the_roles(backend: Backend) {
    let server = Server::start(BIN, backend, "holt").await;
    let teacher = server.login("teacher2").await;
    enrol(&server, &teacher).await;
    let deputy = server.login("deputy").await;
    let (deputy_secret, old_codes) = enrol(&server, &deputy).await;
    let head = server.login("head").await;
    enrol(&server, &head).await;
    for who in ["teacher2", "deputy", "head"] {
        let (status, _) = api_login(&server, who, DEMO_PASSWORD, None).await;
        assert_eq!(status, 401, "{who} enrolled: the code is asked for");
    }
    let store = server.store().await;
    let id_of = |name: &'static str| {
        let store = store.clone();
        async move { store.person_by_username(name).await.unwrap().unwrap().id }
    };
    let (teacher_id, deputy_id, head_id) = (
        id_of("teacher2").await,
        id_of("deputy").await,
        id_of("head").await,
    );
    let reset = |id: i64| format!("/people/{id}/account/two-factor/reset");

    // The network manager cannot give the Deputy DSL role: no reset, and no button.
    let netman = server.login("netman").await;
    let page = netman.get_text(&format!("/people/{deputy_id}")).await;
    assert!(!page.contains("two-factor-reset"), "{page}");
    let res = netman.post_form(&reset(deputy_id), &[("x", "")]).await;
    assert_eq!(res.status(), 403);
    // A teacher may not; nor may the Headteacher reset their own.
    let other = server.login("teacher1").await;
    assert_eq!(
        other
            .post_form(&reset(teacher_id), &[("x", "")])
            .await
            .status(),
        403
    );
    assert_eq!(
        head.post_form(&reset(head_id), &[("x", "")]).await.status(),
        403
    );
    for who in ["deputy", "head"] {
        let (status, _) = api_login(&server, who, DEMO_PASSWORD, None).await;
        assert_eq!(status, 401, "{who}'s second factor is still on");
    }

    // The Headteacher resets the teacher's, from the teacher's page.
    let page = head.get_text(&format!("/people/{teacher_id}")).await;
    assert!(page.contains("two-factor-reset"), "{page}");
    let res = head.post_form(&reset(teacher_id), &[("x", "")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        teacher.get("/account").await.status(),
        303,
        "the teacher's sessions ended"
    );
    let (status, body) = api_login(&server, "teacher2", DEMO_PASSWORD, None).await;
    assert_eq!(status, 200, "the password alone signs in again: {body}");
    // Twice is a conflict, not a second reset.
    assert_eq!(
        head.post_form(&reset(teacher_id), &[("x", "")])
            .await
            .status(),
        409
    );
    let trail = store
        .audit_of("person", &teacher_id.to_string())
        .await
        .unwrap();
    let row = trail
        .iter()
        .find(|e| e.action == "account.totp_reset")
        .expect("the reset is in the audit trail");
    assert_eq!(row.actor_id, Some(head_id));
    // The teacher is told, in case they did not ask for it.
    let mail = store.due_mail(100).await.unwrap();
    let told = mail
        .iter()
        .find(|m| m.kind == "totp_reset")
        .expect("the holder is mailed");
    assert_eq!(told.recipient, "teacher2@school.example");
    assert!(
        told.body.contains("If you did not ask for this"),
        "{}",
        told.body
    );
    assert_eq!(
        mail.iter().filter(|m| m.kind == "totp_reset").count(),
        1,
        "once: the refused and the repeated resets mail nobody"
    );

    // The deputy, who still has the app, makes new recovery codes: a wrong code is refused,
    // and with a right one the old list stops working and the new one signs in.
    let renew = "/account/two-factor/recovery-codes";
    let res = deputy.post_form(renew, &[("code", "000000")]).await;
    assert_eq!(res.status(), 400);
    let code = totp_code(
        &deputy_secret,
        server.clock.now() + chrono::Duration::seconds(30),
    );
    let res = deputy.post_form(renew, &[("code", code.as_str())]).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let list = between(&page, "<ol id=\"codes\">", "</ol>");
    let new_codes: Vec<&str> = list
        .split("<code>")
        .skip(1)
        .filter_map(|c| c.split("</code>").next())
        .collect();
    assert_eq!(new_codes.len(), 10, "{page}");
    let (status, _) = api_login(&server, "deputy", DEMO_PASSWORD, Some(&old_codes[0])).await;
    assert_eq!(status, 401, "an old recovery code no longer signs in");
    let (status, _) = api_login(&server, "deputy", DEMO_PASSWORD, Some(new_codes[0])).await;
    assert_eq!(status, 200, "a new one does");
    let trail = store
        .audit_of("person", &deputy_id.to_string())
        .await
        .unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.action == "account.recovery_codes_renewed")
    );
    store.close().await;
}

both_backends!(
    a_lost_second_factor_is_reset_from_the_persons_page,
    a_lost_second_factor_is_reset_by_whoever_could_give_the_roles
);
