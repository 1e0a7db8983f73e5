//! The filter engine: each list format from small files, the index and its snapshot, verdict
//! precedence, and property tests of suffix matching.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod engine;
mod formats;
mod suffix;
