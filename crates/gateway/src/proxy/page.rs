//! The pages the proxy itself answers with: the block page and short error pages. Plain HTML
//! with inline styles, because the page must show even when the web app is unreachable.

/// What the block page tells the user.
pub struct Blocked<'a> {
    pub address: &'a str,
    pub category: &'a str,
    pub rule: &'a str,
    /// Who the proxy thinks is browsing: a user name, or the device's address.
    pub who: &'a str,
    pub group: &'a str,
    pub at: &'a str,
    /// The web app, where a review can be requested.
    pub web_url: Option<&'a str>,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query parameter value.
pub fn query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f6f8;color:#1d2733;margin:0}\
main{max-width:40rem;margin:3rem auto;background:#fff;border-radius:8px;padding:2rem;border-top:6px solid #b3261e;box-shadow:0 1px 4px #0002}\
h1{margin-top:0;font-size:1.5rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1rem}\
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}.note{color:#4a5563;font-size:.9rem}\
a.button{display:inline-block;background:#1d4ed8;color:#fff;padding:.6rem 1rem;border-radius:6px;text-decoration:none}";

/// The block page: what was blocked, why, and how to ask for a review.
pub fn block_page(b: &Blocked<'_>) -> String {
    let review = match b.web_url {
        Some(web) => format!(
            "<p><a class=\"button\" href=\"{}/review?url={}&amp;category={}&amp;rule={}\">Ask for a review</a></p>\
             <p class=\"note\">If you need this page for your work, ask for a review. The network manager will look at it.</p>",
            escape(web.trim_end_matches('/')),
            query_value(b.address),
            query_value(b.category),
            query_value(b.rule),
        ),
        None => "<p class=\"note\">If you need this page for your work, tell your teacher or the network manager.</p>".to_string(),
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Blocked by the school's filter</title><style>{STYLE}</style></head><body><main>\
         <h1>This page is blocked</h1>\
         <p>The school's internet filter has blocked this page because of what it contains.</p>\
         <dl><dt>Address</dt><dd>{address}</dd><dt>Category</dt><dd>{category}</dd>\
         <dt>Rule</dt><dd>{rule}</dd><dt>Who</dt><dd>{who} ({group})</dd><dt>Time</dt><dd>{at}</dd></dl>\
         {review}\
         <p class=\"note\">Internet use at school is monitored to keep everyone safe.</p>\
         </main></body></html>",
        address = escape(b.address),
        category = escape(b.category),
        rule = escape(b.rule),
        who = escape(b.who),
        group = escape(b.group),
        at = escape(b.at),
    )
}

/// A short page for errors the proxy answers itself (bad gateway, filter not ready...).
pub fn message_page(title: &str, message: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>{STYLE}</style></head><body><main><h1>{t}</h1><p>{m}</p></main></body></html>",
        t = escape(title),
        m = escape(message),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_page_escapes_what_it_shows_and_links_a_review() {
        let page = block_page(&Blocked {
            address: "http://bad.example/<script>",
            category: "adult",
            rule: "bad.example",
            who: "127.0.0.12",
            group: "ks2",
            at: "2026-11-25 10:00",
            web_url: Some("http://127.0.0.1:8080"),
        });
        assert!(page.contains("http://bad.example/&lt;script&gt;"));
        assert!(!page.contains("<script>"));
        assert!(page.contains(
            "http://127.0.0.1:8080/review?url=http%3A%2F%2Fbad.example%2F%3Cscript%3E&amp;category=adult"
        ));
        assert!(page.contains("monitored"));
    }
}
