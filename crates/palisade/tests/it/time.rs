//! What depends on the time of day, in the real binary started on a test clock
//! (`PALISADE_TEST_CLOCK`) at each instant of `testkit::time_sensitive_instants`: the daily
//! digest (in UK time, sent once when the server starts after its time) and the profile's time
//! rules. The same suite passes whatever the real time.

use crate::BIN;
use crate::alerts::mails_about;
use std::time::Duration;
use testkit::dns::StubUpstream;
use testkit::{Backend, Server, TestDb};

/// Whether a server started at the named instant finds Holt's 16:00 (UK time) digest due at
/// once: its UK time is past 16:00 on a day whose digest has not gone.
pub(crate) fn digest_due_at_start(when: &str) -> bool {
    match when {
        "16:05 UTC" | "23:58 UTC" | "16:05 BST" => true,
        "08:00 UTC" | "00:30 UTC as summer time starts" | "00:30 UTC as summer time ends" => false,
        other => panic!("no expectation for {other}"),
    }
}

fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
    clock::parse_instant(s).unwrap()
}

/// Holt with mail to `sink`, its DNS forwarding to `up`, on a clock starting at `at`.
async fn holt_at(
    sink: &testkit::smtp::SmtpSink,
    up: &StubUpstream,
    at: chrono::DateTime<chrono::Utc>,
) -> Server {
    let args = testkit::smtp::dns_and_mail_args(&up.addr.to_string(), sink.addr);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start_at(BIN, TestDb::new(Backend::Sqlite).await, "holt", &args, at)
}

const DIGEST: &str = "Daily alert digest";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_started_after_the_digest_time_sends_the_missed_digest_once_and_before_it_none() {
    let up = StubUpstream::start().await;
    for (when, at) in testkit::time_sensitive_instants() {
        let sink = testkit::smtp::SmtpSink::start().await;
        let server = holt_at(&sink, &up, at).await;
        if digest_due_at_start(when) {
            let digests = mails_about(&sink, DIGEST, 2, Duration::from_secs(10)).await;
            let mut to: Vec<String> = digests.iter().flat_map(|m| m.to.clone()).collect();
            to.sort();
            assert_eq!(
                to,
                ["deputy@school.example", "dsl@school.example"],
                "at {when}"
            );
            // Recorded as sent: a restart the same day sends no second one.
            let store = server.store().await;
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while store.outbox_state().await.unwrap().waiting > 0 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "at {when}: still waiting"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            store.close().await;
            let server = server.restart_after_kill();
            tokio::time::sleep(Duration::from_secs(2)).await;
            assert_eq!(
                mails_about(&sink, DIGEST, 3, Duration::ZERO).await.len(),
                2,
                "at {when}: a second digest after the restart"
            );
            drop(server);
        } else {
            tokio::time::sleep(Duration::from_secs(2)).await;
            assert!(
                mails_about(&sink, DIGEST, 1, Duration::ZERO)
                    .await
                    .is_empty(),
                "at {when}: a digest before its time"
            );
            drop(server);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_digest_goes_when_four_oclock_comes_in_uk_time_in_winter_and_in_summer() {
    let up = StubUpstream::start().await;
    // 16:00 GMT is 16:00 UTC; 16:00 BST is 15:00 UTC. Each server starts 6 s before it. A
    // loaded machine may take most of that to start it, so the test looks for an early digest
    // twice: in the sink while the server's clock is still before 16:00, and in the outbox,
    // where the digest must have been queued at 16:00 or after, however late the test looked.
    for (start, four) in [
        ("2026-12-01T15:59:54Z", "2026-12-01T16:00:00Z"),
        ("2026-07-01T14:59:54Z", "2026-07-01T15:00:00Z"),
    ] {
        let sink = testkit::smtp::SmtpSink::start().await;
        let server = holt_at(&sink, &up, utc(start)).await;
        let four = utc(four);
        let almost = four - chrono::Duration::milliseconds(500);
        let wait = (almost - server.clock.now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        if server.clock.now() < almost {
            assert!(
                mails_about(&sink, DIGEST, 1, Duration::ZERO)
                    .await
                    .is_empty(),
                "started {start}: a digest before 16:00 UK time"
            );
        }
        let digests = mails_about(&sink, DIGEST, 2, Duration::from_secs(15)).await;
        assert_eq!(
            digests.len(),
            2,
            "started {start}: no digest at 16:00 UK time"
        );
        let store = server.store().await;
        assert!(
            store
                .mail_queued_since("digest", &store::stamp(four))
                .await
                .expect("outbox"),
            "started {start}: the digest was queued before 16:00 UK time"
        );
        store.close().await;
        drop(server);
    }
    // An hour before 16:00 BST in summer (16:00 UTC would be wrong): nothing yet.
    let sink = testkit::smtp::SmtpSink::start().await;
    let server = holt_at(&sink, &up, utc("2026-07-01T13:59:58Z")).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        mails_about(&sink, DIGEST, 1, Duration::ZERO)
            .await
            .is_empty()
    );
    drop(server);
}

/// Whether Coleridge's staff may reach a gaming site at the named instant: its time rule opens
/// gaming from 16:00 to 22:00 UK time.
fn staff_gaming_open(when: &str) -> bool {
    match when {
        "16:05 UTC" | "16:05 BST" => true,
        "08:00 UTC"
        | "23:58 UTC"
        | "00:30 UTC as summer time starts"
        | "00:30 UTC as summer time ends" => false,
        other => panic!("no expectation for {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_rules_follow_uk_time_at_every_hour_the_suite_may_run() {
    let up = StubUpstream::start().await;
    let upstream = up.addr.to_string();
    let mut instants = testkit::time_sensitive_instants();
    // Either side of the rule's end, in summer: 21:59 BST is open, 22:00 BST is not.
    instants.push(("21:59 BST", utc("2026-07-01T20:59:00Z")));
    instants.push(("22:00 BST", utc("2026-07-01T21:00:30Z")));
    for (when, at) in instants {
        let server = Server::start_at(
            BIN,
            TestDb::new(Backend::Sqlite).await,
            "coleridge",
            &[
                "--dns-listen",
                "127.0.0.1:0",
                "--dns-upstream",
                &upstream,
                "--no-proxy",
            ],
            at,
        );
        let open = match when {
            "21:59 BST" => true,
            "22:00 BST" => false,
            w => staff_gaming_open(w),
        };
        let answer = |who| crate::dns::dig(&server, who, "www.gaming-site.example", "A");
        let forwarded = ("NOERROR".to_string(), vec!["A 127.0.2.1".to_string()]);
        // Staff (127.0.0.13) only within the rule's hours; pupils (127.0.0.12) never.
        assert_eq!(answer("127.0.0.13") == forwarded, open, "staff at {when}");
        assert_ne!(answer("127.0.0.12"), forwarded, "pupils at {when}");
        drop(server);
    }
}
