//! The one integration-test binary (ripgrep's layout): test modules live in
//! `tests/it/`, shared harnesses in `tests/support/`.

mod it;
mod support;
