//! fpaste's command line: commands, options and their help. No I/O.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::cert::{Algorithm, Curve};

/// Command-line client of the flaskpaste pastebin. Content is encrypted locally
/// (AES-256-GCM) by default; the key travels only in the URL's #fragment.
#[derive(Debug, Parser)]
#[command(
    name = "fpaste",
    version,
    after_help = "\
Without a command, fpaste creates a paste: `fpaste FILE` and `cmd | fpaste` are \
`fpaste create`.\nSee fpaste(1) for the config file, the environment and the ciphertext format."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the server is and who we are (flags win over FLASKPASTE_* variables, which win
/// over the config file).
#[derive(Debug, Args)]
pub struct Global {
    /// Server base URL [env: FLASKPASTE_SERVER] (default http://localhost:5000)
    #[arg(long, global = true, value_name = "URL")]
    pub server: Option<String>,
    /// Client certificate fingerprint sent as X-SSL-Client-SHA1 [env: FLASKPASTE_CERT_SHA1]
    #[arg(long, global = true, value_name = "SHA1")]
    pub cert_sha1: Option<String>,
    /// Client certificate (PEM) for mTLS [env: FLASKPASTE_CLIENT_CERT]
    #[arg(long, global = true, value_name = "FILE")]
    pub client_cert: Option<PathBuf>,
    /// Client certificate's private key (PEM) [env: FLASKPASTE_CLIENT_KEY]
    #[arg(long, global = true, value_name = "FILE")]
    pub client_key: Option<PathBuf>,
    /// CA certificate (PEM) that verifies the server instead of the system roots
    /// [env: FLASKPASTE_CA_CERT]
    #[arg(long, global = true, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Config file (default ~/.config/fpaste/config)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a paste from FILE or stdin (the default command); prints its URL
    Create(CreateArgs),
    /// Print a paste's content (decrypted when the URL has its #key), or its metadata
    Get(GetArgs),
    /// Delete a paste (your certificate, or the owner token fpaste kept)
    Delete(DeleteArgs),
    /// Replace a paste's content or change its password, name or expiry
    Update(UpdateArgs),
    /// List your pastes (needs a client certificate)
    List(ListArgs),
    /// Show what the server offers
    Info(JsonFlag),
    /// Make a short URL that redirects to URL
    Shorten(ShortenArgs),
    /// Get a client certificate from the server's PKI (after a proof-of-work)
    Register(RegisterArgs),
    /// Make a self-signed client certificate for mTLS; prints its SHA-1 fingerprint
    Cert(CertArgs),
    /// Print shell completions
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
}

/// A password, from the flag, a prompt, or `FPASTE_PASSWORD`.
#[derive(Debug, Args, Default)]
pub struct PasswordArgs {
    /// Password (or -P to be asked, or FPASTE_PASSWORD)
    #[arg(short = 'p', long, value_name = "PASSWORD")]
    pub password: Option<String>,
    /// Ask for the password without echo
    #[arg(short = 'P', long, conflicts_with = "password")]
    pub ask_password: bool,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// File to paste (default: stdin)
    pub file: Option<PathBuf>,
    /// Upload the content as it is, unencrypted
    #[arg(short = 'E', long)]
    pub no_encrypt: bool,
    /// Burn after read: the first read deletes the paste
    #[arg(short = 'b', long)]
    pub burn: bool,
    /// With -b: only a deliberate read (fpaste get, or POST /ID/raw) burns it, never a
    /// link preview's GET
    #[arg(long, requires = "burn")]
    pub confirm: bool,
    /// Expire after SECONDS
    #[arg(short = 'x', long, value_name = "SECONDS")]
    pub expiry: Option<u64>,
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Display name shown in the paste's metadata
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    pub display_name: Option<String>,
    /// Do not keep the owner token of an anonymous paste
    #[arg(long)]
    pub no_history: bool,
    /// Print id, URL, raw URL, owner token and expiry as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Paste URL (with #key to decrypt), bare id, or - to read the URL from stdin
    pub target: String,
    /// Write the content to FILE instead of stdout
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print the metadata instead of the content
    #[arg(short = 'm', long)]
    pub meta: bool,
    #[command(flatten)]
    pub password: PasswordArgs,
    /// With -m: print the metadata as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Paste URL or id
    pub target: String,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Paste URL or id
    pub target: String,
    /// New content from FILE (- for stdin); without it the content stays
    pub file: Option<PathBuf>,
    /// Upload the new content unencrypted
    #[arg(short = 'E', long)]
    pub no_encrypt: bool,
    /// Set a new password
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Remove the password
    #[arg(long)]
    pub remove_password: bool,
    /// Add SECONDS to the expiry
    #[arg(short = 'x', long = "extend", value_name = "SECONDS")]
    pub extend: Option<u64>,
    /// Set the display name
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    pub display_name: Option<String>,
    /// Remove the display name
    #[arg(long)]
    pub remove_name: bool,
    /// Print the updated metadata as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// At most N pastes
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    /// Skip the first N
    #[arg(long, value_name = "N")]
    pub offset: Option<u32>,
    /// Everyone's pastes (admin only)
    #[arg(long)]
    pub all: bool,
    /// Print the server's JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print the server's JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShortenArgs {
    /// The http(s) URL to shorten
    pub url: String,
    /// Print the server's JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Common name of the certificate (default: chosen by the server)
    #[arg(short = 'n', long, value_name = "NAME")]
    pub name: Option<String>,
    /// Replace an existing client.crt / client.key
    #[arg(short = 'f', long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CertArgs {
    /// Key algorithm
    #[arg(short = 'a', long, value_enum, default_value = "ec")]
    pub algorithm: Algorithm,
    /// RSA key size in bits (2048, 3072, 4096)
    #[arg(short = 'b', long, value_name = "BITS", default_value_t = 4096)]
    pub bits: u32,
    /// EC curve
    #[arg(short = 'c', long, value_enum, default_value = "secp384r1")]
    pub curve: Curve,
    /// Validity in days
    #[arg(short = 'd', long, value_name = "DAYS", default_value_t = 365)]
    pub days: u32,
    /// Common name
    #[arg(
        short = 'n',
        long,
        value_name = "NAME",
        default_value = "fpaste-client"
    )]
    pub name: String,
    /// Write client.crt / client.key to the config dir and set them in the config
    #[arg(long)]
    pub configure: bool,
    /// Without --configure: directory for client.crt / client.key (default: the current one)
    #[arg(short = 'o', long, value_name = "DIR", conflicts_with = "configure")]
    pub out: Option<PathBuf>,
    /// Replace an existing client.crt / client.key
    #[arg(short = 'f', long)]
    pub force: bool,
}

/// Global options that take a value (so the default-command rule can step over them).
const VALUED: [&str; 6] = [
    "--server",
    "--cert-sha1",
    "--client-cert",
    "--client-key",
    "--ca-cert",
    "--config",
];

/// `fpaste [global options] [create options] [FILE]` means `fpaste ... create ...`: puts
/// `create` where the command would be unless one (or help/version) is there.
#[must_use]
pub fn with_default_command(mut args: Vec<OsString>) -> Vec<OsString> {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let mut i = 1;
    while let Some(arg) = args.get(i).and_then(|a| a.to_str()) {
        if VALUED.contains(&arg) {
            i += 2;
        } else if VALUED.iter().any(|v| arg.starts_with(&format!("{v}="))) {
            i += 1;
        } else {
            break;
        }
    }
    let known = args.get(i).and_then(|a| a.to_str()).is_some_and(|a| {
        matches!(a, "-h" | "--help" | "-V" | "--version" | "help")
            || cmd.get_subcommands().any(|s| s.get_name() == a)
    });
    if !known {
        args.insert(i.min(args.len()), OsString::from("create"));
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Cli {
        let args = line.split_whitespace().map(OsString::from).collect();
        Cli::try_parse_from(with_default_command(args)).unwrap()
    }

    #[test]
    fn create_is_the_default_command() {
        assert!(matches!(parse("fpaste").command, Command::Create(_)));
        let Command::Create(c) = parse("fpaste -b -x 60 file.txt").command else {
            panic!("not create")
        };
        assert!(c.burn);
        assert_eq!(c.expiry, Some(60));
        assert_eq!(c.file, Some(PathBuf::from("file.txt")));
        let cli = parse("fpaste --server http://h:1 -E f");
        assert_eq!(cli.global.server.as_deref(), Some("http://h:1"));
        assert!(matches!(cli.command, Command::Create(ref c) if c.no_encrypt));
        assert!(matches!(
            parse("fpaste --server=x get abc").command,
            Command::Get(_)
        ));
    }

    #[test]
    fn every_command_has_help() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        for sub in Cli::command().get_subcommands() {
            assert!(sub.get_about().is_some(), "{} has no help", sub.get_name());
        }
    }
}
