//! Command-line flags of the daemon and the `admin` subcommands. Parses only: no figment, no
//! I/O beyond printing usage.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};
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

    /// Instead of serving: administer the database offline (safe while the daemon runs)
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do instead of serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Administer the database the configuration names (safe while the daemon runs)
    Admin(AdminArgs),
}

/// `flaskpaste admin [--json] ACTION`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Print one JSON object instead of text (errors too); before or after the action
    #[arg(long, global = true)]
    pub json: bool,

    /// What to do
    #[command(subcommand)]
    pub action: Action,
}

/// The actions of `flaskpaste admin`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Action {
    /// Count live pastes, short URLs and certificates; sizes of the database files
    Stats,
    /// List live pastes, newest first (the filters of GET /pastes)
    List(ListArgs),
    /// Show one paste's metadata
    Show {
        /// Paste id
        id: String,
    },
    /// Delete one paste
    Delete {
        /// Paste id
        id: String,
    },
    /// Delete expired pastes and short URLs now
    Purge,
    /// Revoke a certificate the PKI issued
    Revoke {
        /// Certificate serial (hex)
        serial: String,
    },
    /// Write a consistent, verified copy of the database to a new file
    Backup {
        /// Where the copy goes; must not exist
        path: PathBuf,
    },
    /// Check the database's integrity
    Check {
        /// First recount the stored-bytes figures of the storage quota from the pastes
        #[arg(long)]
        recount: bool,
    },
}

/// Filters and page of `admin list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct ListArgs {
    /// Only pastes of this certificate fingerprint
    #[arg(long, value_name = "SHA1")]
    pub owner: Option<String>,
    /// Only MIME types matching this glob, e.g. image/*
    #[arg(long = "type", value_name = "GLOB")]
    pub mime_type: Option<String>,
    /// Only pastes created after this Unix time
    #[arg(long, value_name = "UNIX_TIME")]
    pub after: Option<i64>,
    /// Only pastes created before this Unix time
    #[arg(long, value_name = "UNIX_TIME")]
    pub before: Option<i64>,
    /// At most this many
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..))]
    pub limit: i64,
    /// Skip this many
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..))]
    pub offset: i64,
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
    let report = |err: clap::Error| {
        // Printing can only fail on a closed stdout/stderr; the exit code still tells.
        let _ = err.print();
        match err.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
            _ => ExitCode::from(64),
        }
    };
    let cli = Cli::try_parse_from(args).map_err(report)?;
    if cli.command.is_some() && (!cli.listen.is_empty() || cli.check_config || cli.version) {
        return Err(report(Cli::command().error(
            ErrorKind::ArgumentConflict,
            "--listen, --check-config and --version cannot be used with admin",
        )));
    }
    Ok(cli)
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

    fn admin(args: &[&str]) -> AdminArgs {
        let cli = parse_from(["flaskpaste", "--config", "/f.toml"].iter().chain(args)).unwrap();
        assert_eq!(cli.config, Some(PathBuf::from("/f.toml")));
        match cli.command {
            Some(Command::Admin(a)) => a,
            None => panic!("no admin subcommand in {args:?}"),
        }
    }

    #[test]
    fn admin_actions_parse_with_json_before_or_after() {
        let a = admin(&["admin", "stats"]);
        assert_eq!((a.action, a.json), (Action::Stats, false));
        let a = admin(&["admin", "--json", "show", "abcdef"]);
        assert_eq!(
            (a.action, a.json),
            (
                Action::Show {
                    id: "abcdef".into()
                },
                true
            )
        );
        let a = admin(&["admin", "delete", "abcdef", "--json"]);
        assert_eq!(
            (a.action, a.json),
            (
                Action::Delete {
                    id: "abcdef".into()
                },
                true
            )
        );
        let a = admin(&["admin", "backup", "/b.db"]);
        assert_eq!(
            a.action,
            Action::Backup {
                path: "/b.db".into()
            }
        );
        assert_eq!(
            admin(&["admin", "revoke", "0a"]).action,
            Action::Revoke {
                serial: "0a".into()
            }
        );
        for (words, action) in [
            (&["purge"][..], Action::Purge),
            (&["check"], Action::Check { recount: false }),
            (&["check", "--recount"], Action::Check { recount: true }),
        ] {
            let argv: Vec<&str> = ["admin"].iter().chain(words).copied().collect();
            assert_eq!(admin(&argv).action, action);
        }
        let a = admin(&[
            "admin", "list", "--type", "image/*", "--after", "5", "--limit", "3",
        ]);
        assert_eq!(
            a.action,
            Action::List(ListArgs {
                mime_type: Some("image/*".into()),
                after: Some(5),
                limit: 3,
                ..ListArgs::default()
            })
        );
        let plain = admin(&["admin", "list"]).action;
        assert!(matches!(plain, Action::List(l) if l.limit == 100 && l.offset == 0));
        assert!(parse_from(["flaskpaste"]).unwrap().command.is_none());
    }

    #[test]
    fn unknown_words_and_admin_with_serving_flags_are_usage_errors() {
        for args in [
            &["flaskpaste", "serve"][..],
            &["flaskpaste", "admin"],
            &["flaskpaste", "admin", "frobnicate"],
            &["flaskpaste", "admin", "show"],
            &["flaskpaste", "admin", "stats", "extra"],
            &["flaskpaste", "admin", "list", "--limit", "0"],
            &["flaskpaste", "--listen", "/a.sock", "admin", "stats"],
            &["flaskpaste", "--check-config", "admin", "check"],
        ] {
            assert_eq!(
                parse_from(args).unwrap_err(),
                ExitCode::from(64),
                "{args:?}"
            );
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
