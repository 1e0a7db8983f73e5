//! The command line: profile validation, bootstrapping the first administrator, the demo.

use crate::BIN;
use std::process::Command;
use testkit::{Backend, Server, tamper};

fn profile_path(name: &str) -> String {
    format!("{}/../../profiles/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn policy_check_accepts_both_shipped_profiles() {
    for (name, school) in [
        ("holt", "Holt Primary"),
        ("coleridge", "Coleridge Primary School"),
    ] {
        let out = Command::new(BIN)
            .args(["policy", "check", &profile_path(name)])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(school) && stdout.contains("ok"), "{stdout}");
    }
}

#[test]
fn policy_check_names_the_key_and_line_of_a_mistake() {
    let dir = tempfile_dir();
    let text = std::fs::read_to_string(profile_path("holt")).unwrap();
    let bad = dir.join("bad.toml");
    // `palisade policy check` on `text`: whether it passed, and what it said was wrong.
    let check = |text: String| {
        std::fs::write(&bad, text).unwrap();
        let out = Command::new(BIN)
            .args(["policy", "check", bad.to_str().unwrap()])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, stderr) = check(text.replace(
        "lockout_minutes = 15",
        "lockout_minutes = 15\nlockout_hours = 1",
    ));
    assert!(!ok);
    assert!(
        stderr.contains("lockout_hours") && stderr.contains("line"),
        "{stderr}"
    );
    let (ok, stderr) =
        check(text.replace("first_contact = \"dsl\"", "first_contact = \"headteacher\""));
    assert!(!ok);
    assert!(stderr.contains("concerns.team"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "palisade-cli-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u64 {
    store::testing::random_suffix()
}

#[test]
fn user_add_bootstraps_the_first_administrator_without_a_password_on_the_command_line() {
    let dir = tempfile_dir();
    let url = format!("sqlite://{}/p.db", dir.display());
    let add = |pw: &str| {
        Command::new(BIN)
            .args([
                "user",
                "add",
                "--username",
                "ahead",
                "--name",
                "Alex Head",
                "--role",
                "headteacher",
                "--database-url",
                &url,
            ])
            .env("PALISADE_PASSWORD", pw)
            .output()
            .unwrap()
    };
    let out = add("short");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("password"));
    let out = add("a long enough passphrase");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = add("a long enough passphrase");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already taken"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_operator_deactivates_a_headteacher_whom_nobody_in_the_browser_may_switch_off() {
    let dir = tempfile_dir();
    let url = format!("sqlite://{}/p.db", dir.display());
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .args(["--database-url", &url])
            .env("PALISADE_PASSWORD", "a long enough passphrase")
            .output()
            .unwrap()
    };
    let out = run(&["user", "add", "--username", "ahead", "--name", "Alex Head"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["user", "deactivate", "--username", "nobody"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody has that username"));
    let out = run(&["user", "deactivate", "--username", "ahead"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("cannot sign in"));
    // The chain still verifies with the operator's rows in it.
    crate::succeed(Command::new(BIN).args(["audit", "verify", "--database-url", &url]));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_answers_on_the_url_it_prints_and_reuses_its_database() {
    let server = Server::start(BIN, Backend::Sqlite, "holt").await;
    let res = server.client().get("/login").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Sign in"));
    let (status, body) = server.login("dsl").await.get_json("/api/v1/concerns").await;
    assert_eq!(status, 200);
    let seeded = body["concerns"].as_array().unwrap().len();
    assert!(seeded >= 3, "sample concerns: {body}");
    // Started again on the same file, the demo keeps what is there instead of seeding twice.
    let server = server.restart_after_kill();
    let (_, body) = server.login("dsl").await.get_json("/api/v1/concerns").await;
    assert_eq!(body["concerns"].as_array().unwrap().len(), seeded);
}

#[test]
fn check_explains_a_block_with_its_list_line_and_mandatory_lists_beat_allow_lists() {
    let out = crate::check_json("holt", "ks2", "https://sub.gaming-demo.example/path?x=1");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "block");
    assert_eq!(v["category"], "gaming");
    assert_eq!(v["rule"], "gaming-demo.example");
    assert!(
        v["source"]
            .as_str()
            .unwrap()
            .ends_with("ut1/gaming/domains:1"),
        "{v}"
    );
    // A school that allow-lists a domain on a mandatory list still has it blocked, and is told why.
    let dir = tempfile_dir();
    let text = std::fs::read_to_string(profile_path("holt"))
        .unwrap()
        .replace(
            "path = \"../lists/demo/",
            &format!("path = \"{}/../../lists/demo/", env!("CARGO_MANIFEST_DIR")),
        )
        .replace(
            "youtube = \"moderate\"",
            "youtube = \"moderate\"\nallow = [\"iwf-demo.example\"]",
        );
    let path = dir.join("allow.toml");
    std::fs::write(&path, text).unwrap();
    let out = crate::check_json(path.to_str().unwrap(), "ks2", "www.iwf-demo.example");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        (v["verdict"].as_str(), v["category"].as_str()),
        (Some("block"), Some("iwf")),
        "{v}"
    );
    assert!(v["source"].as_str().unwrap().ends_with("iwf.txt:2"), "{v}");
    let out = crate::check_json(path.to_str().unwrap(), "ks2", "notlisted.example");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"allow\""));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn check_without_at_judges_at_the_uk_time_of_the_clock_and_a_bad_test_clock_is_named() {
    let staff_gaming = |clock: &str| {
        let out = crate::check_command("coleridge", "staff", "www.gaming-site.example")
            .env(clock::TEST_CLOCK_VAR, clock)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
        v["verdict"].as_str().unwrap_or_default().to_string()
    };
    // Coleridge opens gaming to staff from 16:00 to 22:00 UK time.
    assert_eq!(staff_gaming("2026-12-01T15:59:00Z"), "block");
    assert_eq!(staff_gaming("2026-12-01T16:01:00Z"), "allow");
    assert_eq!(staff_gaming("2026-07-01T15:01:00Z"), "allow", "16:01 BST");
    assert_eq!(staff_gaming("2026-07-01T21:01:00Z"), "block", "22:01 BST");
    let out = Command::new(BIN)
        .env(clock::TEST_CLOCK_VAR, "teatime")
        .args(["policy", "check", &profile_path("holt")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("PALISADE_TEST_CLOCK") && err.contains("`teatime`"),
        "{err}"
    );
}

/// `palisade school list`: a server's database is one school, named after its profile when the
/// server first started, with its people and concerns counted; on both backends. A path with
/// no database is refused and nothing is created there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn school_list_shows_the_school_its_profile_named() {
    for backend in testkit::BACKENDS {
        let server = Server::start(BIN, backend, "coleridge").await;
        let list = |json: bool| {
            let mut c = Command::new(BIN);
            c.args(["school", "list", "--database-url", &server.db.url]);
            if json {
                c.arg("--json");
            }
            crate::succeed(&mut c)
        };
        let text = String::from_utf8_lossy(&list(false).stdout).into_owned();
        assert!(
            text.contains("coleridge-primary-school") && text.contains("Coleridge Primary School"),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_slice(&list(true).stdout).unwrap();
        let schools = json.as_array().unwrap();
        assert_eq!(schools.len(), 1, "{json}");
        assert_eq!(schools[0]["id"], 1);
        assert_eq!(schools[0]["slug"], "coleridge-primary-school");
        assert!(schools[0]["people"].as_i64().unwrap() > 10, "{json}");
    }
    let dir = tempfile_dir();
    let missing = dir.join("nothing-here.db");
    let url = format!("sqlite://{}", missing.display());
    let out = Command::new(BIN)
        .args(["school", "list", "--database-url", &url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database file"));
    assert!(
        !missing.exists(),
        "nothing may be created at a mistyped path"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A trust on PostgreSQL from the command line: `school add` puts Coleridge beside the Holt
/// server's school, `user add --school` gives it a Headteacher, `school list` counts each
/// school's own people, and `audit verify` checks each school's chain on its own: one altered
/// Coleridge row breaks Coleridge's chain, named, while Holt's still verifies. A SQLite file
/// refuses a second school.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trust_adds_schools_and_people_and_verifies_each_schools_trail() {
    let server = Server::start(BIN, Backend::Postgres, "holt").await;
    let db = server.kill();
    let url = db.url.as_str();
    let run = |args: &[&str]| {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("PALISADE_PASSWORD", "a long passphrase for tests");
        c.output().unwrap()
    };
    let text = |out: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let add = [
        "school",
        "add",
        "coleridge",
        "--profile",
        "coleridge",
        "--database-url",
        url,
    ];
    let added = run(&add);
    assert!(added.status.success(), "{}", text(&added));
    assert!(text(&added).contains("as id 2"), "{}", text(&added));
    let again = run(&add);
    assert!(
        !again.status.success() && text(&again).contains("already"),
        "{}",
        text(&again)
    );
    // With two schools a person's school must be named.
    let user = [
        "user",
        "add",
        "--username",
        "coleridge.head",
        "--name",
        "Ada Head",
        "--role",
        "headteacher",
        "--profile",
        "coleridge",
        "--database-url",
        url,
    ];
    let unnamed = run(&user);
    assert!(!unnamed.status.success(), "{}", text(&unnamed));
    assert!(text(&unnamed).contains("--school"), "{}", text(&unnamed));
    let mut named = user.to_vec();
    named.extend(["--school", "coleridge"]);
    let out = run(&named);
    assert!(out.status.success(), "{}", text(&out));
    // Usernames are unique across the trust.
    let taken = [
        "user",
        "add",
        "--username",
        "coleridge.head",
        "--name",
        "Another",
        "--school",
        "holt-primary",
        "--database-url",
        url,
    ];
    let out = run(&taken);
    assert!(
        !out.status.success() && text(&out).contains("taken"),
        "{}",
        text(&out)
    );
    let out = run(&["school", "list", "--json", "--database-url", url]);
    let schools: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let schools = schools.as_array().unwrap();
    assert_eq!(schools.len(), 2, "{schools:?}");
    assert_eq!(schools[1]["slug"], "coleridge");
    assert_eq!(schools[1]["name"], "Coleridge Primary School");
    assert_eq!(schools[1]["people"], 1);
    assert!(schools[0]["people"].as_i64().unwrap() > 10);

    let verify =
        |school: &str| run(&["audit", "verify", "--school", school, "--database-url", url]);
    let holt = schools[0]["slug"].as_str().unwrap().to_string();
    for school in [holt.as_str(), "coleridge"] {
        let out = verify(school);
        assert!(
            out.status.success() && text(&out).contains("intact"),
            "{}",
            text(&out)
        );
    }
    let out = run(&["audit", "verify", "--database-url", url]);
    assert!(
        !out.status.success() && text(&out).contains("--school"),
        "{}",
        text(&out)
    );
    // Coleridge's row 2 is its Headteacher's creation.
    tamper(
        &db,
        "UPDATE audit_log SET details = replace(details, 'coleridge.head', 'coleridge.hexd') \
         WHERE school_id = 2 AND id = 2;",
    );
    let out = verify("coleridge");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("BROKEN at row 2"), "{}", text(&out));
    let out = verify(&holt);
    assert!(out.status.success(), "{}", text(&out));
    let out = run(&["audit", "verify", "--all", "--database-url", url]);
    assert!(!out.status.success(), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains(&format!("{holt}: audit trail intact")),
        "{all}"
    );
    assert!(
        all.contains("coleridge: audit trail BROKEN at row 2"),
        "{all}"
    );

    let lite = Server::start(BIN, Backend::Sqlite, "holt").await;
    let lite_db = lite.kill();
    let mut on_sqlite = add;
    on_sqlite[6] = &lite_db.url;
    let out = run(&on_sqlite);
    assert!(
        !out.status.success() && text(&out).contains("PostgreSQL"),
        "{}",
        text(&out)
    );
}

/// `palisade serve --trust FILE` on PostgreSQL: the schools the trust profile lists are added
/// (its profiles found beside it or shipped), and the trust's own row; a trust whose schools'
/// subnets overlap is refused at start, naming both schools.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_trust_adds_the_trusts_schools_and_refuses_overlapping_subnets() {
    use std::io::BufRead;
    let db = testkit::TestDb::new(Backend::Postgres).await;
    let dir = tempfile_dir();
    std::fs::copy(profile_path("coleridge"), dir.join("coleridge.toml")).unwrap();
    let shipped = std::fs::read_to_string(profile_path("trust")).unwrap();
    let trust = shipped.replace("profile = \"coleridge\"", "profile = \"coleridge.toml\"");
    assert_ne!(trust, shipped);
    std::fs::write(dir.join("trust.toml"), &trust).unwrap();
    let serve = |file: &str| {
        Command::new(BIN)
            .args(["serve", "--trust", file, "--database-url", &db.url])
            .args(["--listen", "127.0.0.1:0", "--no-dns", "--no-proxy"])
            .env("PALISADE_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let file = dir.join("trust.toml").display().to_string();
    let mut child = serve(&file);
    let stdout = child.stdout.take().unwrap();
    let started = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.starts_with("Palisade is running at "));
    let _ = child.kill();
    let _ = child.wait();
    assert!(started, "serve --trust did not start");
    let out = Command::new(BIN)
        .args(["school", "list", "--json", "--database-url", &db.url])
        .output()
        .unwrap();
    let schools: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let slugs: Vec<&str> = schools
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["holt", "coleridge", "trust"], "{schools}");
    // Without the trust's subnets for Coleridge, its profile's overlap Holt's.
    let start = trust.find("subnets = [").unwrap();
    let end = start + trust[start..].find(']').unwrap() + 1;
    let overlapping = format!("{}{}", &trust[..start], &trust[end..]);
    std::fs::write(dir.join("overlap.toml"), overlapping).unwrap();
    let out = serve(&dir.join("overlap.toml").display().to_string())
        .wait_with_output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("holt's subnet")
            && err.contains("coleridge's subnet")
            && err.contains("127.0.0.12/32"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// `serve --service-database-url`: the schema is migrated as the owner, and the service then
/// connects only as its own login (which owns nothing), never as the owner; a login that could
/// reach past row-level security (here the owner, a superuser) is refused at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_connects_as_a_service_login_of_its_own_and_refuses_the_owner_as_one() {
    use std::io::BufRead;
    let db = testkit::TestDb::new(Backend::Postgres).await;
    db.store_on(store::Clock::manual(testkit::school_morning()))
        .await
        .close()
        .await;
    let login = format!(
        "palisade_web_{}",
        store::testing::random_suffix() % 1_000_000_000
    );
    let psql = |sql: &str| testkit::psql(&db.url, sql);
    psql(&format!(
        "CREATE ROLE {login} LOGIN; GRANT palisade_app TO {login}"
    ));
    let (_, rest) = db.url.split_once("://").unwrap();
    let (_, host_db) = rest.split_once('@').unwrap();
    let service_url = format!("postgres://{login}@{host_db}");
    let serve = |service: &str| {
        Command::new(BIN)
            .args(["serve", "--profile", "holt", "--database-url", &db.url])
            .args(["--service-database-url", service])
            .args(["--listen", "127.0.0.1:0", "--no-dns", "--no-proxy"])
            .env("PALISADE_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut child = serve(&service_url);
    let stdout = child.stdout.take().unwrap();
    let url = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("Palisade is running at ")
                .map(str::to_string)
        });
    let url = url.expect("serve --service-database-url did not start");
    let health = testkit::Client::new(&url).get("/healthz").await;
    assert_eq!(health.status(), 200);
    // Its pool's connections are the login's, none the owner's.
    let users = psql(
        "SELECT string_agg(DISTINCT usename, ',') FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(users, login, "connected as: {users}");
    let out = serve(&db.url).wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("superuser"), "{err}");
    psql(&format!("DROP ROLE {login}"));
}
