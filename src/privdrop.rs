//! Drops root privileges after binding: user/group lookup, initgroups → setgid → setuid, then
//! reads the ids back. The only caller of `nix::unistd`.

use std::ffi::CString;
use std::path::PathBuf;

use nix::unistd::{Gid, Group, Uid, User};

/// Why the target identity could not be found or taken.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configured user or group does not exist (a configuration error).
    #[error("{kind} {name:?} does not exist")]
    Unknown { kind: &'static str, name: String },
    /// Looking the name up failed.
    #[error("cannot look up {kind} {name:?}: {source}")]
    Lookup {
        kind: &'static str,
        name: String,
        source: nix::Error,
    },
    /// A privilege-changing call failed or its effect could not be verified.
    #[error("cannot drop privileges: {0}")]
    Drop(String),
}

impl Error {
    /// True for problems of configuration (unknown names) rather than of the drop itself.
    #[must_use]
    pub fn is_config(&self) -> bool {
        matches!(self, Error::Unknown { .. } | Error::Lookup { .. })
    }
}

/// The identity to switch to.
#[derive(Debug, Clone)]
pub struct Target {
    uid: Option<Uid>,
    gid: Gid,
    /// User name for initgroups (supplementary groups), when a user is set.
    name: Option<CString>,
}

impl Target {
    /// The user and group ids, for logging.
    #[must_use]
    pub fn describe(&self) -> String {
        match self.uid {
            Some(uid) => format!("uid {uid}, gid {}", self.gid),
            None => format!("gid {}", self.gid),
        }
    }
}

/// Resolves `user` and `group` (names or numeric ids). `None` when neither is set.
///
/// # Errors
/// An unknown name or a failing lookup.
pub fn resolve(user: Option<&str>, group: Option<&str>) -> Result<Option<Target>, Error> {
    let user = user.map(find_user).transpose()?;
    let group = group.map(find_group).transpose()?;
    Ok(match (user, group) {
        (None, None) => None,
        (Some(u), g) => Some(Target {
            uid: Some(u.uid),
            gid: g.map_or(u.gid, |g| g.gid),
            name: CString::new(u.name).ok(),
        }),
        (None, Some(g)) => Some(Target {
            uid: None,
            gid: g.gid,
            name: None,
        }),
    })
}

fn find_user(name: &str) -> Result<User, Error> {
    let found = match name.parse::<u32>() {
        Ok(id) => User::from_uid(Uid::from_raw(id)),
        Err(_) => User::from_name(name),
    };
    found
        .map_err(|source| Error::Lookup {
            kind: "user",
            name: name.into(),
            source,
        })?
        .ok_or_else(|| Error::Unknown {
            kind: "user",
            name: name.into(),
        })
}

fn find_group(name: &str) -> Result<Group, Error> {
    let found = match name.parse::<u32>() {
        Ok(id) => Group::from_gid(Gid::from_raw(id)),
        Err(_) => Group::from_name(name),
    };
    found
        .map_err(|source| Error::Lookup {
            kind: "group",
            name: name.into(),
            source,
        })?
        .ok_or_else(|| Error::Unknown {
            kind: "group",
            name: name.into(),
        })
}

/// Gives files to the target identity: Unix sockets we created (so that its group, for
/// example a reverse proxy's, keeps access under `socket_mode`) and the database files (so
/// that a later start as that user can open them). Never through a symbolic link: a link
/// planted by the service user would otherwise hand it any file root can reach.
///
/// # Errors
/// A file whose owner cannot be changed, or one that is not what it should be.
pub fn hand_over(sockets: &[PathBuf], files: &[PathBuf], target: &Target) -> Result<(), Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let uid = target.uid.map(Uid::as_raw);
    let gid = Some(target.gid.as_raw());
    let fail =
        |path: &PathBuf, e: std::io::Error| Error::Drop(format!("chown {}: {e}", path.display()));
    for path in sockets {
        // lchown is fchownat(..., AT_SYMLINK_NOFOLLOW): a link itself, never its target.
        std::os::unix::fs::lchown(path, uid, gid).map_err(|e| fail(path, e))?;
    }
    for path in files {
        // O_NOFOLLOW: a link at the path fails to open; O_NONBLOCK: a FIFO cannot hang us.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| fail(path, e))?;
        let regular = file.metadata().map_err(|e| fail(path, e))?.is_file();
        if !regular {
            return Err(Error::Drop(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        std::os::unix::fs::fchown(&file, uid, gid).map_err(|e| fail(path, e))?;
    }
    Ok(())
}

/// Switches the whole process to `target` and verifies the result.
///
/// # Errors
/// Any failing call, or ids that read back differently; then the process must not go on.
pub fn drop_to(target: &Target) -> Result<(), Error> {
    let fail = |what: &str, e: nix::Error| Error::Drop(format!("{what}: {e}"));
    match &target.name {
        Some(name) => {
            nix::unistd::initgroups(name, target.gid).map_err(|e| fail("initgroups", e))?
        }
        None => nix::unistd::setgroups(&[target.gid]).map_err(|e| fail("setgroups", e))?,
    }
    nix::unistd::setgid(target.gid).map_err(|e| fail("setgid", e))?;
    if let Some(uid) = target.uid {
        nix::unistd::setuid(uid).map_err(|e| fail("setuid", e))?;
    }
    verify(target)
}

fn verify(target: &Target) -> Result<(), Error> {
    use nix::unistd::{getegid, geteuid, getgid, getgroups, getuid};
    if getgid() != target.gid || getegid() != target.gid {
        return Err(Error::Drop("group id did not change".into()));
    }
    if let Some(uid) = target.uid {
        if getuid() != uid || geteuid() != uid {
            return Err(Error::Drop("user id did not change".into()));
        }
        // A saved set-user-id of root would let the process take root back.
        if !uid.is_root() && nix::unistd::setuid(Uid::from_raw(0)).is_ok() {
            return Err(Error::Drop("root could be regained".into()));
        }
    }
    // Without a user, the supplementary groups must be exactly the target group.
    if target.name.is_none() && getgroups().map_or(true, |g| g != [target.gid]) {
        return Err(Error::Drop("supplementary groups were not replaced".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_resolve() {
        let t = resolve(Some("root"), None).unwrap().unwrap();
        assert_eq!(t.uid, Some(Uid::from_raw(0)));
        let t = resolve(None, Some("0")).unwrap().unwrap();
        assert_eq!(t.gid, Gid::from_raw(0));
        assert!(resolve(None, None).unwrap().is_none());
    }

    #[test]
    fn unknown_names_are_config_errors() {
        let err = resolve(Some("no-such-user-fp"), None).unwrap_err();
        assert!(err.is_config());
        assert!(err.to_string().contains("no-such-user-fp"));
    }
}
