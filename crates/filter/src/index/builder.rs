//! The builder: collects names from many lists, merging duplicates, then freezes them into
//! the arena, the category sets, the line marks and the table.

use super::frozen::{Index, MARK_EVERY, MAX_ARENA, Mark, Parts, hash_name};
use crate::{Categories, FilterError};
use std::collections::HashMap;

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
    categories: Categories,
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
        self.categories.add(name, mandatory)
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
        Index::freeze(Parts {
            categories: self.categories,
            source_names: self.sources,
            sets,
            arena,
            marks,
            len: self.pending.len(),
        })
    }
}
