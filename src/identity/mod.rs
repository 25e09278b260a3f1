//! People: the owner and other users, their passwords and second factors.

pub mod backup_codes;
pub mod lockout;
pub mod login;
pub mod owner;
pub mod password;
pub mod step_up;
pub mod totp;
pub mod two_factor;

pub use password::Password;
