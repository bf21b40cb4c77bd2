//! Passwords without the command line: the prompt (no echo, on the terminal) and
//! `FPASTE_PASSWORD`.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};

use anyhow::{Context, Result, bail};
use nix::sys::termios::{self, LocalFlags, SetArg};

use crate::cli::PasswordArgs;

/// The password: `-p`, else a prompt for `-P`, else `FPASTE_PASSWORD`, else none.
///
/// # Errors
/// No terminal to prompt on.
pub fn password(args: &PasswordArgs) -> Result<Option<String>> {
    if let Some(p) = &args.password {
        return Ok(Some(p.clone()));
    }
    if args.ask_password {
        return prompt("Password: ").map(Some);
    }
    Ok(std::env::var("FPASTE_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty()))
}

/// Reads a line from the controlling terminal with echo off.
fn prompt(label: &str) -> Result<String> {
    let Ok(tty) = File::options().read(true).write(true).open("/dev/tty") else {
        bail!("-P needs a terminal; set FPASTE_PASSWORD instead");
    };
    let saved = termios::tcgetattr(&tty).context("the terminal refused its settings")?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    termios::tcsetattr(&tty, SetArg::TCSAFLUSH, &quiet).context("cannot turn echo off")?;
    let mut out = &tty;
    let read = out.write_all(label.as_bytes()).and_then(|()| {
        let mut line = String::new();
        BufReader::new(&tty).read_line(&mut line).map(|_| line)
    });
    // Echo comes back whatever happened to the read.
    termios::tcsetattr(&tty, SetArg::TCSAFLUSH, &saved).context("cannot turn echo on")?;
    let line = read.context("cannot read the password")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}
