//! Downloading the lists a profile names by URL into the list cache, with `If-None-Match` /
//! `If-Modified-Since` so an unchanged list costs one small request. A failed download keeps the
//! last good copy and says so.

use policy::profile::filtering::FilteringPolicy;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// What happened to one list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refreshed {
    /// A new copy was saved.
    Updated { name: String, bytes: usize },
    /// The server said the copy we have is current.
    NotModified { name: String },
    /// The download failed; `kept` says whether an earlier copy is still in use.
    Failed {
        name: String,
        error: String,
        kept: bool,
    },
}

/// Validators of the copy in the cache.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Meta {
    etag: Option<String>,
    last_modified: Option<String>,
    fetched_at: String,
}

/// An HTTP client for list downloads (rustls with ring; the system's root certificates).
pub fn client() -> anyhow::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .user_agent(concat!("palisade/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// Refreshes every list of `policy` that has a URL into `cache_dir/<name>`.
pub async fn refresh_lists(
    policy: &FilteringPolicy,
    cache_dir: &Path,
    client: &reqwest::Client,
    clock: &clock::Clock,
) -> Vec<Refreshed> {
    let mut out = Vec::new();
    for list in &policy.lists {
        let Some(url) = &list.url else { continue };
        out.push(refresh_one(&list.name, url, cache_dir, client, clock).await);
    }
    out
}

async fn refresh_one(
    name: &str,
    url: &str,
    cache_dir: &Path,
    client: &reqwest::Client,
    clock: &clock::Clock,
) -> Refreshed {
    let file = cache_dir.join(name);
    let meta_file = cache_dir.join(format!("{name}.meta.json"));
    let have_copy = file.is_file();
    let meta: Meta = std::fs::read(&meta_file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|_| have_copy)
        .unwrap_or_default();
    let failed = |error: String| Refreshed::Failed {
        name: name.to_string(),
        error,
        kept: have_copy,
    };
    let mut request = client.get(url);
    if let Some(etag) = &meta.etag {
        request = request.header(reqwest::header::IF_NONE_MATCH, etag);
    }
    if let Some(lm) = &meta.last_modified {
        request = request.header(reqwest::header::IF_MODIFIED_SINCE, lm);
    }
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => return failed(e.to_string()),
    };
    if response.status() == reqwest::StatusCode::NOT_MODIFIED && have_copy {
        return Refreshed::NotModified {
            name: name.to_string(),
        };
    }
    if !response.status().is_success() {
        return failed(format!("HTTP {}", response.status()));
    }
    let header = |h| {
        response
            .headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let new_meta = Meta {
        etag: header(reqwest::header::ETAG),
        last_modified: header(reqwest::header::LAST_MODIFIED),
        fetched_at: store::stamp(clock.now()),
    };
    let body = match response.bytes().await {
        Ok(b) => b,
        Err(e) => return failed(e.to_string()),
    };
    if body.is_empty() {
        return failed("the server sent an empty list".into());
    }
    // Written beside the copy and renamed over it, so a crash never leaves half a list.
    let tmp = cache_dir.join(format!("{name}.download"));
    let written = std::fs::create_dir_all(cache_dir)
        .and_then(|_| std::fs::write(&tmp, &body))
        .and_then(|_| std::fs::rename(&tmp, &file))
        .and_then(|_| {
            std::fs::write(
                &meta_file,
                serde_json::to_vec(&new_meta).unwrap_or_default(),
            )
        });
    match written {
        Ok(()) => Refreshed::Updated {
            name: name.to_string(),
            bytes: body.len(),
        },
        Err(e) => failed(format!("cannot save it in {}: {e}", cache_dir.display())),
    }
}
