//! Authentication: passwords, portal sessions, the REST token service's signing keys, and the
//! catalogue of scopes and built-in roles.

pub mod catalogue;
pub mod password;
pub mod secrets;
pub mod session;
pub mod tokens;
pub mod users;
