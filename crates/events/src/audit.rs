//! The audit trail's head, as recorded away from the database.

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain's head: how many rows it has and the newest row's hash. Recorded away from the
/// database (the daily mail to the chair of governors), it lets `Store::verify_audit_against`
/// catch rows cut from the end or a wiped log, which leave the chain itself intact.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditHead {
    pub count: u64,
    pub hash: String,
}

/// The label of the head in a mail: the head follows on the same line or the next one (see
/// [`AuditHead::find_in`]).
pub const HEAD_LINE: &str = "Audit trail head:";

impl std::fmt::Display for AuditHead {
    /// `COUNT:HASH`, as `audit head` prints it and `audit verify --expect` reads it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.count, self.hash)
    }
}

impl std::str::FromStr for AuditHead {
    type Err = String;

    /// Reads `COUNT:HASH` (a count and a 64-digit hex SHA-256).
    fn from_str(s: &str) -> std::result::Result<AuditHead, String> {
        let s = s.trim();
        let (count, hash) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}` is not COUNT:HASH (as `palisade audit head` prints)"))?;
        let count = count
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("`{count}` in `{s}` is not a count of entries"))?;
        let hash = hash.trim().to_ascii_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "`{hash}` in `{s}` is not a SHA-256 hash (64 hex digits)"
            ));
        }
        if count == 0 && hash != GENESIS {
            return Err(format!("`{s}`: an empty trail's head is 0:{GENESIS}"));
        }
        Ok(AuditHead { count, hash })
    }
}

impl AuditHead {
    /// The head carried by a mail's text, from its [`HEAD_LINE`].
    pub fn find_in(text: &str) -> Option<AuditHead> {
        let mut lines = text.lines().map(str::trim);
        let rest = lines.find_map(|l| l.strip_prefix(HEAD_LINE))?;
        let head = match rest.split_whitespace().next() {
            Some(h) => h,
            None => lines.find(|l| !l.is_empty())?.split_whitespace().next()?,
        };
        head.parse().ok()
    }
}
