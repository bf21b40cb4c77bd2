//! The files are the daemon's own: started as root with `user =`, it follows no symbolic
//! link planted at the database, WAL or SHM path, so it cannot be made to create, write or
//! hand over a file it was pointed at.

mod common;

use std::os::unix::fs::MetadataExt;

use common::{Builder, is_root};

const AS_NOBODY: &str = "user = \"nobody\"\ngroup = \"nogroup\"";

#[test]
fn symlinks_at_the_database_wal_and_shm_paths_are_refused_not_followed() {
    if !is_root() {
        eprintln!("skipped: needs root to start the daemon with `user =`");
        return;
    }
    for suffix in ["", "-wal", "-shm"] {
        // A link to a file that does not exist yet: it must not be created.
        let b = Builder::new().toml(AS_NOBODY);
        let link = b.path(&format!("pastes.db{suffix}"));
        let missing = b.path("planted-missing");
        std::os::unix::fs::symlink(&missing, &link).unwrap();
        let mut d = b.start();
        let status = d.wait_exit();
        let log = d.log();
        assert_eq!(status.code(), Some(73), "pastes.db{suffix}:\n{log}");
        assert!(log.contains(&link.display().to_string()), "{log}");
        assert!(log.contains("symbolic link"), "{log}");
        assert!(
            !missing.exists(),
            "pastes.db{suffix}: the link's target was created"
        );

        // A link to root's file: it must be neither written nor handed over.
        let b = Builder::new().toml(AS_NOBODY);
        let link = b.path(&format!("pastes.db{suffix}"));
        let precious = b.path("planted-precious");
        std::fs::write(&precious, b"root's own\n").unwrap();
        std::os::unix::fs::symlink(&precious, &link).unwrap();
        let mut d = b.start();
        assert_eq!(d.wait_exit().code(), Some(73), "{}", d.log());
        let meta = std::fs::metadata(&precious).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid()),
            (0, 0),
            "pastes.db{suffix}: handed over"
        );
        assert_eq!(std::fs::read(&precious).unwrap(), b"root's own\n");
    }
}

#[test]
fn a_clean_start_as_root_still_hands_its_own_files_over() {
    if !is_root() {
        eprintln!("skipped: needs root to start the daemon with `user =`");
        return;
    }
    let mut d = Builder::new().toml(AS_NOBODY).spawn();
    for name in ["pastes.db", "fp.sock"] {
        let meta = std::fs::symlink_metadata(d.path(name)).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534), "{name}");
    }
    let sock = std::fs::symlink_metadata(d.path("fp.sock")).unwrap();
    assert_eq!(sock.mode() & 0o777, 0o660);
    assert_eq!(d.stop().code(), Some(0));
}
