//! What ships beside the binary: the example configuration, the systemd units and the man
//! pages stay valid and in step with the code.

mod common;

use std::path::Path;
use std::process::Command;

use common::{BIN, Builder, have};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Every key the daemon knows: the defaults of --check-config plus the optional ones.
fn all_keys() -> Vec<String> {
    let out = Builder::new().listen(&[]).arg("--check-config").run();
    let table: toml::Table = out.stdout.parse().expect("--check-config prints TOML");
    let mut keys: Vec<String> = table.keys().cloned().collect();
    keys.extend(["user", "group", "proxy_secret"].map(String::from));
    keys
}

/// `flaskpaste --check-config` of the example config, with an empty environment.
fn check_example() -> std::process::Output {
    let example = Path::new(REPO).join("flaskpaste.toml.example");
    Command::new(BIN)
        .arg("--config")
        .arg(&example)
        .arg("--check-config")
        .env_clear()
        .output()
        .expect("the daemon binary runs")
}

#[test]
fn example_config_is_valid() {
    let out = check_example();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn example_config_trusts_the_proxy_on_its_unix_socket() {
    let out = check_example();
    let effective = String::from_utf8_lossy(&out.stdout);
    assert!(
        effective
            .lines()
            .any(|l| l.starts_with("trusted_proxies") && l.contains("\"unix\"")),
        "behind the shipped nginx every client would share one rate-limit window:\n{effective}"
    );
}

#[test]
fn example_config_and_man_page_describe_every_key() {
    let example = std::fs::read_to_string(Path::new(REPO).join("flaskpaste.toml.example")).unwrap();
    let man = std::fs::read_to_string(Path::new(REPO).join("man/flaskpaste.toml.5")).unwrap();
    for key in all_keys() {
        let in_example = example
            .lines()
            .any(|l| l.trim_start_matches('#').starts_with(&format!("{key} =")));
        assert!(in_example, "flaskpaste.toml.example lacks {key}");
        // A key is introduced as `.BR key "..."`, or second in `.BR user ", " group "..."`.
        let in_man = man.contains(&format!(".BR {key} ")) || man.contains(&format!("\" {key} \""));
        assert!(in_man, "flaskpaste.toml(5) lacks {key}");
    }
}

#[test]
fn systemd_units_verify() {
    if !have("systemd-analyze") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let units = Path::new(REPO).join("systemd");
    for socket in ["flaskpaste.socket", "flaskpaste-metrics.socket"] {
        std::fs::copy(units.join(socket), dir.path().join(socket)).unwrap();
    }
    // The packaged path does not exist here; verify checks that ExecStart is executable.
    let service = std::fs::read_to_string(units.join("flaskpaste.service"))
        .unwrap()
        .replace("/usr/bin/flaskpaste", BIN);
    std::fs::write(dir.path().join("flaskpaste.service"), service).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(dir.path().join("flaskpaste.socket"))
        .arg(dir.path().join("flaskpaste-metrics.socket"))
        .arg(dir.path().join("flaskpaste.service"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.trim().is_empty(), "{text}");
}

#[test]
fn service_unit_runs_the_daemon_socket_activated_and_notifying() {
    let service =
        std::fs::read_to_string(Path::new(REPO).join("systemd/flaskpaste.service")).unwrap();
    assert!(service.contains("\nType=notify\n"));
    // systemd 252 (Debian 12) has no notify-reload: reload is a SIGHUP.
    assert!(service.contains("\nExecReload=/bin/kill -HUP $MAINPID\n"));
    // Its own sockets only: a metrics socket unit of the same service would be another name.
    assert!(service.contains("--listen sd-listen:api\n"));
    let socket =
        std::fs::read_to_string(Path::new(REPO).join("systemd/flaskpaste.socket")).unwrap();
    assert!(socket.contains("\nFileDescriptorName=api\n"), "{socket}");
    assert!(service.contains("--config /etc/flaskpaste/flaskpaste.toml"));
    assert!(service.contains("RestartPreventExitStatus=64 73 77 78"));
}

#[test]
fn metrics_socket_is_the_services_named_loopback_socket() {
    let socket =
        std::fs::read_to_string(Path::new(REPO).join("systemd/flaskpaste-metrics.socket")).unwrap();
    let values = |key: &str| -> Vec<String> {
        socket
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(values("FileDescriptorName"), ["metrics"]);
    assert_eq!(values("Service"), ["flaskpaste.service"]);
    let listen = values("ListenStream");
    assert_eq!(listen.len(), 1, "{socket}");
    let addr: std::net::SocketAddr = listen[0].parse().unwrap();
    assert!(addr.ip().is_loopback(), "{addr}");
    // The configuration it goes with, as the socket's comment and the example config say.
    let example = std::fs::read_to_string(Path::new(REPO).join("flaskpaste.toml.example")).unwrap();
    assert!(socket.contains("metrics_listen = [\"sd-listen:metrics\"]"));
    assert!(example.contains("#metrics_listen = [\"sd-listen:metrics\"]"));
}

#[test]
fn service_unit_loads_each_secret_as_the_credential_the_daemon_reads() {
    let service =
        std::fs::read_to_string(Path::new(REPO).join("systemd/flaskpaste.service")).unwrap();
    let mut ids: Vec<(&str, &str)> = service
        .lines()
        .filter_map(|l| l.strip_prefix("LoadCredential="))
        .map(|v| v.split_once(':').expect("LoadCredential=ID:NAME"))
        .collect();
    ids.sort_unstable();
    // Names, not paths: systemd then looks in /etc/credstore/ and friends and skips a
    // missing one instead of failing the start.
    assert_eq!(
        ids,
        [
            ("pki_ca_password", "flaskpaste.pki_ca_password"),
            ("pow_secret", "flaskpaste.pow_secret"),
            ("proxy_secret", "flaskpaste.proxy_secret"),
        ]
    );
}

#[test]
fn service_unit_is_rated_safe_by_systemd_analyze_security() {
    if !have("systemd-analyze") {
        return;
    }
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(Path::new(REPO).join("systemd/flaskpaste.service"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let score: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for flaskpaste.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no overall exposure level in:\n{text}"))
        .parse()
        .unwrap();
    assert!(score <= 0.5, "exposure {score}:\n{text}");
}

#[test]
fn service_unit_leaves_file_descriptors_above_max_connections() {
    let service =
        std::fs::read_to_string(Path::new(REPO).join("systemd/flaskpaste.service")).unwrap();
    let nofile: u64 = service
        .lines()
        .find_map(|l| l.strip_prefix("LimitNOFILE="))
        .expect("LimitNOFILE= is set")
        .parse()
        .unwrap();
    // The default max_connections, plus the database, sockets and room for a raised limit.
    assert!(nofile >= 8 * 1024, "LimitNOFILE={nofile}");
}

#[test]
fn man_pages_have_no_formatting_warnings() {
    if !have("groff") {
        return;
    }
    for page in ["man/flaskpaste.8", "man/flaskpaste.toml.5", "man/fpaste.1"] {
        let out = Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(Path::new(REPO).join(page))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && text.trim().is_empty(),
            "{page}: {text}"
        );
    }
}

#[test]
fn containerfile_builds_like_the_packages_and_runs_unprivileged_on_a_volume() {
    let file = std::fs::read_to_string(Path::new(REPO).join("Containerfile")).unwrap();
    let instructions: Vec<&str> = file
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty() && !l.starts_with(' '))
        .collect();
    let stages: Vec<&&str> = instructions
        .iter()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(
        stages.len(),
        2,
        "a build stage and a runtime stage: {stages:?}"
    );
    assert!(stages[0].ends_with(" AS build"), "{}", stages[0]);
    assert!(instructions.contains(&"RUN packaging/build-release.sh"));
    // The packages build the same way.
    let packages =
        std::fs::read_to_string(Path::new(REPO).join("packaging/build-packages.sh")).unwrap();
    assert!(
        packages.contains("\npackaging/build-release.sh\n"),
        "{packages}"
    );
    let release =
        std::fs::read_to_string(Path::new(REPO).join("packaging/build-release.sh")).unwrap();
    let db = release
        .lines()
        .find_map(|l| l.strip_prefix("export FLASKPASTE_DEFAULT_DB="))
        .unwrap();
    let db_dir = Path::new(db).parent().unwrap().to_str().unwrap();
    let value = |key: &str| -> String {
        instructions
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{key} ")))
            .unwrap_or_else(|| panic!("no {key} in the Containerfile"))
            .to_owned()
    };
    // Not root, the database directory is the volume, and the daemon listens on the
    // exposed port on every address.
    let user = value("USER");
    assert!(user != "root" && user != "0", "{user}");
    assert!(file.contains("useradd --system") && file.contains(&user));
    assert_eq!(value("VOLUME"), db_dir);
    assert!(file.contains(&format!("install -d -o {user} -g {user} -m 0750 {db_dir}")));
    let port = value("EXPOSE");
    assert!(
        file.contains(&format!("FLASKPASTE_LISTEN=0.0.0.0:{port}")),
        "{file}"
    );
    assert_eq!(value("ENTRYPOINT"), "[\"/usr/bin/flaskpaste\"]");
    let user_at = instructions
        .iter()
        .position(|l| l.starts_with("USER "))
        .unwrap();
    let entry_at = instructions
        .iter()
        .position(|l| l.starts_with("ENTRYPOINT "))
        .unwrap();
    assert!(user_at < entry_at);
}
