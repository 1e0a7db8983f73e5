//! The compact suffix index: every listed domain once, with the set of categories it is listed
//! under, the list file and line it came from, and the categories an exception lifts.
//!
//! Frozen layout: one byte arena of names, parallel arrays per entry, and an open-addressing
//! table of entry numbers keyed by a stable hash of the name. A lookup hashes each suffix of the
//! host (`a.b.example.com`, `b.example.com`, `example.com`, `com`), so `notexample.com` never
//! matches `example.com`. The same arrays are the snapshot format: loading one copies bytes into
//! place and parses no list.

use crate::FilterError;
use std::collections::HashMap;

/// Most categories one index can hold (a bit each).
pub const MAX_CATEGORIES: usize = 64;

const MAGIC: &[u8; 8] = b"PALIDX01";

/// FNV-1a: stable across runs and versions, which the snapshot needs.
fn hash(name: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[derive(Debug, Clone, Copy)]
struct Meta {
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
    entries: HashMap<Box<str>, Meta>,
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

    /// Adds a (normalised) name listed under `category`; `exception` lifts the category instead.
    pub fn add(&mut self, name: &str, category: u64, exception: bool, source: u16, line: u32) {
        let (cats, except) = if exception {
            (0, category)
        } else {
            (category, 0)
        };
        match self.entries.get_mut(name) {
            Some(m) => {
                self.duplicates += 1;
                if m.cats == 0 && cats != 0 {
                    m.source = source;
                    m.line = line;
                }
                m.cats |= cats;
                m.except |= except;
            }
            None => {
                self.entries.insert(
                    name.into(),
                    Meta {
                        cats,
                        except,
                        source,
                        line,
                    },
                );
            }
        }
    }

    /// Entries so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Freezes the entries into an [`Index`].
    pub fn build(self) -> Index {
        let n = self.entries.len();
        let mut arena = Vec::with_capacity(n * 16);
        let mut offs = Vec::with_capacity(n + 1);
        let mut cats = Vec::with_capacity(n);
        let mut sources = Vec::with_capacity(n);
        let mut lines = Vec::with_capacity(n);
        let mut excepts = Vec::new();
        let mut names: Vec<(Box<str>, Meta)> = self.entries.into_iter().collect();
        // Sorted so that a snapshot of the same lists is byte-identical whatever the hash order.
        names.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (i, (name, meta)) in names.iter().enumerate() {
            offs.push(u32::try_from(arena.len()).unwrap_or(u32::MAX));
            arena.extend_from_slice(name.as_bytes());
            cats.push(meta.cats);
            sources.push(meta.source);
            lines.push(meta.line);
            if meta.except != 0 {
                excepts.push((u32::try_from(i).unwrap_or(u32::MAX), meta.except));
            }
        }
        offs.push(u32::try_from(arena.len()).unwrap_or(u32::MAX));
        let mut index = Index {
            categories: self.categories,
            mandatory: self.mandatory,
            source_names: self.sources,
            arena,
            offs,
            cats,
            sources,
            lines,
            excepts: excepts.into_iter().collect(),
            slots: Vec::new(),
        };
        index.slots = index.table();
        index
    }
}

/// The frozen index.
#[derive(Debug, Clone)]
pub struct Index {
    categories: Vec<String>,
    mandatory: u64,
    source_names: Vec<String>,
    arena: Vec<u8>,
    offs: Vec<u32>,
    cats: Vec<u64>,
    sources: Vec<u16>,
    lines: Vec<u32>,
    excepts: HashMap<u32, u64>,
    /// Entry number + 1, 0 = empty; capacity a power of two at most 70 % full.
    slots: Vec<u32>,
}

/// One matching entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit<'a> {
    /// The listed name that matched (the host or one of its parent domains).
    pub rule: &'a str,
    pub categories: u64,
    /// Categories an exception lifts for this name and below.
    pub excepted: u64,
    pub entry: u32,
}

impl Index {
    fn name(&self, i: usize) -> &[u8] {
        let (a, b) = (self.offs[i] as usize, self.offs[i + 1] as usize);
        &self.arena[a..b]
    }

    fn table(&self) -> Vec<u32> {
        let n = self.cats.len();
        let cap = (n * 10 / 7 + 1).next_power_of_two().max(8);
        let mask = cap - 1;
        let mut slots = vec![0u32; cap];
        for i in 0..n {
            let mut s = (hash(self.name(i)) as usize) & mask;
            while slots[s] != 0 {
                s = (s + 1) & mask;
            }
            slots[s] = u32::try_from(i + 1).unwrap_or(u32::MAX);
        }
        slots
    }

    /// The entry for exactly `name`, if listed.
    pub fn get(&self, name: &[u8]) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut s = (hash(name) as usize) & mask;
        loop {
            let e = self.slots[s];
            if e == 0 {
                return None;
            }
            if self.name(e as usize - 1) == name {
                return Some(e - 1);
            }
            s = (s + 1) & mask;
        }
    }

    /// Every listed name that covers `host` (itself, then each parent domain), most specific
    /// first. `host` must be normalised.
    pub fn matches<'a>(&'a self, host: &'a str) -> impl Iterator<Item = Hit<'a>> + 'a {
        let bytes = host.as_bytes();
        let starts = std::iter::once(0).chain(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'.')
                .map(|(i, _)| i + 1),
        );
        starts.filter_map(move |start| {
            let suffix = &host[start..];
            let e = self.get(suffix.as_bytes())?;
            Some(Hit {
                rule: suffix,
                categories: self.cats[e as usize],
                excepted: self.excepts.get(&e).copied().unwrap_or(0),
                entry: e,
            })
        })
    }

    /// `file:line` of an entry.
    pub fn source_of(&self, entry: u32) -> String {
        let e = entry as usize;
        let file = self
            .source_names
            .get(usize::from(self.sources[e]))
            .map(String::as_str)
            .unwrap_or("?");
        format!("{file}:{}", self.lines[e])
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
        self.cats.len()
    }

    /// Whether nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.cats.is_empty()
    }

    /// Entries per category name.
    pub fn counts(&self) -> Vec<(String, usize)> {
        let mut counts = vec![0usize; self.categories.len()];
        for c in &self.cats {
            let mut bits = *c;
            while bits != 0 {
                counts[bits.trailing_zeros() as usize] += 1;
                bits &= bits - 1;
            }
        }
        self.categories.iter().cloned().zip(counts).collect()
    }

    /// Bytes of heap the index holds.
    pub fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.offs.capacity() * 4
            + self.cats.capacity() * 8
            + self.sources.capacity() * 2
            + self.lines.capacity() * 4
            + self.slots.capacity() * 4
            + self.excepts.capacity() * 16
            + self.categories.iter().map(|c| c.capacity()).sum::<usize>()
            + self
                .source_names
                .iter()
                .map(|c| c.capacity())
                .sum::<usize>()
    }

    /// The snapshot: a header and the arrays, little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.heap_bytes() + 64);
        out.extend_from_slice(MAGIC);
        put_strings(&mut out, &self.categories);
        put_strings(&mut out, &self.source_names);
        out.extend_from_slice(&self.mandatory.to_le_bytes());
        put_u64(&mut out, self.cats.len() as u64);
        put_u64(&mut out, self.arena.len() as u64);
        out.extend_from_slice(&self.arena);
        for v in &self.offs {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in &self.cats {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in &self.sources {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in &self.lines {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let mut excepts: Vec<(u32, u64)> = self.excepts.iter().map(|(k, v)| (*k, *v)).collect();
        excepts.sort_unstable();
        put_u64(&mut out, excepts.len() as u64);
        for (k, v) in excepts {
            out.extend_from_slice(&k.to_le_bytes());
            out.extend_from_slice(&v.to_le_bytes());
        }
        put_u64(&mut out, self.slots.len() as u64);
        for v in &self.slots {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Loads a snapshot written by [`Index::to_bytes`]; a damaged file is an error, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Index, FilterError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(8)? != MAGIC {
            return Err(FilterError::Snapshot(
                "not a Palisade index (bad magic)".into(),
            ));
        }
        let categories = r.strings()?;
        let source_names = r.strings()?;
        let mandatory = r.u64()?;
        let n = r.len()?;
        let arena_len = r.len()?;
        let arena = r.take(arena_len)?.to_vec();
        let offs: Vec<u32> = r.array(n + 1, 4, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))?;
        let cats: Vec<u64> = r.array(n, 8, le_u64)?;
        let sources: Vec<u16> = r.array(n, 2, |b| u16::from_le_bytes([b[0], b[1]]))?;
        let lines: Vec<u32> = r.array(n, 4, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))?;
        let ne = r.len()?;
        let mut excepts = HashMap::with_capacity(ne);
        for _ in 0..ne {
            let k = r.take(4)?;
            let k = u32::from_le_bytes([k[0], k[1], k[2], k[3]]);
            let v = r.u64()?;
            excepts.insert(k, v);
        }
        let ns = r.len()?;
        let slots: Vec<u32> = r.array(ns, 4, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))?;
        // Everything an array refers to must be in range, or a lookup could panic.
        let bad = |m: &str| Err(FilterError::Snapshot(m.into()));
        if !ns.is_power_of_two() || ns <= n {
            return bad("hash table size is wrong");
        }
        if offs.windows(2).any(|w| w[0] > w[1])
            || offs.last().is_some_and(|l| *l as usize != arena.len())
        {
            return bad("name offsets are out of order");
        }
        if slots.iter().any(|s| *s as usize > n) || excepts.keys().any(|k| *k as usize >= n) {
            return bad("entry numbers are out of range");
        }
        if categories.len() > MAX_CATEGORIES || r.pos != bytes.len() {
            return bad("trailing or missing bytes");
        }
        Ok(Index {
            categories,
            mandatory,
            source_names,
            arena,
            offs,
            cats,
            sources,
            lines,
            excepts,
            slots,
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

    fn array<T>(
        &mut self,
        n: usize,
        width: usize,
        f: impl Fn(&[u8]) -> T,
    ) -> Result<Vec<T>, FilterError> {
        let bytes = self.take(
            n.checked_mul(width)
                .ok_or_else(|| FilterError::Snapshot("overflow".into()))?,
        )?;
        Ok(bytes.chunks_exact(width).map(f).collect())
    }
}
