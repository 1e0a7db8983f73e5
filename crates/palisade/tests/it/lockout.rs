//! Five failed sign-ins lock an account for the profile's 15 minutes, even against the right
//! password; other accounts are unaffected; the lock is in the audit trail.

use crate::BIN;
use testkit::{BACKENDS, DEMO_PASSWORD, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_failures_lock_the_account_and_only_that_account() {
    for backend in BACKENDS {
        let server = Server::start(BIN, backend, "holt").await;
        let mut c = server.client();
        for _ in 0..4 {
            assert_eq!(c.login("teacher3", "wrong password").await, 401);
        }
        // The fifth failure locks the account, and says so.
        assert_eq!(c.login("teacher3", "wrong password").await, 429);
        assert_eq!(c.login("teacher3", DEMO_PASSWORD).await, 429);
        assert_eq!(c.login("teacher4", DEMO_PASSWORD).await, 200);
        // An unknown user gets the same answer as a wrong password, and locks nothing.
        assert_eq!(server.client().login("nobody", "whatever").await, 401);
        let store = server.store().await;
        let teacher3 = store.person_by_username("teacher3").await.unwrap().unwrap();
        let trail = store
            .audit_of("person", &teacher3.id.to_string())
            .await
            .unwrap();
        assert!(
            trail.iter().any(|e| e.action == "account.locked"),
            "{trail:?}"
        );
        assert_eq!(
            trail.iter().filter(|e| e.action == "login.failed").count(),
            4
        );
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_page_says_locked_without_saying_whether_the_password_was_right() {
    let server = Server::start(BIN, testkit::Backend::Sqlite, "holt").await;
    let client = server.client();
    for attempt in 1..=5 {
        let res = client
            .http
            .post(format!("{}/login", server.url))
            .form(&[("username", "dsl"), ("password", "nope")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), if attempt < 5 { 401 } else { 429 });
    }
    let res = client
        .http
        .post(format!("{}/login", server.url))
        .form(&[("username", "dsl"), ("password", DEMO_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.text().await.unwrap().contains("locked"));
}
