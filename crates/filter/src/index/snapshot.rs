//! Snapshots: the index written to bytes and loaded back, every record checked.

use super::frozen::{Index, MAGIC, MAX_CATEGORIES, Mark, Parts, records};
use crate::FilterError;

impl Index {
    /// The snapshot: a header, the category sets, the arena and the line marks, little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.arena.len() + self.marks.len() * 10 + 1024);
        out.extend_from_slice(MAGIC);
        put_strings(&mut out, self.categories.names());
        put_strings(&mut out, &self.source_names);
        out.extend_from_slice(&self.categories.mandatory().to_le_bytes());
        put_u64(&mut out, self.sets.len() as u64);
        for (c, e) in &self.sets {
            out.extend_from_slice(&c.to_le_bytes());
            out.extend_from_slice(&e.to_le_bytes());
        }
        put_u64(&mut out, self.len as u64);
        put_u64(&mut out, self.arena.len() as u64);
        out.extend_from_slice(&self.arena);
        put_u64(&mut out, self.marks.len() as u64);
        for m in &self.marks {
            out.extend_from_slice(&m.offset.to_le_bytes());
            out.extend_from_slice(&m.source.to_le_bytes());
            out.extend_from_slice(&m.line.to_le_bytes());
        }
        out
    }

    /// Loads a snapshot written by [`Index::to_bytes`]: every record is checked and the table
    /// rebuilt, so a damaged file is an error, never a panic or a wrong answer.
    pub fn from_bytes(bytes: &[u8]) -> Result<Index, FilterError> {
        Index::from_vec(bytes.to_vec())
    }

    /// Like [`Index::from_bytes`], reusing the file's buffer for the arena, so that loading
    /// (and reloading beside the index in force) needs no second copy of it.
    pub fn from_vec(mut bytes: Vec<u8>) -> Result<Index, FilterError> {
        let bad = |m: &str| FilterError::Snapshot(m.into());
        let mut r = Reader {
            bytes: &bytes,
            pos: 0,
        };
        let magic = r.take(8)?;
        if magic == b"PALIDX01" {
            return Err(bad(
                "made by an older Palisade: compile the lists again with `palisade lists compile`",
            ));
        }
        if magic != MAGIC {
            return Err(bad("not a Palisade index (bad magic)"));
        }
        let categories = r.strings()?;
        let source_names = r.strings()?;
        let mandatory = r.u64()?;
        let nsets = r.len()?;
        let mut sets = Vec::with_capacity(nsets.min(1 << 16));
        for _ in 0..nsets {
            let c = r.u64()?;
            let e = r.u64()?;
            sets.push((c, e));
        }
        let n = r.len()?;
        let arena_len = r.len()?;
        let arena_at = r.pos;
        r.take(arena_len)?;
        let nmarks = r.len()?;
        let marks_bytes = r.take(
            nmarks
                .checked_mul(10)
                .ok_or_else(|| bad("a length is larger than the file"))?,
        )?;
        let marks: Vec<Mark> = marks_bytes
            .chunks_exact(10)
            .map(|b| Mark {
                offset: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                source: u16::from_le_bytes([b[4], b[5]]),
                line: u32::from_le_bytes([b[6], b[7], b[8], b[9]]),
            })
            .collect();
        if categories.len() > MAX_CATEGORIES || sets.len() > usize::from(u16::MAX) + 1 {
            return Err(bad("too many categories or category sets"));
        }
        if r.pos != bytes.len() {
            return Err(bad("trailing bytes"));
        }
        bytes.copy_within(arena_at..arena_at + arena_len, 0);
        bytes.truncate(arena_len);
        bytes.shrink_to_fit();
        let arena = bytes;
        let wide = sets.len() > 256;
        let width = if wide { 2 } else { 1 };
        // Every record must fit, name a set that exists, and the marks must point at records.
        let mut count = 0usize;
        let mut end = 0usize;
        let mut starts = Vec::with_capacity(n.min(arena.len()));
        for (offset, name, id) in records(&arena, width) {
            if name.is_empty() || usize::from(id) >= sets.len() {
                return Err(bad("a record is damaged"));
            }
            starts.push(offset);
            count += 1;
            end = offset as usize + 1 + name.len() + width;
        }
        if count != n || end != arena.len() {
            return Err(bad("the records do not fill the arena"));
        }
        if marks.first().is_some_and(|m| m.offset != 0)
            || (n > 0 && marks.is_empty())
            || marks.windows(2).any(|w| w[0].offset >= w[1].offset)
            || marks
                .iter()
                .any(|m| starts.binary_search(&m.offset).is_err())
        {
            return Err(bad("line marks are out of order"));
        }
        drop(starts);
        let categories = crate::Categories::from_parts(categories, mandatory)
            .ok_or_else(|| bad("too many categories or category sets"))?;
        Ok(Index::freeze(Parts {
            categories,
            source_names,
            sets,
            arena,
            marks,
            len: n,
        }))
    }
}

fn le_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_strings(out: &mut Vec<u8>, v: &[String]) {
    put_u64(out, v.len() as u64);
    for s in v {
        put_u64(out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FilterError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.bytes.len());
        let Some(end) = end else {
            return Err(FilterError::Snapshot("the file is truncated".into()));
        };
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u64(&mut self) -> Result<u64, FilterError> {
        Ok(le_u64(self.take(8)?))
    }

    fn len(&mut self) -> Result<usize, FilterError> {
        let v = self.u64()?;
        usize::try_from(v)
            .ok()
            .filter(|v| *v <= self.bytes.len())
            .ok_or_else(|| FilterError::Snapshot("a length is larger than the file".into()))
    }

    fn strings(&mut self) -> Result<Vec<String>, FilterError> {
        let n = self.len()?;
        (0..n)
            .map(|_| {
                let len = self.len()?;
                String::from_utf8(self.take(len)?.to_vec())
                    .map_err(|_| FilterError::Snapshot("a name is not UTF-8".into()))
            })
            .collect()
    }
}
