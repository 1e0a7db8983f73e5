//! Issue 15, finding 1: granting a role defeated the routing. The Headteacher could make a
//! Chair of Governors account and read a concern about themselves through it; the Data Manager
//! could make a DSL and read every concern; both could switch off the DSL and the Chair; whoever
//! made an account knew its password. Through the real binary, on both backends.

use crate::BIN;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use testkit::{Backend, Client, DEMO_PASSWORD, Server, TestDb};

async fn id_of(c: &Client, username: &str) -> i64 {
    let (status, people) = c.get_json("/api/v1/people").await;
    assert_eq!(status, 200, "{people}");
    people["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["username"] == username)
        .unwrap_or_else(|| panic!("no {username}"))["id"]
        .as_i64()
        .unwrap()
}

async fn exists(c: &Client, username: &str) -> bool {
    let (_, people) = c.get_json("/api/v1/people").await;
    people["people"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["username"] == username)
}

async fn create(c: &Client, body: Value) -> (u16, Value) {
    let res = c.post_json("/api/v1/people", &body).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn head_cannot_reach_a_concern_about_them(backend: Backend) {
    let server = Server::start(BIN, backend, "holt").await;
    let teacher = server.login("teacher1").await;
    let (status, body) = teacher
        .report(&["head"], "contact.online_bullying", "About the head")
        .await;
    assert_eq!(status, 201, "{body}");
    let concern = body["id"].as_i64().unwrap();
    let head = server.login("head").await;
    // A new Chair of Governors account (the route of a concern about the Headteacher): refused,
    // through the API and the form, with or without a login.
    for account in [None, Some(true), Some(false)] {
        let mut new = json!({"username": "newchair", "display_name": "New Chair",
                             "kind": "governor", "roles": ["chair_of_governors"]});
        if let Some(a) = account {
            new["account"] = json!(a);
        }
        let (status, body) = create(&head, new).await;
        assert_eq!(status, 403, "{account:?}: {body}");
    }
    let res = head
        .post_form(
            "/people",
            &[
                ("display_name", "New Chair"),
                ("username", "newchair"),
                ("kind", "governor"),
                ("role", "chair_of_governors"),
                ("account", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(!exists(&head, "newchair").await);
    // Nor the Chair's role for an existing governor, nor for the Headteacher.
    for who in ["governor1", "head"] {
        let id = id_of(&head, who).await;
        let res = head
            .post_json(
                &format!("/api/v1/people/{id}/roles"),
                &json!({"grant": ["chair_of_governors"]}),
            )
            .await;
        assert_eq!(res.status(), 403, "{who}");
    }
    // The form offers the Headteacher no role that reads concerns.
    let form = head.get_text("/people/new").await;
    for role in [
        "chair_of_governors",
        "\"dsl\"",
        "deputy_dsl",
        "\"headteacher\"",
    ] {
        assert!(
            !form.contains(&format!("value={role}"))
                && !form.contains(&format!("value=\"{}\"", role.trim_matches('"'))),
            "{role}"
        );
    }
    // The concern stays hidden from the Headteacher; the governors' roles are unchanged.
    let (status, _) = head.get_json(&format!("/api/v1/concerns/{concern}")).await;
    assert_eq!(status, 404);
    let (_, people) = head.get_json("/api/v1/people").await;
    let chairs: Vec<&Value> = people["people"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["roles"]
                .as_array()
                .unwrap()
                .contains(&json!("chair_of_governors"))
        })
        .collect();
    assert_eq!(chairs.len(), 1, "{chairs:?}");
    assert_eq!(chairs[0]["username"], "chair");
    let (intact, out) = server.audit_verify();
    assert!(intact, "{out}");
}

both_backends!(
    the_head_cannot_grant_themselves_a_way_into_a_concern_about_them,
    head_cannot_reach_a_concern_about_them
);

async fn data_manager_cannot_create_a_dsl(backend: Backend) {
    let server = Server::start(BIN, backend, "holt").await;
    let data = server.login("data").await;
    for role in ["dsl", "deputy_dsl", "headteacher"] {
        for account in [false, true] {
            let mut new = json!({"username": format!("new{}", role.replace('_', "")),
                                 "display_name": "New Lead", "kind": "staff", "roles": [role]});
            if account {
                new["account"] = json!(true);
            }
            let (status, body) = create(&data, new).await;
            assert_eq!(status, 403, "{role} {account}: {body}");
        }
    }
    let res = data
        .post_form(
            "/people",
            &[
                ("display_name", "New Lead"),
                ("username", "newdsl"),
                ("kind", "staff"),
                ("role", "dsl"),
                ("account", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(!exists(&data, "newdsl").await);
    // Nor the DSL's role for an existing teacher.
    let teacher = id_of(&data, "teacher1").await;
    let res = data
        .post_json(
            &format!("/api/v1/people/{teacher}/roles"),
            &json!({"grant": ["dsl"]}),
        )
        .await;
    assert_eq!(res.status(), 403);
    // The Data Manager still adds a teacher, with a login whose password the teacher sets.
    let (status, body) = create(
        &data,
        json!({"username": "newteacher", "display_name": "New Teacher", "kind": "staff",
               "roles": ["teacher"], "account": true}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(body["welcome"].as_str().unwrap().starts_with("/welcome/"));
    // And nobody who could be made a DSL this way can read a concern about a pupil.
    let teacher_client = server.login("teacher1").await;
    let (status, body) = teacher_client
        .report(&["pupil3"], "contact.online_bullying", "About a pupil")
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = data
        .get_json(&format!("/api/v1/concerns/{}", body["id"]))
        .await;
    assert_eq!(status, 404);
}

both_backends!(
    the_data_manager_cannot_create_a_dsl,
    data_manager_cannot_create_a_dsl
);

async fn nobody_switches_off_the_leads(backend: Backend) {
    let server = Server::start(BIN, backend, "holt").await;
    let head = server.login("head").await;
    let data = server.login("data").await;
    let deputy = server.login("deputy").await;
    let dsl_id = id_of(&head, "dsl").await;
    let chair_id = id_of(&head, "chair").await;
    for (who, client) in [("head", &head), ("data", &data), ("deputy", &deputy)] {
        for target in [dsl_id, chair_id] {
            for path in ["deactivate", "account/disable"] {
                let res = client
                    .post_form(&format!("/people/{target}/{path}"), &[("x", "")])
                    .await;
                assert_eq!(res.status(), 403, "{who} {path} {target}");
            }
            let res = client
                .post_json(
                    &format!("/api/v1/people/{target}/roles"),
                    &json!({"remove": ["dsl"]}),
                )
                .await;
            assert_eq!(res.status(), 403, "{who} removes from {target}");
        }
    }
    // Both still sign in and keep their roles.
    for who in ["dsl", "chair"] {
        let mut c = server.client();
        assert_eq!(c.login(who, DEMO_PASSWORD).await, 200, "{who}");
    }
    // The DSL, a safeguarding role holder who sees all a deputy sees, may switch off a deputy;
    // and nobody switches themselves off.
    let dsl = server.login("dsl").await;
    let deputy_id = id_of(&head, "deputy").await;
    let res = dsl
        .post_form(
            &format!("/people/{deputy_id}/account/disable"),
            &[("x", "")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let res = dsl
        .post_form(&format!("/people/{dsl_id}/deactivate"), &[("x", "")])
        .await;
    assert_eq!(res.status(), 400);
    // An id that is nobody: not found for those who change people, refused for the rest.
    let res = head
        .post_form("/people/999999/deactivate", &[("x", "")])
        .await;
    assert_eq!(res.status(), 404);
    let pupil = server.login("pupil1").await;
    let res = pupil
        .post_form("/people/999999/deactivate", &[("x", "")])
        .await;
    assert_eq!(res.status(), 403);
    // The head still marks a teacher as having left.
    let teacher = id_of(&head, "teacher4").await;
    let res = head
        .post_form(&format!("/people/{teacher}/deactivate"), &[("x", "")])
        .await;
    assert_eq!(res.status(), 303);
}

both_backends!(
    nobody_deactivates_the_dsl_or_the_chair_without_a_safeguarding_role,
    nobody_switches_off_the_leads
);

async fn first_password_by_holder(backend: Backend) {
    let server = Server::start(BIN, backend, "holt").await;
    let head = server.login("head").await;
    // The creator can no longer choose the password.
    let (status, body) = create(
        &head,
        json!({"username": "newstaff", "display_name": "New Staff", "kind": "staff",
               "password": "a long enough passphrase"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = create(
        &head,
        json!({"username": "newstaff", "display_name": "New Staff", "kind": "staff", "account": true}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let link = body["welcome"].as_str().unwrap().to_string();
    // The school's id, then at least 32 random hex digits.
    let token = link.trim_start_matches("/welcome/");
    let (school, random) = token.split_once('.').unwrap_or_else(|| panic!("{link}"));
    assert_eq!(school, "1", "{link}");
    assert!(
        random.len() >= 32 && random.bytes().all(|b| b.is_ascii_hexdigit()),
        "{link}"
    );
    assert!(body["welcome_expires_at"].is_string());
    // The people page says the account waits for its holder.
    let people = head.get_text("/people").await;
    assert!(people.contains("invited"), "{people}");
    // Nobody signs in before the holder chose a password, not even with an empty one.
    for pw in ["", "!unset", DEMO_PASSWORD] {
        let mut c = server.client();
        assert_eq!(c.login("newstaff", pw).await, 401, "{pw:?}");
    }
    // The holder opens the link (no session needed), is held to the profile's rules, and sets it.
    let holder = server.client();
    let page = holder.get(&link).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("newstaff"));
    let short = holder
        .post_form(&link, &[("new", "short"), ("confirm", "short")])
        .await;
    assert_eq!(short.status(), 400);
    let differ = holder
        .post_form(
            &link,
            &[
                ("new", "a holder's own passphrase"),
                ("confirm", "another passphrase"),
            ],
        )
        .await;
    assert_eq!(differ.status(), 400);
    let ok = holder
        .post_form(
            &link,
            &[
                ("new", "a holder's own passphrase"),
                ("confirm", "a holder's own passphrase"),
            ],
        )
        .await;
    assert_eq!(ok.status(), 303);
    let mut c = server.client();
    assert_eq!(c.login("newstaff", "a holder's own passphrase").await, 200);
    // The link works once.
    assert_eq!(holder.get(&link).await.status(), 404);
    let again = holder
        .post_form(
            &link,
            &[
                ("new", "someone else's passphrase"),
                ("confirm", "someone else's passphrase"),
            ],
        )
        .await;
    assert_eq!(again.status(), 404);
    let mut c = server.client();
    assert_eq!(c.login("newstaff", "someone else's passphrase").await, 401);
    // The form shows the link once, and takes no password.
    let form = head.get_text("/people/new").await;
    assert!(!form.contains("type=\"password\""));
    let res = head
        .post_form(
            "/people",
            &[
                ("display_name", "Form Staff"),
                ("username", "formstaff"),
                ("kind", "staff"),
                ("account", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let shown = page
        .split("id=\"welcome-link\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_string();
    assert!(shown.starts_with("/welcome/"), "{shown}");
    assert_eq!(server.client().get(&shown).await.status(), 200);
    // The token is kept nowhere readable: not in the audit trail.
    let dsl = server.login("dsl").await;
    let audit = dsl.get_text("/audit").await;
    assert!(!audit.contains(token));
    assert!(!audit.contains(shown.trim_start_matches("/welcome/")));
    let (intact, out) = server.audit_verify();
    assert!(intact, "{out}");
}

both_backends!(
    a_new_accounts_first_password_is_set_by_its_holder,
    first_password_by_holder
);

async fn role_change_mailed(backend: Backend) {
    let sink = testkit::smtp::SmtpSink::start().await;
    let mail = testkit::smtp::mail_args(sink.addr);
    let server = Server::start_with(
        BIN,
        TestDb::new(backend).await,
        "holt",
        // The mailer runs with the gateways: the web proxy on a free port.
        &std::iter::once("--no-dns")
            .chain(mail.iter().map(String::as_str))
            .collect::<Vec<_>>(),
    );
    let dsl = server.login("dsl").await;
    let (status, body) = create(
        &dsl,
        json!({"username": "newdeputy", "display_name": "New Deputy", "kind": "staff",
               "roles": ["deputy_dsl"], "account": true}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mails = loop {
        let got: Vec<_> = sink
            .received()
            .into_iter()
            .filter(|m| m.data.contains("Safeguarding role change"))
            .collect();
        if got.len() >= 2 || Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        ["chair@school.example", "dsl@school.example"],
        "{mails:?} of {:?}",
        sink.received()
    );
    assert!(mails.iter().all(|m| m.data.contains("newdeputy")));
    assert!(!mails.iter().any(|m| m.data.contains("/welcome/")));
    // A teacher added by the head is no safeguarding change: no mail about it.
    let head = server.login("head").await;
    let (status, _) = create(
        &head,
        json!({"username": "newteacher", "display_name": "New Teacher", "kind": "staff", "roles": ["teacher"]}),
    )
    .await;
    assert_eq!(status, 201);
    // The Chair reads who gave which role.
    let chair = server.login("chair").await;
    let res = chair.get("/audit/roles").await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("person.created") && page.contains("deputy_dsl"),
        "{page}"
    );
    assert!(page.contains("teacher"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let total = sink
        .received()
        .into_iter()
        .filter(|m| m.data.contains("Safeguarding role change"))
        .count();
    assert_eq!(total, 2);
}

both_backends!(
    a_safeguarding_role_change_is_mailed_to_the_dsl_and_the_chair,
    role_change_mailed
);
