//! A real headless Chromium under chromedriver for browser tests, and the few steps they take
//! again and again: find an element by CSS and click it, type into it, read its text, wait
//! for it, screenshot the page. A missing browser is a failure, never a skip.

use crate::DEMO_PASSWORD;
use fantoccini::{Client, ClientBuilder, Locator};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// chromedriver in a process group of its own, stopped with the Chromium it started when
/// dropped. Killing chromedriver alone left its Chromium running after the tests.
pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid (`process_group(0)` below).
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where screenshots go: target/screenshots/ of the workspace.
pub fn shots_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/screenshots"
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A headless Chromium with a fresh profile, under its own chromedriver.
pub async fn start_browser() -> (Driver, Client, tempfile::TempDir) {
    start_browser_with(&[]).await
}

/// A browser with extra command-line switches (e.g. `--proxy-server`).
pub async fn start_browser_with(extra: &[String]) -> (Driver, Client, tempfile::TempDir) {
    for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        assert!(
            std::path::Path::new(tool).exists(),
            "{tool} is missing: run scripts/test, which installs chromium and chromium-driver"
        );
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Driver(
        Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let profile = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("--user-data-dir={}", profile.path().display()));
    args.extend(extra.iter().cloned());
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({"binary": "/usr/bin/chromium", "args": args}),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => break c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("chromedriver did not start a session: {e}"),
        }
    };
    (driver, client, profile)
}

/// Saves a screenshot of the viewport as `name`.png.
pub async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(shots_dir().join(format!("{name}.png")), png).unwrap();
}

/// Scrolls the page so that the element `css` is at the top (screenshots show the viewport).
pub async fn scroll_to(c: &Client, css: &str) {
    let script = format!("document.querySelector({css:?}).scrollIntoView()");
    c.execute(&script, vec![]).await.unwrap();
}

/// Waits for an element, with a deadline.
pub async fn wait_for(c: &Client, css: &str) -> fantoccini::elements::Element {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            return e;
        }
        assert!(
            Instant::now() < deadline,
            "no `{css}` on {:?}",
            c.current_url().await.ok()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Signs `user` in with the demo password from the sign-in page.
/// Waits (up to 10 s) until the browser is on a page whose path is `path`:
/// after a click that navigates, the old page's elements may still match for a moment.
pub async fn wait_for_path(c: &Client, path: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let url = c.current_url().await.unwrap();
        if url.path() == path {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still on {url}, not {path}, after 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

pub async fn sign_in(c: &Client, base: &str, user: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    fill_sign_in(c, user).await;
    wait_for(c, "header form[action='/logout']").await;
}

/// Fills and sends the sign-in form on the page shown (which may have come by a redirect).
pub async fn fill_sign_in(c: &Client, user: &str) {
    fill_sign_in_with(c, user, DEMO_PASSWORD).await;
}

/// Fills and sends the sign-in form with `password`.
pub async fn fill_sign_in_with(c: &Client, user: &str, password: &str) {
    wait_for(c, "#username")
        .await
        .send_keys(user)
        .await
        .unwrap();
    fill(c, "#password", password).await;
    click(c, "form[action='/login'] button").await;
}

/// Signs out with the header's button.
pub async fn sign_out(c: &Client) {
    click(c, "header form[action='/logout'] button").await;
    wait_for(c, "#username").await;
}

/// The page's whole text.
pub async fn body_text(c: &Client) -> String {
    text_of(c, "body").await
}

/// Clicks the element `css` (an option, a button, a link).
pub async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Clicks the link whose text is `text`.
pub async fn click_link(c: &Client, text: &str) {
    c.find(Locator::LinkText(text))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Types `keys` into the element `css`.
pub async fn fill(c: &Client, css: &str, keys: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(keys)
        .await
        .unwrap();
}

/// The text of the element `css`. A page that is navigating (a form was just sent) can replace
/// the element between finding and reading it, or be between pages when it is looked for: then
/// it is looked for again, for at most 5 s.
pub async fn text_of(c: &Client, css: &str) -> String {
    for _ in 0..50 {
        let found = match c.find(Locator::Css(css)).await {
            Ok(found) => found,
            Err(e) if e.is_no_such_element() => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
            Err(e) => panic!("looking for `{css}`: {e}"),
        };
        match found.text().await {
            Ok(text) => return text,
            Err(e) if e.is_stale_element_reference() => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("reading the text of `{css}`: {e}"),
        }
    }
    panic!("`{css}` was missing or replaced by a new page again and again for 5 s");
}
