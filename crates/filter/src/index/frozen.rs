//! The frozen index: the arena of records, the category sets, the line marks and the
//! table of offsets, with the lookups (a host's every listed suffix, an entry's list line).

pub use crate::categories::MAX_CATEGORIES;

/// Most records: offsets are `u32`.
pub(super) const MAX_ARENA: usize = u32::MAX as usize;

pub(super) const MAGIC: &[u8; 8] = b"PALIDX02";

/// Records between forced line marks.
pub(super) const MARK_EVERY: u32 = 64;

/// FNV-1a over the bytes from last to first, stable across runs and versions (the snapshot
/// does not store it, but tests compare), then mixed so that high and low bits both vary.
pub(super) fn mix(h: u64) -> u64 {
    (h ^ (h >> 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

pub(super) const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
pub(super) const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

pub(super) fn hash_name(name: &[u8]) -> u64 {
    let mut h = FNV_BASIS;
    for b in name.iter().rev() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    mix(h)
}

/// The tag kept beside a slot: never 0, which marks an empty slot.
pub(super) fn tag_of(h: u64) -> u8 {
    ((h >> 32) as u8) | 1
}

/// The first slot for a hash, in `0..cap`.
pub(super) fn home(h: u64, cap: usize) -> usize {
    ((u128::from(h) * cap as u128) >> 64) as usize
}

/// Where a record's list line is not the previous record's plus one (and every 64th record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Mark {
    pub(super) offset: u32,
    pub(super) source: u16,
    pub(super) line: u32,
}

/// Walks the records of an arena: `(offset, name, set id)`; stops at the first record that does
/// not fit (snapshots are checked with [`check_records`] first).
pub(super) fn records(arena: &[u8], width: usize) -> impl Iterator<Item = (u32, &[u8], u16)> + '_ {
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
pub(super) fn table(arena: &[u8], width: usize, n: usize) -> (Vec<u8>, Vec<u32>) {
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
    pub(super) categories: crate::Categories,
    pub(super) source_names: Vec<String>,
    /// (categories, categories an exception lifts) by set id.
    pub(super) sets: Vec<(u64, u64)>,
    /// Set ids take two bytes (more than 256 distinct sets).
    pub(super) wide: bool,
    pub(super) arena: Vec<u8>,
    pub(super) marks: Vec<Mark>,
    /// A tag of each slot's name hash, 0 when empty.
    pub(super) tags: Vec<u8>,
    /// Record offsets.
    pub(super) slots: Vec<u32>,
    pub(super) len: usize,
}

/// An index but for its table, which is always rebuilt from the arena (a snapshot does not
/// hold it).
pub(super) struct Parts {
    pub(super) categories: crate::Categories,
    pub(super) source_names: Vec<String>,
    pub(super) sets: Vec<(u64, u64)>,
    pub(super) arena: Vec<u8>,
    pub(super) marks: Vec<Mark>,
    pub(super) len: usize,
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
pub(super) const MAX_LABELS: usize = 128;

impl Index {
    /// Builds the table over `parts` and freezes them.
    pub(super) fn freeze(parts: Parts) -> Index {
        let wide = parts.sets.len() > 256;
        let (tags, slots) = table(&parts.arena, if wide { 2 } else { 1 }, parts.len);
        Index {
            categories: parts.categories,
            source_names: parts.source_names,
            sets: parts.sets,
            wide,
            arena: parts.arena,
            marks: parts.marks,
            tags,
            slots,
            len: parts.len,
        }
    }

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
        self.categories.name_of(bits)
    }

    /// The bits of the named categories (unknown names have none: nothing is listed under them).
    pub fn mask_of<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> u64 {
        self.categories.mask_of(names)
    }

    /// Categories from mandatory lists.
    pub fn mandatory(&self) -> u64 {
        self.categories.mandatory()
    }

    /// Category names, in bit order.
    pub fn categories(&self) -> &[String] {
        self.categories.names()
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
        let mut counts = vec![0usize; self.categories().len()];
        for ((cats, _), n) in self.sets.iter().zip(per_set) {
            let mut bits = *cats;
            while bits != 0 {
                if let Some(c) = counts.get_mut(bits.trailing_zeros() as usize) {
                    *c += n;
                }
                bits &= bits - 1;
            }
        }
        self.categories().iter().cloned().zip(counts).collect()
    }

    /// Bytes of heap the index holds.
    pub fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.tags.capacity()
            + self.slots.capacity() * 4
            + self.marks.capacity() * std::mem::size_of::<Mark>()
            + self.sets.capacity() * 16
            + self.categories.heap_bytes()
            + self
                .source_names
                .iter()
                .map(|c| c.capacity())
                .sum::<usize>()
    }
}
