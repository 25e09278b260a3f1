use std::process::ExitCode;

/// mimalloc, not glibc's malloc: the proxy allocates a few dozen small
/// buffers per request (headers, frames, futures), and under load glibc's
/// arena bookkeeping (`_int_malloc`, `malloc_consolidate`, `unlink_chunk`)
/// was a tenth of the hub's CPU per proxied request (bench/RESULTS-proxy.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    parachute::cli::main()
}
