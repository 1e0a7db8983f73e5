//! The DNS gateway through real UDP and TCP on loopback, against a loopback stub upstream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dns;
