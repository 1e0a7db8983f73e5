//! One cell of an export read as what its column holds: dates as the exports write them, yes
//! and no, addresses, numbers. Each reader says what is wrong in words for the problem list,
//! quoting the cell (a cell is never a secret: it is what the school's MIS exported).

use chrono::NaiveDate;

/// The longest identifier (MIS id, staff code, contact id) kept.
pub const MAX_ID: usize = 50;
/// The longest name part kept: a forename and a surname together fit a display name (200).
pub const MAX_NAME: usize = 90;
/// The longest year group, class or relationship kept (as the people form allows).
pub const MAX_SHORT: usize = 50;

/// A date as SIMS, Arbor and Pupil Asset write it: `31/01/2015`, `31-01-2015`, `31.01.2015`,
/// `2015-01-31`, optionally followed by a midnight time (`31/01/2015 00:00`, `2015-01-31T00:00:00`),
/// as a spreadsheet saves a date cell.
pub fn date(cell: &str) -> Result<NaiveDate, String> {
    let bad = || format!("\"{cell}\" is not a date (dd/mm/yyyy or yyyy-mm-dd)");
    let day = cell
        .split(['T', ' '])
        .next()
        .filter(|d| !d.is_empty())
        .ok_or_else(bad)?;
    let time = cell[day.len()..].trim_start_matches(['T', ' ']);
    if !time.is_empty() && !time.chars().all(|c| c == '0' || c == ':' || c == '.') {
        return Err(bad());
    }
    let parts: Vec<&str> = day.split(['/', '-', '.']).collect();
    let [a, b, c] = parts.as_slice() else {
        return Err(bad());
    };
    let num = |s: &str| -> Option<u32> {
        (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (y, m, d) = if a.len() == 4 {
        (num(a), num(b), num(c))
    } else if c.len() == 4 {
        (num(c), num(b), num(a))
    } else {
        return Err(bad());
    };
    let (Some(y), Some(m), Some(d)) = (y, m, d) else {
        return Err(bad());
    };
    if !(1900..=2100).contains(&y) {
        return Err(bad());
    }
    NaiveDate::from_ymd_opt(i32::try_from(y).map_err(|_| bad())?, m, d).ok_or_else(bad)
}

/// Yes or no as exports write it (`Yes`, `Y`, `True`, `1`; `No`, `N`, `False`, `0`).
pub fn yes_no(cell: &str) -> Result<bool, String> {
    match cell.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "t" | "1" => Ok(true),
        "no" | "n" | "false" | "f" | "0" => Ok(false),
        _ => Err(format!("\"{cell}\" is not yes or no")),
    }
}

/// A mail address: something, one `@`, a domain with a dot; no spaces. Lower-cased, as
/// addresses are matched whatever their case.
pub fn email(cell: &str) -> Result<String, String> {
    let bad = || format!("\"{cell}\" is not an email address");
    if cell.len() > 254 || cell.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = cell.split_once('@').ok_or_else(bad)?;
    let ok = !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.');
    if ok {
        Ok(cell.to_lowercase())
    } else {
        Err(bad())
    }
}

/// A phone number: digits with the usual punctuation (`+44 (0)1632 960123`, `01632-960123`).
pub fn phone(cell: &str) -> Result<String, String> {
    let ok = cell.len() <= 40
        && cell.chars().any(|c| c.is_ascii_digit())
        && cell
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c) || c == 'x');
    if ok {
        Ok(cell.to_string())
    } else {
        Err(format!("\"{cell}\" is not a phone number"))
    }
}

/// A unique pupil number: a letter and twelve more characters (eleven digits and a digit, or
/// a letter for a temporary UPN). Upper-cased.
pub fn upn(cell: &str) -> Result<String, String> {
    let up = cell.to_ascii_uppercase();
    let b = up.as_bytes();
    let ok = b.len() == 13
        && b[0].is_ascii_uppercase()
        && b[1..12].iter().all(u8::is_ascii_digit)
        && b[12].is_ascii_alphanumeric();
    if ok {
        Ok(up)
    } else {
        Err(format!(
            "\"{cell}\" is not a UPN (a letter and 12 more characters)"
        ))
    }
}

/// Text of at most `max` characters, without control characters.
pub fn text(cell: &str, max: usize) -> Result<String, String> {
    let n = cell.chars().count();
    if n > max {
        return Err(format!("is {n} characters long; at most {max}"));
    }
    if cell.chars().any(char::is_control) {
        return Err("holds a control character".to_string());
    }
    Ok(cell.to_string())
}

/// A year group as the people pages show it: a bare number is `Year N`, `R` is `Reception`,
/// anything else (`Year 5`, `N1`, `Nursery`) as written.
pub fn year_group(cell: &str) -> Result<String, String> {
    let t = text(cell, MAX_SHORT)?;
    if !t.is_empty() && t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit()) {
        let n: u32 = t.parse().unwrap_or(0);
        return Ok(format!("Year {n}"));
    }
    if t.eq_ignore_ascii_case("r") || t.eq_ignore_ascii_case("rec") {
        return Ok("Reception".to_string());
    }
    Ok(t)
}

/// The text of a file that should be UTF-8: as it is, less a byte-order mark, or read as
/// Windows-1252 when it is not UTF-8 (what SIMS and Excel save on Windows).
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
    }
}

/// One byte of Windows-1252.
fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9f => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// A name part for a username: lower-case ASCII letters and digits, accents dropped
/// (`Zoë` -> `zoe`), spaces and hyphens as one `-`, anything else left out (`O'Brien` ->
/// `obrien`).
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(fold) {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if (c == ' ' || c == '-') && !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// A letter without its accent, for the letters of Western European names.
fn fold(c: char) -> impl Iterator<Item = char> {
    let s: &str = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ą' => "a",
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' | 'Ą' => "a",
        'æ' | 'Æ' => "ae",
        'ç' | 'ć' | 'č' | 'Ç' | 'Ć' | 'Č' => "c",
        'ď' | 'đ' | 'Ď' | 'Đ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => "e",
        'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ę' | 'Ě' => "e",
        'ğ' | 'Ğ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'ı' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' | 'İ' => "i",
        'ł' | 'Ł' => "l",
        'ñ' | 'ń' | 'ň' | 'Ñ' | 'Ń' | 'Ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō' | 'Ő' => "o",
        'œ' | 'Œ' => "oe",
        'ř' | 'Ř' => "r",
        'ś' | 'š' | 'ş' | 'Ś' | 'Š' | 'Ş' => "s",
        'ß' => "ss",
        'ť' | 'ţ' | 'Ť' | 'Ţ' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => "u",
        'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' | 'Ů' | 'Ű' => "u",
        'ý' | 'ÿ' | 'Ý' | 'Ÿ' => "y",
        'ź' | 'ż' | 'ž' | 'Ź' | 'Ż' | 'Ž' => "z",
        _ => "",
    };
    let own = s.is_empty().then_some(c);
    s.chars().chain(own)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn dates_are_read_as_the_exports_write_them() {
        for cell in [
            "31/01/2015",
            "31-01-2015",
            "31.01.2015",
            "2015-01-31",
            "31/01/2015 00:00",
            "2015-01-31T00:00:00",
        ] {
            assert_eq!(date(cell), Ok(ymd(2015, 1, 31)), "{cell}");
        }
        assert_eq!(date("1/9/2020"), Ok(ymd(2020, 9, 1)));
        for bad in [
            "31/02/2015",
            "2015/13/01",
            "next week",
            "",
            "31/01/15",
            "31/01/2015 14:30",
            "01/01/1066",
        ] {
            let err = date(bad).err().unwrap_or_default();
            assert!(err.contains("is not a date"), "{bad}: {err}");
        }
    }

    #[test]
    fn cells_are_checked_and_tidied() {
        assert_eq!(yes_no("Y"), Ok(true));
        assert_eq!(yes_no("false"), Ok(false));
        assert!(yes_no("maybe").is_err());
        assert_eq!(
            email("A.Parent@Example.org"),
            Ok("a.parent@example.org".into())
        );
        for bad in ["no-at-sign", "a@b", "a b@c.org", "a@@c.org", "a@.org"] {
            assert!(email(bad).is_err(), "{bad}");
        }
        assert_eq!(upn("a123456789012"), Ok("A123456789012".into()));
        assert!(upn("A12345").is_err());
        assert_eq!(year_group("5"), Ok("Year 5".into()));
        assert_eq!(year_group("R"), Ok("Reception".into()));
        assert_eq!(year_group("Year 6"), Ok("Year 6".into()));
        assert!(phone("+44 (0)1632 960123").is_ok());
        assert!(phone("call me").is_err());
        assert!(text("a\u{7}b", 10).is_err());
    }

    #[test]
    fn names_become_username_parts() {
        assert_eq!(slug("Zoë"), "zoe");
        assert_eq!(slug("O'Brien"), "obrien");
        assert_eq!(slug("Mary Jane"), "mary-jane");
        assert_eq!(slug("Smith - Jones"), "smith-jones");
        assert_eq!(slug("Łukasz"), "lukasz");
        assert_eq!(slug("李"), "");
    }

    #[test]
    fn windows_files_are_read() {
        assert_eq!(decode(b"Zo\xeb"), "Zoë");
        assert_eq!(decode(b"\xEF\xBB\xBFAdno"), "Adno");
        assert_eq!(decode("Zoë".as_bytes()), "Zoë");
    }
}
