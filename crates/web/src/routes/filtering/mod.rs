//! The filtering pages: review requests, the school's rules and the device register.

pub mod devices;
pub mod loans;
pub mod reviews;
pub mod rules;
pub mod selftest;
mod shared;
