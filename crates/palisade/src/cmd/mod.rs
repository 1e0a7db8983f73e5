//! One module per subcommand.

pub mod audit;
pub mod ca;
pub mod check;
pub mod demo;
pub mod lists;
pub mod policy;
pub mod school;
pub mod serve;
pub mod user;
