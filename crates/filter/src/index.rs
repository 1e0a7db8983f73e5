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

mod builder;
mod frozen;
mod snapshot;

pub use builder::IndexBuilder;
pub use frozen::{Hit, Index, MAX_CATEGORIES};

#[cfg(test)]
mod tests;
