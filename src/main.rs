//! The `flaskpaste` daemon: parse the command line, run, map failure to a sysexits code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match flaskpaste::cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match flaskpaste::daemon::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            flaskpaste::daemon::report(&err);
            ExitCode::from(err.exit_code())
        }
    }
}
