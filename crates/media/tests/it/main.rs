//! Integration tests for the media scan, on real files written at test time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixtures;
mod robustness;
mod scan;
