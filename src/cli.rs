//! Command-line flags of the daemon. Parses only: no figment, no I/O beyond printing usage.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use tokio_listener::ListenerAddress;

/// The daemon's command line, as pinned by interface.md.
#[derive(Debug, Parser)]
#[command(
    name = "flaskpaste",
    about = "Security-hardened pastebin REST API daemon",
    disable_version_flag = true
)]
pub struct Cli {
    /// TOML configuration file (default: the compiled-in path, read only if it exists)
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Address to listen on; repeatable; replaces `listen` from the configuration
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    pub listen: Vec<ListenerAddress>,

    /// Validate all configuration layers, print the effective configuration, exit
    #[arg(long)]
    pub check_config: bool,

    /// Print version, enabled features and compiled-in paths
    #[arg(long, short = 'V')]
    pub version: bool,
}

/// Parses `std::env::args`. On `--help` the usage is printed and `Err(0)` returned;
/// on a usage error the message is printed and `Err(64)` (EX_USAGE) returned.
///
/// # Errors
/// The exit code to return when the process should not continue.
pub fn parse() -> Result<Cli, ExitCode> {
    parse_from(std::env::args_os())
}

/// Like [`parse`], from an explicit argument list.
///
/// # Errors
/// The exit code to return when the process should not continue.
pub fn parse_from<I, T>(args: I) -> Result<Cli, ExitCode>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Cli::try_parse_from(args).map_err(|err| {
        // Printing can only fail on a closed stdout/stderr; the exit code still tells.
        let _ = err.print();
        match err.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
            _ => ExitCode::from(64),
        }
    })
}

/// Parses one listen address as interface.md lists them.
///
/// # Errors
/// A message naming what is wrong with the address.
pub fn parse_listen(s: &str) -> Result<ListenerAddress, String> {
    let addr: ListenerAddress = s
        .parse()
        .map_err(|e: &str| format!("invalid listen address {s:?}: {e}"))?;
    match addr {
        ListenerAddress::Vsock { .. } => Err(format!(
            "invalid listen address {s:?}: vsock is not supported"
        )),
        ListenerAddress::FromFdNamed(ref name) if name.is_empty() || name == "*" => Err(format!(
            "invalid listen address {s:?}: use `sd-listen` for all inherited sockets"
        )),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_listen_form_parses() {
        for s in [
            "127.0.0.1:5000",
            "[::]:5000",
            "/run/fp.sock",
            "@fp",
            "sd-listen",
            "sd-listen:web",
            "inetd",
        ] {
            assert!(parse_listen(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn hostnames_vsock_and_wildcards_are_rejected() {
        for s in [
            "localhost:5000",
            "vsock:1:2",
            "sd-listen:*",
            "relative.sock",
            "",
        ] {
            assert!(parse_listen(s).is_err(), "{s}");
        }
    }

    #[test]
    fn listen_is_repeatable() {
        let cli = parse_from([
            "flaskpaste",
            "--listen",
            "/a.sock",
            "--listen",
            "127.0.0.1:1",
        ])
        .unwrap();
        assert_eq!(cli.listen.len(), 2);
    }
}
