//! A real OpenID Connect provider on loopback: panva's certified `oidc-provider` (npm), run by
//! Node.js from `crates/testkit/oidc/` (`scripts/test` installs it with `npm ci`), with the
//! test's users and one client. A missing `node` or an uninstalled provider is a failure, never
//! a skip.
//!
//! [`Provider::sign_in`] drives a sign-in as a browser would, without one: Palisade's
//! `/login/oidc`, the provider's login form, its consent, and back to Palisade's callback.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A user at the provider.
#[derive(Debug, Clone, serde::Serialize)]
pub struct User {
    /// What is typed into the provider's login form (and the `sub`).
    pub login: String,
    pub password: String,
    /// The `email` claim (absent: none sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The `email_verified` claim (absent: none sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

impl User {
    /// A user whose verified email is `email`, signing in at the provider as `login`.
    pub fn verified(login: &str, email: &str) -> User {
        User {
            login: login.into(),
            password: PASSWORD.into(),
            email: Some(email.into()),
            email_verified: Some(true),
        }
    }
}

/// Every test user's password at the provider.
pub const PASSWORD: &str = "provider-password";

/// The client Palisade is at the provider.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub client_id: String,
    pub client_secret: String,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            client_id: "palisade-test".into(),
            client_secret: "a-test-client-secret-of-some-length".into(),
        }
    }
}

/// A running provider.
pub struct Provider {
    /// Its issuer URL (`http://127.0.0.1:PORT`).
    pub issuer: String,
    pub client: ClientConfig,
    child: Child,
    _config: tempfile::TempDir,
}

/// The provider's directory in the repository.
pub fn provider_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc")
}

impl Provider {
    /// Starts the provider with `users` and `client` (a native-app client whose loopback
    /// redirect URI matches Palisade's callback on any port).
    pub fn start(users: &[User], client: ClientConfig) -> Provider {
        let dir = provider_dir();
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "the test OpenID provider is not installed: run `npm ci --prefix {}` (scripts/test does)",
            dir.display()
        );
        let config_dir = tempfile::tempdir().expect("a temporary directory");
        let config = serde_json::json!({
            "clients": [{
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                "redirect_uris": ["http://127.0.0.1/login/oidc/callback"],
            }],
            "users": users,
        });
        let path = config_dir.path().join("provider.json");
        std::fs::write(&path, config.to_string()).expect("write the provider's config");
        let mut child = Command::new("node")
            .arg(dir.join("provider.js"))
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run node for the test OpenID provider: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Read to the end, so that the provider's later notices never meet a closed pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let issuer = loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("OIDC provider at ") {
                        break url.trim().to_string();
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!("the test OpenID provider did not start within 30 s");
                }
            }
        };
        Provider {
            issuer,
            client,
            child,
            _config: config_dir,
        }
    }

    /// The `[sign_in.oidc]` section for this provider, its secret written to `secret_file`,
    /// allowing `domains`.
    pub fn profile_section(&self, secret_file: &std::path::Path, domains: &[&str]) -> String {
        std::fs::write(secret_file, format!("{}\n", self.client.client_secret))
            .expect("write the client secret");
        let domains: Vec<String> = domains.iter().map(|d| format!("\"{d}\"")).collect();
        format!(
            "[sign_in.oidc]\nprovider = \"other\"\nissuer = \"{}\"\nclient_id = \"{}\"\nclient_secret_file = \"{}\"\ndomains = [{}]\n",
            self.issuer,
            self.client.client_id,
            secret_file.display(),
            domains.join(", ")
        )
    }

    /// Goes to the provider from Palisade's `/login/oidc` (at `palisade`), signs in there as
    /// `login` and comes back as far as Palisade's callback, not yet asked.
    pub async fn sign_in(&self, palisade: &str, login: &str) -> Journey {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        let start = http
            .get(format!("{palisade}/login/oidc?next=/concerns"))
            .send()
            .await
            .expect("GET /login/oidc");
        assert_eq!(start.status().as_u16(), 303, "GET /login/oidc");
        let state_cookie = set_cookies(&start)
            .into_iter()
            .find(|(k, _)| k == "palisade_oidc")
            .map(|(k, v)| format!("{k}={v}"))
            .expect("GET /login/oidc sets the state's cookie");
        let mut url = location(&start, palisade);
        assert!(url.starts_with(&self.issuer), "{url}");
        let mut jar: Vec<(String, String)> = Vec::new();
        let mut form: Option<Vec<(&str, String)>> = None;
        for _ in 0..20 {
            let cookie: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let rb = match form.take() {
                Some(f) => http.post(&url).form(&f),
                None => http.get(&url),
            };
            let res = rb
                .header("cookie", cookie.join("; "))
                .send()
                .await
                .expect("a request to the provider");
            for (k, v) in set_cookies(&res) {
                jar.retain(|(name, _)| *name != k);
                jar.push((k, v));
            }
            if res.status().is_redirection() {
                let next = location(&res, &self.issuer);
                if next.starts_with(palisade) {
                    return Journey {
                        callback: next.strip_prefix(palisade).unwrap_or_default().to_string(),
                        state_cookie,
                    };
                }
                url = next;
                continue;
            }
            let status = res.status().as_u16();
            let body = res.text().await.unwrap_or_default();
            let action = body
                .split("action=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .filter(|a| a.starts_with("/interaction/"))
                .unwrap_or_else(|| panic!("the provider answered {status}: {body}"));
            assert!(
                !body.contains("id=\"error\""),
                "the provider refused the login: {body}"
            );
            url = format!("{}{action}", self.issuer);
            form = Some(vec![
                ("login", login.to_string()),
                ("password", PASSWORD.into()),
            ]);
        }
        panic!("the provider did not send the browser back to Palisade within 20 steps");
    }
}

/// A sign-in back from the provider: Palisade's callback (path and query) and the cookie that
/// ties its state to the browser that began it.
pub struct Journey {
    pub callback: String,
    pub state_cookie: String,
}

fn set_cookies(res: &reqwest::Response) -> Vec<(String, String)> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// A redirect's `Location`, made absolute against `base` (scheme, host and port).
fn location(res: &reqwest::Response, base: &str) -> String {
    let loc = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a redirect has a Location")
        .to_string();
    if loc.starts_with('/') {
        let origin: String = base.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
        format!("{origin}{loc}")
    } else {
        loc
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
