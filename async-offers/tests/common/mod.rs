//! Helpers shared by the integration tests that include this module.

pub mod ldk;
pub mod store_suite;
