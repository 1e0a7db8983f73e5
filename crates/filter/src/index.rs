//! The compact suffix index: every listed domain once, with the set of categories it is listed
//! under (and those an exception lifts), and the list file and line it came from.
//!
//! Layout, chosen for memory (a million domains in about 24 bytes each, names included):
//! - one byte arena of records `[length][name][category-set id]`, in the order names were first
//!   listed; an entry is known by its record's offset;
//! - the distinct category sets, so that a record holds a one-byte id instead of two bit sets;
//! - an open-addressing table of record offsets with a one-byte tag of each name's hash beside
//!   it, at most 80 % full, so that a miss rarely reads the arena;
//! - sparse line marks: a record's list line is the previous record's plus one unless a mark
//!   says otherwise (and every 64th record has one), so explaining a verdict walks at most 64
//!   records while lookups never touch lines at all.
//!
//! Names are hashed right to left, so one pass over a host gives the hash of every suffix
//! (`a.b.example.com`, `b.example.com`, `example.com`, `com`) and `notexample.com` never
//! matches `example.com`. A snapshot holds the arena, sets and marks; loading one checks every
//! record and rebuilds the table, parsing no list.

use crate::FilterError;
use std::collections::HashMap;

/// Most categories one index can hold (a bit each).
pub const MAX_CATEGORIES: usize = 64;

/// Most records: offsets are `u32`.
const MAX_ARENA: usize = u32::MAX as usize;

const MAGIC: &[u8; 8] = b"PALIDX02";

/// Records between forced line marks.
const MARK_EVERY: u32 = 64;

/// FNV-1a over the bytes from last to first, stable across runs and versions (the snapshot
/// does not store it, but tests compare), then mixed so that high and low bits both vary.
fn mix(h: u64) -> u64 {
    (h ^ (h >> 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn hash_name(name: &[u8]) -> u64 {
    let mut h = FNV_BASIS;
    for b in name.iter().rev() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    mix(h)
}

/// The tag kept beside a slot: never 0, which marks an empty slot.
fn tag_of(h: u64) -> u8 {
    ((h >> 32) as u8) | 1
}

/// The first slot for a hash, in `0..cap`.
fn home(h: u64, cap: usize) -> usize {
    ((u128::from(h) * cap as u128) >> 64) as usize
}

/// One name as the builder collects it.
#[derive(Debug, Clone, Copy)]
struct Pending {
    at: u32,
    len: u8,
    cats: u64,
    except: u64,
    source: u16,
    line: u32,
}

/// Collects entries from many lists, merging duplicates.
#[derive(Debug, Default)]
pub struct IndexBuilder {
    categories: Vec<String>,
    mandatory: u64,
    sources: Vec<String>,
    names: Vec<u8>,
    pending: Vec<Pending>,
    /// Full hash to the first pending entry with it; `chain` links entries sharing a hash.
    by_hash: HashMap<u64, u32>,
    chain: Vec<u32>,
    /// Entries seen again (same name, from any list).
    pub duplicates: u64,
}

impl IndexBuilder {
    /// An empty builder.
    pub fn new() -> IndexBuilder {
        IndexBuilder::default()
    }

    /// The bit of a category, adding it if new.
    pub fn category(&mut self, name: &str, mandatory: bool) -> Result<u64, FilterError> {
        let i = match self.categories.iter().position(|c| c == name) {
            Some(i) => i,
            None => {
                if self.categories.len() == MAX_CATEGORIES {
                    return Err(FilterError::TooManyCategories(name.to_string()));
                }
                self.categories.push(name.to_string());
                self.categories.len() - 1
            }
        };
        let bit = 1u64 << i;
        if mandatory {
            self.mandatory |= bit;
        }
        Ok(bit)
    }

    /// The number of a source file, adding it if new.
    pub fn source(&mut self, name: &str) -> u16 {
        match self.sources.iter().position(|s| s == name) {
            Some(i) => u16::try_from(i).unwrap_or(u16::MAX),
            None => {
                self.sources.push(name.to_string());
                u16::try_from(self.sources.len() - 1).unwrap_or(u16::MAX)
            }
        }
    }

    fn name(&self, p: &Pending) -> &[u8] {
        &self.names[p.at as usize..p.at as usize + usize::from(p.len)]
    }

    /// Adds a (normalised) name listed under `category`; `exception` lifts the category instead.
    /// Names longer than 253 bytes are not host names and are ignored (the parsers refuse them).
    pub fn add(&mut self, name: &str, category: u64, exception: bool, source: u16, line: u32) {
        let Ok(len) = u8::try_from(name.len()) else {
            return;
        };
        if self.names.len() + name.len() >= MAX_ARENA / 2 {
            return;
        }
        let (cats, except) = if exception {
            (0, category)
        } else {
            (category, 0)
        };
        let h = hash_name(name.as_bytes());
        let mut at = self.by_hash.get(&h).copied();
        while let Some(i) = at {
            let i = i as usize;
            if self.name(&self.pending[i]) == name.as_bytes() {
                self.duplicates += 1;
                let p = &mut self.pending[i];
                if p.cats == 0 && cats != 0 {
                    p.source = source;
                    p.line = line;
                }
                p.cats |= cats;
                p.except |= except;
                return;
            }
            at = Some(self.chain[i]).filter(|n| *n != u32::MAX);
        }
        let i = u32::try_from(self.pending.len()).unwrap_or(u32::MAX);
        let previous = self.by_hash.insert(h, i);
        self.chain.push(previous.unwrap_or(u32::MAX));
        let at = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.extend_from_slice(name.as_bytes());
        self.pending.push(Pending {
            at,
            len,
            cats,
            except,
            source,
            line,
        });
    }

    /// Entries so far.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Freezes the entries into an [`Index`].
    pub fn build(self) -> Index {
        let mut set_ids: HashMap<(u64, u64), u16> = HashMap::new();
        let mut sets: Vec<(u64, u64)> = Vec::new();
        for p in &self.pending {
            set_ids.entry((p.cats, p.except)).or_insert_with(|| {
                sets.push((p.cats, p.except));
                u16::try_from(sets.len() - 1).unwrap_or(u16::MAX)
            });
        }
        let wide = sets.len() > 256;
        let width = if wide { 2 } else { 1 };
        let total: usize = self
            .pending
            .iter()
            .map(|p| 1 + usize::from(p.len) + width)
            .sum();
        let mut arena = Vec::with_capacity(total);
        let mut marks = Vec::new();
        let mut expected: Option<(u16, u32)> = None;
        for (i, p) in self.pending.iter().enumerate() {
            let offset = u32::try_from(arena.len()).unwrap_or(u32::MAX);
            if expected != Some((p.source, p.line)) || (i as u32).is_multiple_of(MARK_EVERY) {
                marks.push(Mark {
                    offset,
                    source: p.source,
                    line: p.line,
                });
            }
            expected = Some((p.source, p.line.wrapping_add(1)));
            arena.push(p.len);
            arena.extend_from_slice(self.name(p));
            let id = set_ids.get(&(p.cats, p.except)).copied().unwrap_or(0);
            if wide {
                arena.extend_from_slice(&id.to_le_bytes());
            } else {
                arena.push(id as u8);
            }
        }
        let (tags, slots) = table(&arena, width, self.pending.len());
        Index {
            categories: self.categories,
            mandatory: self.mandatory,
            source_names: self.sources,
            sets,
            wide,
            arena,
            marks,
            tags,
            slots,
            len: self.pending.len(),
        }
    }
}

/// Where a record's list line is not the previous record's plus one (and every 64th record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mark {
    offset: u32,
    source: u16,
    line: u32,
}

/// Walks the records of an arena: `(offset, name, set id)`; stops at the first record that does
/// not fit (snapshots are checked with [`check_records`] first).
fn records(arena: &[u8], width: usize) -> impl Iterator<Item = (u32, &[u8], u16)> + '_ {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let len = usize::from(*arena.get(pos)?);
        let name = arena.get(pos + 1..pos + 1 + len)?;
        let id_at = pos + 1 + len;
        let id = if width == 2 {
            u16::from_le_bytes([*arena.get(id_at)?, *arena.get(id_at + 1)?])
        } else {
            u16::from(*arena.get(id_at)?)
        };
        let offset = u32::try_from(pos).ok()?;
        pos = id_at + width;
        Some((offset, name, id))
    })
}

/// Builds the tag and slot arrays for the records of `arena`.
fn table(arena: &[u8], width: usize, n: usize) -> (Vec<u8>, Vec<u32>) {
    let cap = (n * 5 / 4 + 1).max(8);
    let mut tags = vec![0u8; cap];
    let mut slots = vec![0u32; cap];
    for (offset, name, _) in records(arena, width) {
        let h = hash_name(name);
        let mut s = home(h, cap);
        while tags[s] != 0 {
            s += 1;
            if s == cap {
                s = 0;
            }
        }
        tags[s] = tag_of(h);
        slots[s] = offset;
    }
    (tags, slots)
}

/// The frozen index.
#[derive(Debug, Clone)]
pub struct Index {
    categories: Vec<String>,
    mandatory: u64,
    source_names: Vec<String>,
    /// (categories, categories an exception lifts) by set id.
    sets: Vec<(u64, u64)>,
    /// Set ids take two bytes (more than 256 distinct sets).
    wide: bool,
    arena: Vec<u8>,
    marks: Vec<Mark>,
    /// A tag of each slot's name hash, 0 when empty.
    tags: Vec<u8>,
    /// Record offsets.
    slots: Vec<u32>,
    len: usize,
}

/// One matching entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit<'a> {
    /// The listed name that matched (the host or one of its parent domains).
    pub rule: &'a str,
    pub categories: u64,
    /// Categories an exception lifts for this name and below.
    pub excepted: u64,
    /// The entry (its record's offset), for [`Index::source_of`].
    pub entry: u32,
}

/// Most labels a host name can have (253 bytes, one-letter labels).
const MAX_LABELS: usize = 128;

impl Index {
    fn width(&self) -> usize {
        if self.wide { 2 } else { 1 }
    }

    /// The name and set of the record at `offset`, if one starts there.
    fn record(&self, offset: u32) -> Option<(&[u8], (u64, u64))> {
        let pos = offset as usize;
        let len = usize::from(*self.arena.get(pos)?);
        let name = self.arena.get(pos + 1..pos + 1 + len)?;
        let id_at = pos + 1 + len;
        let id = if self.wide {
            u16::from_le_bytes([*self.arena.get(id_at)?, *self.arena.get(id_at + 1)?])
        } else {
            u16::from(*self.arena.get(id_at)?)
        };
        Some((name, *self.sets.get(usize::from(id))?))
    }

    /// The record for exactly `name` with hash `h`.
    fn find(&self, name: &[u8], h: u64) -> Option<(u32, (u64, u64))> {
        let cap = self.tags.len();
        if cap == 0 {
            return None;
        }
        let tag = tag_of(h);
        let mut s = home(h, cap);
        for _ in 0..cap {
            let t = self.tags[s];
            if t == 0 {
                return None;
            }
            if t == tag {
                let offset = self.slots[s];
                if let Some((n, set)) = self.record(offset)
                    && n == name
                {
                    return Some((offset, set));
                }
            }
            s += 1;
            if s == cap {
                s = 0;
            }
        }
        None
    }

    /// The entry for exactly `name`, if listed.
    pub fn get(&self, name: &[u8]) -> Option<u32> {
        self.find(name, hash_name(name)).map(|(offset, _)| offset)
    }

    /// Every listed name that covers `host` (itself, then each parent domain), most specific
    /// first. `host` must be normalised.
    pub fn matches<'a>(&'a self, host: &'a str) -> impl Iterator<Item = Hit<'a>> + 'a {
        // One pass from the right gives each suffix's hash where a label starts.
        let bytes = host.as_bytes();
        let mut starts = [(0u16, 0u64); MAX_LABELS];
        let mut n = 0usize;
        let mut h = FNV_BASIS;
        for i in (0..bytes.len()).rev() {
            h ^= u64::from(bytes[i]);
            h = h.wrapping_mul(FNV_PRIME);
            if (i == 0 || bytes[i - 1] == b'.') && n < MAX_LABELS {
                starts[n] = (u16::try_from(i).unwrap_or(u16::MAX), mix(h));
                n += 1;
            }
        }
        // Most specific (the whole host) first.
        (0..n).rev().filter_map(move |k| {
            let (start, h) = starts[k];
            let suffix = host.get(usize::from(start)..)?;
            let (entry, (categories, excepted)) = self.find(suffix.as_bytes(), h)?;
            Some(Hit {
                rule: suffix,
                categories,
                excepted,
                entry,
            })
        })
    }

    /// `file:line` of an entry.
    pub fn source_of(&self, entry: u32) -> String {
        let i = self.marks.partition_point(|m| m.offset <= entry);
        let Some(mark) = i.checked_sub(1).and_then(|i| self.marks.get(i)) else {
            return "?".into();
        };
        let mut line = mark.line;
        let mut pos = mark.offset as usize;
        let width = self.width();
        while pos < entry as usize {
            let Some(len) = self.arena.get(pos) else {
                break;
            };
            pos += 1 + usize::from(*len) + width;
            line = line.wrapping_add(1);
        }
        let file = self
            .source_names
            .get(usize::from(mark.source))
            .map(String::as_str)
            .unwrap_or("?");
        format!("{file}:{line}")
    }

    /// The name of the lowest category in `bits`.
    pub fn category_name(&self, bits: u64) -> &str {
        if bits == 0 {
            return "";
        }
        self.categories
            .get(bits.trailing_zeros() as usize)
            .map(String::as_str)
            .unwrap_or("?")
    }

    /// The bits of the named categories (unknown names have none: nothing is listed under them).
    pub fn mask_of<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> u64 {
        names
            .into_iter()
            .filter_map(|n| self.categories.iter().position(|c| c == n))
            .fold(0, |m, i| m | (1 << i))
    }

    /// Categories from mandatory lists.
    pub fn mandatory(&self) -> u64 {
        self.mandatory
    }

    /// Category names, in bit order.
    pub fn categories(&self) -> &[String] {
        &self.categories
    }

    /// How many names are listed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entries per category name.
    pub fn counts(&self) -> Vec<(String, usize)> {
        let mut per_set = vec![0usize; self.sets.len()];
        for (_, _, id) in records(&self.arena, self.width()) {
            if let Some(c) = per_set.get_mut(usize::from(id)) {
                *c += 1;
            }
        }
        let mut counts = vec![0usize; self.categories.len()];
        for ((cats, _), n) in self.sets.iter().zip(per_set) {
            let mut bits = *cats;
            while bits != 0 {
                if let Some(c) = counts.get_mut(bits.trailing_zeros() as usize) {
                    *c += n;
                }
                bits &= bits - 1;
            }
        }
        self.categories.iter().cloned().zip(counts).collect()
    }

    /// Bytes of heap the index holds.
    pub fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.tags.capacity()
            + self.slots.capacity() * 4
            + self.marks.capacity() * std::mem::size_of::<Mark>()
            + self.sets.capacity() * 16
            + self.categories.iter().map(|c| c.capacity()).sum::<usize>()
            + self
                .source_names
                .iter()
                .map(|c| c.capacity())
                .sum::<usize>()
    }

    /// The snapshot: a header, the category sets, the arena and the line marks, little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.arena.len() + self.marks.len() * 10 + 1024);
        out.extend_from_slice(MAGIC);
        put_strings(&mut out, &self.categories);
        put_strings(&mut out, &self.source_names);
        out.extend_from_slice(&self.mandatory.to_le_bytes());
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
        let (tags, slots) = table(&arena, width, n);
        Ok(Index {
            categories,
            mandatory,
            source_names,
            sets,
            wide,
            arena,
            marks,
            tags,
            slots,
            len: n,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn index(entries: &[(&str, &str, bool, u32)]) -> Index {
        let mut b = IndexBuilder::new();
        let src = b.source("list.txt");
        for (name, cat, exception, line) in entries {
            let bit = b.category(cat, false).unwrap_or(0);
            b.add(name, bit, *exception, src, *line);
        }
        b.build()
    }

    #[test]
    fn suffix_hashes_from_one_pass_equal_whole_name_hashes() {
        let i = index(&[("example.com", "adult", false, 1)]);
        let hits: Vec<&str> = i.matches("a.b.example.com").map(|h| h.rule).collect();
        assert_eq!(hits, ["example.com"]);
        assert!(i.matches("notexample.com").next().is_none());
        assert_eq!(i.get(b"example.com"), Some(0));
        assert_eq!(i.get(b"com"), None);
    }

    #[test]
    fn lines_follow_the_records_with_marks_where_they_jump() {
        let mut entries: Vec<(String, u32)> =
            (0..200).map(|i| (format!("n{i}.test"), i + 1)).collect();
        // A gap (a comment, a duplicate) and a jump in the middle.
        entries[100].1 = 150;
        for e in entries.iter_mut().skip(101) {
            e.1 += 49;
        }
        let mut b = IndexBuilder::new();
        let src = b.source("list.txt");
        let bit = b.category("adult", false).unwrap_or(0);
        for (name, line) in &entries {
            b.add(name, bit, false, src, *line);
        }
        let i = b.build();
        for (name, line) in &entries {
            let hit = i.matches(name).next();
            assert_eq!(
                hit.map(|h| i.source_of(h.entry)),
                Some(format!("list.txt:{line}")),
                "{name}"
            );
        }
        let loaded = Index::from_bytes(&i.to_bytes());
        assert!(loaded.is_ok());
        let Ok(loaded) = loaded else { return };
        assert_eq!(
            loaded.source_of(loaded.get(b"n150.test").unwrap_or(0)),
            "list.txt:200"
        );
    }

    #[test]
    fn exceptions_and_categories_merge_into_one_set_per_name() {
        let i = index(&[
            ("a.test", "adult", false, 1),
            ("a.test", "gambling", false, 2),
            ("b.test", "adult", true, 3),
        ]);
        assert_eq!(i.len(), 2);
        let a = i.matches("a.test").next();
        assert_eq!(a.map(|h| h.categories), Some(0b11));
        let b = i.matches("x.b.test").next();
        assert_eq!(b.map(|h| (h.categories, h.excepted)), Some((0, 0b1)));
        assert_eq!(
            i.counts(),
            [("adult".to_string(), 1), ("gambling".to_string(), 1)]
        );
    }

    #[test]
    fn an_old_snapshot_is_refused_with_what_to_do() {
        let err = Index::from_bytes(b"PALIDX01\0\0\0\0")
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("palisade lists compile")));
    }
}
