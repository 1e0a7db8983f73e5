//! Guests, leavers and loans through the real binary (issue 20, parts 2 to 4): a guest account
//! ends at its time for the web and the proxy; a teacher whose leaving date has come is refused
//! after the run with their sessions gone, and their loaned laptop is on the checklist until it
//! is returned.

use crate::BIN;
use crate::proxy::{curl_as, profile_copy};
use testkit::http::Origin;
use testkit::{Backend, Server, TestDb};

/// The text between `id="NAME">` and the next `<`.
fn field(page: &str, id: &str) -> String {
    let start = format!("id=\"{id}\">");
    let at = page
        .find(&start)
        .unwrap_or_else(|| panic!("no #{id} in {page}"))
        + start.len();
    page[at..].split('<').next().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_account_cannot_sign_in_to_the_web_or_the_proxy_once_it_has_ended() {
    let origin = Origin::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Holt's guests sign in to the proxy from the guests' loopback address.
    let profile = profile_copy("holt", dir.path(), "login_groups = [\"guests\", \"ks2\"]");
    let db = TestDb::new(Backend::Sqlite).await;
    let parent = origin.addr.to_string();
    let server = Server::start_with(BIN, db, &profile, &["--no-dns", "--proxy-parent", &parent]);
    let guests_address = "127.0.0.14";
    let lesson = "http://lessons.example/fractions";

    // Teachers may not make guest accounts; the data manager may, for at most 72 hours.
    let teacher = server.login("teacher1").await;
    assert_eq!(teacher.get("/people/guests").await.status(), 403);
    let office = server.login("data").await;
    let form = office.get_text("/people/guests").await;
    assert!(form.contains("at most 72 hours"), "{form}");
    let too_long = office
        .post_form(
            "/people/guests",
            &[
                ("display_name", "Ms Long Stay"),
                ("purpose", "visitor"),
                ("length", "4"),
                ("unit", "days"),
            ],
        )
        .await;
    assert_eq!(too_long.status(), 400);
    let text = too_long.text().await.unwrap();
    assert!(text.contains("max_hours"), "{text}");
    let res = office
        .post_form(
            "/people/guests",
            &[
                ("display_name", "Mr Supply"),
                ("purpose", "supply_teacher"),
                ("length", "1"),
                ("unit", "hours"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let slip = res.text().await.unwrap();
    assert!(slip.contains("Supply teacher"), "{slip}");
    let username = field(&slip, "slip-username");
    let password = field(&slip, "slip-password");
    assert!(username.starts_with("guest-"), "{username}");
    assert_eq!(password.len(), 12);

    // Within the hour: the guest signs in to the web and to the proxy (which sends them to the
    // visitors' code of conduct first).
    let mut web = server.client();
    assert_eq!(web.login(&username, &password).await, 200);
    let creds = format!("{username}:{password}");
    let (status, text) = curl_as(&server, guests_address, Some(&creds), lesson);
    assert_ne!(status, 407, "{text}");
    assert!(matches!(status, 200 | 302), "{text}");
    let list = office.get_text("/people/guests").await;
    assert!(list.contains("Mr Supply"), "{list}");
    // Once the visitors' code is accepted, a guest signed in on a pupil's (KS2) device is
    // filtered as the profile's `guests.group`, and the log says so.
    let res = web.post_form("/aup", &[("return_to", "")]).await;
    assert_eq!(res.status(), 303);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (status, text) = curl_as(&server, "127.0.0.12", Some(&creds), lesson);
        if status == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{status} {text}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let dsl = server.login("dsl").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let log = dsl
            .get_text(&format!("/network/queries?user={username}&group=guests"))
            .await;
        if log.contains("lessons.example") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{log}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    // An hour and a minute later (the same database, the clock moved on): both refused, and
    // the session the guest had is over.
    let server = server.restart_later(chrono::Duration::minutes(61));
    let web = web.on(&server);
    let (status, text) = curl_as(&server, guests_address, Some(&creds), lesson);
    assert_eq!(status, 407, "{text}");
    let mut again = server.client();
    assert_eq!(again.login(&username, &password).await, 401);
    // The run at start closed the account: the old session is gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let res = web.get("/api/v1/me").await;
        if res.status() == 401 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the guest's session still works: {}",
            res.status()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let head = server.login("head").await;
    let audit = head.get_text("/audit").await;
    assert!(audit.contains("guest.created"), "{audit}");
    assert!(audit.contains("guest.expired"), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_leaving_today_is_refused_after_the_run_and_their_laptop_stays_on_the_checklist()
{
    let db = TestDb::new(Backend::Sqlite).await;
    let server = Server::start_on(BIN, db, "holt");
    let teacher = server.login("teacher1").await;
    assert_eq!(teacher.get("/api/v1/me").await.status(), 200);
    let store = server.store().await;
    let id = store
        .person_by_username("teacher1")
        .await
        .unwrap()
        .unwrap()
        .id;

    // The network manager registers a laptop and lends it to the teacher.
    let netman = server.login("netman").await;
    let res = netman
        .post_form(
            "/devices",
            &[("name", "Laptop 12"), ("mac", "aa:bb:cc:00:11:22")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let device = store.devices().await.unwrap().remove(0).id;
    let device = device.to_string();
    let res = netman
        .post_form(
            "/devices/management",
            &[
                ("device", device.as_str()),
                ("mdm", "Intune"),
                ("passcode_set", "on"),
                ("school_account", "laptop12@holt.example"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let res = netman
        .post_form(
            "/devices/lend",
            &[
                ("device", device.as_str()),
                ("holder", "teacher1"),
                ("lent_on", "2026-09-01"),
                ("due_on", ""),
                ("condition", "Good, with charger"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let page = netman.get_text("/devices").await;
    assert!(page.contains("Intune"), "{page}");
    assert!(page.contains("laptop12@holt.example"), "{page}");
    // A bad date is refused naming the field.
    let res = netman
        .post_form(
            "/devices/lend",
            &[
                ("device", device.as_str()),
                ("holder", "teacher2"),
                ("lent_on", "01/09/2026"),
                ("condition", "Good"),
            ],
        )
        .await;
    assert_eq!(res.status(), 400);

    // The Headteacher sets the teacher's leaving date to today; a teacher cannot.
    let today = store.school_today();
    let res = teacher
        .post_form(
            &format!("/people/{id}/leaving"),
            &[("leaves_on", today.as_str())],
        )
        .await;
    assert_eq!(res.status(), 403);
    let head = server.login("head").await;
    let res = head
        .post_form(
            &format!("/people/{id}/leaving"),
            &[("leaves_on", today.as_str())],
        )
        .await;
    assert_eq!(res.status(), 303);

    // The teacher sees their own checklist on their account page.
    let mine = teacher.get_text("/account").await;
    assert!(mine.contains("id=\"my-checklist\""), "{mine}");
    assert!(
        mine.contains("Return the device on loan: Laptop 12"),
        "{mine}"
    );
    // The checklist, on the person's page and the leavers page: the laptop is open.
    let record = netman.get_text(&format!("/people/{id}")).await;
    assert!(record.contains("id=\"checklist\""), "{record}");
    assert!(
        record.contains("Return the device on loan: Laptop 12"),
        "{record}"
    );
    let loan = store.loans_of(id).await.unwrap().remove(0).id;
    assert!(
        record.contains(&format!(
            "id=\"check-loan-{loan}\"><span class=\"badge\">open</span>"
        )),
        "{record}"
    );
    let leavers = netman.get_text("/people/leavers").await;
    assert!(
        leavers.contains("teacher1") || leavers.contains(&format!("/people/{id}")),
        "{leavers}"
    );
    let home = head.get_text("/").await;
    assert!(home.contains("checklists still open"), "{home}");

    // The run (at start, then every 30 seconds) closes the account: sign-in refused and the
    // session the teacher had is gone.
    let server = server.restart_later(chrono::Duration::minutes(1));
    let teacher = teacher.on(&server);
    let mut again = server.client();
    assert_eq!(again.login("teacher1", testkit::DEMO_PASSWORD).await, 401);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if teacher.get("/api/v1/me").await.status() == 401 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the session still works"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let store = server.store().await;
    assert!(!store.person(id).await.unwrap().unwrap().active);

    // Left, with the laptop still out: still on the checklist, until its return is recorded.
    let netman = server.login("netman").await;
    let record = netman.get_text(&format!("/people/{id}")).await;
    assert!(
        record.contains(&format!(
            "id=\"check-loan-{loan}\"><span class=\"badge\">open</span>"
        )),
        "{record}"
    );
    let leavers = netman.get_text("/people/leavers").await;
    assert!(leavers.contains("Laptop 12"), "{leavers}");
    let res = netman
        .post_form(
            &format!("/devices/loans/{loan}/return"),
            &[
                ("returned_on", today.as_str()),
                ("condition", "Scratched lid"),
                ("back", &format!("/people/{id}")),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let record = netman.get_text(&format!("/people/{id}")).await;
    assert!(
        record.contains(&format!(
            "id=\"check-loan-{loan}\"><span class=\"badge ok\">done</span>"
        )),
        "{record}"
    );
    // The teacher, signed out for good, sees nothing; the audit has every step.
    let audit = server.login("head").await.get_text("/audit").await;
    for action in [
        "device.lent",
        "person.leaving_date_set",
        "person.left",
        "device.returned",
    ] {
        assert!(audit.contains(action), "{action}: {audit}");
    }
}

/// The office makes a guest account and prints its slip; the network manager lends a laptop to
/// a teacher with a leaving date and ticks the checklist, in a real headless Chromium.
/// Screenshots in target/screenshots/ (`guest-*`, `leaver-*`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_slip_and_leavers_checklist_in_chromium() {
    use testkit::browser::{
        body_text, click, fill, shot, sign_in, sign_out, start_browser, wait_for,
    };
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let store = server.store().await;
    let teacher = store
        .person_by_username("teacher2")
        .await
        .unwrap()
        .unwrap()
        .id;
    let (_driver, c, _profile) = start_browser().await;

    sign_in(&c, &server.url, "data").await;
    c.goto(&format!("{}/people/guests", server.url))
        .await
        .unwrap();
    fill(&c, "#guest-name", "Ms Visiting Speaker").await;
    c.execute(
        "document.getElementById('guest-length').value = '3';",
        vec![],
    )
    .await
    .unwrap();
    shot(&c, "guest-form").await;
    click(&c, "form[action='/people/guests'] button[type=submit]").await;
    wait_for(&c, "#slip").await;
    let slip = body_text(&c).await;
    assert!(slip.contains("Ms Visiting Speaker"), "{slip}");
    assert!(slip.contains("guest-"), "{slip}");
    shot(&c, "guest-slip").await;
    // The leaving date, set on the teacher's page.
    c.goto(&format!("{}/people/{teacher}", server.url))
        .await
        .unwrap();
    wait_for(&c, "#leaving").await;
    c.execute(
        "document.getElementById('leaves-on-input').value = '2027-07-21';",
        vec![],
    )
    .await
    .unwrap();
    click(&c, "form[action$='/leaving'] button[type=submit]").await;
    wait_for(&c, "#checklist").await;
    sign_out(&c).await;

    sign_in(&c, &server.url, "netman").await;
    c.goto(&format!("{}/devices", server.url)).await.unwrap();
    fill(&c, "#device-name", "Laptop 7").await;
    fill(&c, "#device-mac", "aa:bb:cc:00:00:07").await;
    click(&c, "form[action='/devices'] button[type=submit]").await;
    wait_for(&c, "#devices").await;
    click(&c, "#lend-device option[value]:not([value=''])").await;
    fill(&c, "#lend-holder", "teacher2").await;
    fill(&c, "#lend-condition", "Good, with charger").await;
    click(&c, "form[action='/devices/lend'] button[type=submit]").await;
    wait_for(&c, "#loans-out").await;
    shot(&c, "leaver-devices").await;
    c.goto(&format!("{}/people/{teacher}", server.url))
        .await
        .unwrap();
    wait_for(&c, "#checklist").await;
    let page = body_text(&c).await;
    assert!(
        page.contains("Return the device on loan: Laptop 7"),
        "{page}"
    );
    fill(&c, "#note-item-0", "PIN and Apple ID written down").await;
    click(&c, "#check-item-0 button[type=submit]").await;
    wait_for(&c, "#check-item-0 .badge.ok").await;
    shot(&c, "leaver-checklist").await;
    c.goto(&format!("{}/people/leavers", server.url))
        .await
        .unwrap();
    wait_for(&c, "#leavers").await;
    let page = body_text(&c).await;
    assert!(page.contains("2 of 3 open"), "{page}");
    shot(&c, "leaver-list").await;
}
