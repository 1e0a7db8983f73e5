//! The DNS gateway through real UDP and TCP on loopback, against a loopback stub upstream;
//! the web proxy through real HTTP and CONNECT to loopback origins.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dns;
mod proxy;
