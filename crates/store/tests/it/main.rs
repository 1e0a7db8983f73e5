//! Repository tests; every one runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod audit;
mod backups;
mod concerns;
mod filter_tests;
mod filtering_reviews;
mod gaps;
mod import;
mod isolation;
mod leavers;
mod people;
mod registers;
mod reviews;
mod schools;
mod sign_in_factors;
mod signoffs;
mod subject_access;

use store::Store;

pub use testkit::cast::{Cast, chair, operator, operator_for, person, profile, reporting};

/// An access logger whose queue holds 10 events, written 4 at a time: easy to overflow.
pub fn small_logger(store: &Store) -> (store::AccessLogger, tokio::task::JoinHandle<()>) {
    store::AccessLogger::start(
        store.clone(),
        store::AccessLogConfig {
            capacity: 10,
            batch: 4,
        },
    )
}
