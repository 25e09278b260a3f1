mod cli;
mod lifecycle;
mod man;
mod system_smoke;
