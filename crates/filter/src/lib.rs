//! Palisade's filter engine: list parsers, a compact suffix index with snapshots, and per-group
//! verdicts. Reads list files; no network, no database.

pub mod categories;
pub mod circumvention;
pub mod compile;
pub mod engine;
pub mod index;
pub mod normalize;
pub mod parse;
pub mod selftest;
pub mod urls;

pub use categories::Categories;
pub use compile::{CompileReport, Layers, ListFile, compile};
pub use engine::{Engine, Verdict};
pub use index::{Index, IndexBuilder};

/// Everything that can go wrong in the filter.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// A list file or folder could not be read.
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    /// More categories than the index can hold.
    #[error("too many categories: `{0}` would be the 65th")]
    TooManyCategories(String),
    /// A snapshot file is damaged or of another version.
    #[error("index snapshot: {0}")]
    Snapshot(String),
}
