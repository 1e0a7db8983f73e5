//! One module per subcommand.

pub mod audit;
pub mod demo;
pub mod policy;
pub mod serve;
pub mod user;
