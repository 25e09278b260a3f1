use std::process::ExitCode;

fn main() -> ExitCode {
    parachute::cli::main()
}
