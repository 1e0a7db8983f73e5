//! Captions: sidecar files next to a media file, and HTML pages that show it.
//!
//! Sidecars: `photo.txt`, `photo.xmp`, `photo.jpg.txt`, `photo.jpg.xmp` (names compared
//! case-insensitively). HTML is parsed with `scraper` (html5ever, the browser-grade parser
//! Servo uses), so broken markup is read the way a browser would show it.

use std::path::Path;

use percent_encoding::percent_decode_str;
use scraper::{ElementRef, Html};

use crate::metadata::{Metadata, Text, decode_text, xmp};

/// Largest `.txt` sidecar read (longer ones are read up to this).
pub const MAX_TXT: u64 = 1024 * 1024;

/// Largest HTML page read (longer ones are read up to this).
pub const MAX_HTML: u64 = 8 * 1024 * 1024;

/// Reads up to `limit` bytes of a file.
pub fn read_prefix(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(path)?
        .take(limit)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

/// Reads a sidecar file: a `.txt` is one caption, a `.xmp` an XMP packet.
/// `name` is the sidecar's file name, used in labels ("sidecar photo.txt").
pub fn sidecar(path: &Path, name: &str, is_xmp: bool) -> Metadata {
    let mut meta = Metadata::default();
    let label = format!("sidecar {name}");
    let limit = if is_xmp {
        crate::metadata::MAX_XMP as u64 + 1
    } else {
        MAX_TXT
    };
    match read_prefix(path, limit) {
        Ok(bytes) if is_xmp => xmp::read_packet(&bytes, &label, &mut meta),
        Ok(bytes) => {
            let text = decode_text(&bytes);
            meta.texts.push(Text {
                field: label,
                value: text.trim_start_matches('\u{feff}').to_owned(),
            });
        }
        Err(e) => meta.damage.push(format!("{label}: cannot read: {e}")),
    }
    meta
}

/// Deepest element nesting parsed: html5ever's tree builder is quadratic in nesting
/// depth (100 000 nested `<div>`s take minutes), so deeper pages are refused.
pub const MAX_HTML_DEPTH: usize = 1024;

/// Elements that never stay open: void elements, and those whose end tag is optional
/// and that close their own kind (a sloppy page with 10 000 unclosed `<p>` is shallow).
const NOT_NESTING: [&str; 34] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "param", "keygen", "frame", "p", "li", "dt", "dd", "option", "optgroup", "tr", "td",
    "th", "thead", "tbody", "tfoot", "colgroup", "caption", "rb", "rt", "rtc", "rp",
];

/// An upper estimate of a page's element nesting depth, from its tags alone.
pub fn nesting_depth(html: &str) -> usize {
    let b = html.as_bytes();
    let (mut depth, mut max, mut pos) = (0usize, 0usize, 0usize);
    while let Some(off) = memchr::memchr(b'<', &b[pos..]) {
        pos += off + 1;
        let rest = &b[pos..];
        if rest.starts_with(b"!--") {
            pos += memchr::memmem::find(rest, b"-->").map_or(rest.len(), |e| e + 3);
            continue;
        }
        let closing = rest.first() == Some(&b'/');
        let name_at = usize::from(closing);
        let name_len = rest[name_at..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-')
            .count();
        if name_len == 0 {
            continue;
        }
        let name = String::from_utf8_lossy(&rest[name_at..name_at + name_len]).to_ascii_lowercase();
        if NOT_NESTING.contains(&name.as_str()) {
            continue;
        }
        let tag_end = memchr::memchr(b'>', rest).unwrap_or(rest.len());
        if closing {
            depth = depth.saturating_sub(1);
        } else if !rest[..tag_end].ends_with(b"/") {
            depth += 1;
            max = max.max(depth);
            // Raw text: skip to the end tag so "<div>" in a script does not count.
            if matches!(
                name.as_str(),
                "script" | "style" | "textarea" | "title" | "xmp"
            ) {
                pos += memchr::memmem::find_iter(rest, b"</")
                    .find(|&i| {
                        rest.get(i + 2..i + 2 + name.len())
                            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
                    })
                    .unwrap_or(rest.len());
            }
        }
    }
    max
}

/// A reference from an HTML page to a file, with the captions attached to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlRef {
    /// The referenced path, percent-decoded, without query or fragment.
    pub path: String,
    /// Whether `path` came from a URL with a host (then only its file name is meaningful).
    pub external: bool,
    /// Captions: alt, title, aria-label, figcaption, link text.
    pub texts: Vec<Text>,
}

/// The path part of a `src`/`href`, or `None` for data:, mailto:, javascript: and empty.
fn url_path(raw: &str) -> Option<(String, bool)> {
    let s = raw.trim();
    let s = s.split(['?', '#']).next().unwrap_or_default();
    let lower = s.to_ascii_lowercase();
    if s.is_empty()
        || ["data:", "mailto:", "javascript:", "tel:"]
            .iter()
            .any(|p| lower.starts_with(p))
    {
        return None;
    }
    let (path, external) = if let Some(i) = s.find("://") {
        let after = &s[i + 3..];
        (after.find('/').map_or("", |j| &after[j..]), true)
    } else if let Some(after) = s.strip_prefix("//") {
        (after.find('/').map_or("", |j| &after[j..]), true)
    } else {
        (s, false)
    };
    let decoded = percent_decode_str(path)
        .decode_utf8_lossy()
        .replace('\\', "/");
    (!decoded.is_empty()).then_some((decoded, external))
}

/// The URLs an element points at.
fn element_urls(el: &ElementRef<'_>) -> Vec<(String, bool)> {
    let v = el.value();
    let mut raw: Vec<&str> = ["src", "href", "poster", "data-src", "data"]
        .iter()
        .filter_map(|a| v.attr(a))
        .collect();
    for a in ["srcset", "data-srcset"] {
        if let Some(set) = v.attr(a) {
            raw.extend(set.split(',').filter_map(|c| c.split_whitespace().next()));
        }
    }
    raw.into_iter().filter_map(url_path).collect()
}

/// Concatenated text of an element, as a browser would render it (roughly).
fn element_text(el: &ElementRef<'_>) -> String {
    el.text().collect::<String>()
}

/// Finds every media reference in an HTML page and its captions.
/// `page` is the page's path relative to the scanned folder, used in labels.
pub fn html_refs(page: &str, html: &str) -> Vec<HtmlRef> {
    let doc = Html::parse_document(html);
    let mut out = Vec::new();
    for node in doc.root_element().descendants() {
        let Some(el) = ElementRef::wrap(node) else {
            continue;
        };
        let name = el.value().name();
        if !matches!(
            name,
            "img" | "source" | "video" | "audio" | "a" | "embed" | "object" | "image"
        ) {
            continue;
        }
        let urls = element_urls(&el);
        if urls.is_empty() {
            continue;
        }
        let mut texts = Vec::new();
        let mut push = |what: &str, value: String| {
            if !value.trim().is_empty() {
                texts.push(Text {
                    field: format!("HTML {page} {what}"),
                    value,
                });
            }
        };
        // <source> takes its captions from its <video>/<picture> (and the picture's <img>).
        let mut holders = vec![el];
        if name == "source"
            && let Some(parent) = el.parent().and_then(ElementRef::wrap)
        {
            holders.push(parent);
            holders.extend(
                parent
                    .children()
                    .filter_map(ElementRef::wrap)
                    .filter(|c| c.value().name() == "img"),
            );
        }
        for h in &holders {
            for attr in ["alt", "title", "aria-label"] {
                if let Some(v) = h.value().attr(attr) {
                    push(attr, v.to_owned());
                }
            }
        }
        if name == "a" {
            push("link text", element_text(&el));
        }
        let figure = el
            .ancestors()
            .filter_map(ElementRef::wrap)
            .find(|a| a.value().name() == "figure");
        if let Some(fig) = figure {
            for cap in fig
                .descendants()
                .filter_map(ElementRef::wrap)
                .filter(|c| c.value().name() == "figcaption")
            {
                push("figcaption", element_text(&cap));
            }
        }
        for (path, external) in urls {
            out.push(HtmlRef {
                path,
                external,
                texts: texts.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_measured_before_parsing() {
        let html = format!(
            "{}<figure><img src=a.jpg alt='Amelia Jones'></figure>",
            "<div>".repeat(MAX_HTML_DEPTH - 10)
        );
        assert_eq!(nesting_depth(&html), MAX_HTML_DEPTH - 9);
        assert_eq!(html_refs("p.html", &html).len(), 1);
        let sloppy = format!(
            "<ul>{}",
            "<li><p>a<p>b<br><img src=x><input>".repeat(10_000)
        );
        assert!(nesting_depth(&sloppy) < 10);
        let script = "<SCRIPT>if (a<b) { x = '<div><div><div>'; }</Script><div></div>";
        assert_eq!(nesting_depth(script), 1);
    }

    #[test]
    fn urls() {
        assert_eq!(url_path("a%20b.jpg?x=1#f"), Some(("a b.jpg".into(), false)));
        assert_eq!(
            url_path("https://school.example/img/s.jpg"),
            Some(("/img/s.jpg".into(), true))
        );
        assert_eq!(url_path("data:image/png;base64,AAAA"), None);
        assert_eq!(url_path("  "), None);
    }

    #[test]
    fn captions_of_img_source_link_and_figure() {
        let html = r#"<html><head><title>News</title></head><body>
            <figure><img src="img/sports.jpg" alt="Amelia Jones at sports day">
              <figcaption>Well done <b>Zoë</b> O'Brien-Smith</figcaption></figure>
            <video title="Play"><source src="clip.mp4"></video>
            <a href="pics/trip.jpg">Jean Luc's photo</a>
            <img src="data:image/png;base64,AAAA" alt="ignored">
        </body></html>"#;
        let refs = html_refs("news.html", html);
        let summary: Vec<(&str, Vec<(&str, &str)>)> = refs
            .iter()
            .map(|r| {
                let t = r
                    .texts
                    .iter()
                    .map(|t| (t.field.as_str(), t.value.as_str()))
                    .collect();
                (r.path.as_str(), t)
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "img/sports.jpg",
                    vec![
                        ("HTML news.html alt", "Amelia Jones at sports day"),
                        ("HTML news.html figcaption", "Well done Zoë O'Brien-Smith"),
                    ]
                ),
                ("clip.mp4", vec![("HTML news.html title", "Play")]),
                (
                    "pics/trip.jpg",
                    vec![("HTML news.html link text", "Jean Luc's photo")]
                ),
            ]
        );
    }
}
