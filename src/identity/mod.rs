//! People: the owner and other users, and their passwords.

pub mod password;

pub use password::Password;
