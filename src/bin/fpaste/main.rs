//! `fpaste`: the command-line client of flaskpaste. Encrypts locally by default, solves
//! proof-of-work, speaks mTLS. Uses the library's proof-of-work and id code, never the
//! daemon's server or store.

mod account;
mod cert;
mod cli;
mod crypto;
mod history;
mod http;
mod output;
mod paste;
mod secret;
mod settings;
mod target;
mod work;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command};
use settings::Flags;

fn main() -> ExitCode {
    let args = cli::with_default_command(std::env::args_os().collect());
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        // Help and version exit 0; usage errors 2, as clap does.
        Err(e) => e.exit(),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fpaste: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line.
fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
        .replace('\n', " ")
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let g = cli.global;
    let flags = Flags {
        server: g.server,
        cert_sha1: g.cert_sha1,
        client_cert: g.client_cert,
        client_key: g.client_key,
        ca_cert: g.ca_cert,
        config: g.config,
    };
    // Commands that need no server do not read its settings.
    match &cli.command {
        Command::Cert(args) => return account::cert(&flags, args),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "fpaste", &mut out);
            return output::bytes(&out);
        }
        _ => {}
    }
    let settings = settings::load(&flags)?;
    match &cli.command {
        Command::Create(args) => paste::create(&settings, args),
        Command::Get(args) => paste::get(&settings, args),
        Command::Delete(args) => paste::delete(&settings, args),
        Command::Update(args) => paste::update(&settings, args),
        Command::List(args) => account::list(&settings, args),
        Command::Info(args) => account::info(&settings, args),
        Command::Shorten(args) => account::shorten(&settings, args),
        Command::Register(args) => account::register(&settings, &flags, args),
        Command::Cert(_) | Command::Completions { .. } => Ok(()),
    }
}
