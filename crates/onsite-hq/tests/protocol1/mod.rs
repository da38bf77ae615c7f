//! The wire types of protocol 1, frozen (see each file).
pub mod admin;
pub mod sync;
