//! `fpaste`: the command-line client.

fn main() {}
