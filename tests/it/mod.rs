mod auth;
mod cli;
mod hub;
mod init;
mod lifecycle;
mod man;
mod system_smoke;
