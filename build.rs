//! Lets packagers choose compiled-in default paths through the build environment.

fn main() {
    for var in [
        "FLASKPASTE_DEFAULT_CONFIG",
        "FLASKPASTE_DEFAULT_DB",
        "FLASKPASTE_DEFAULT_CLIENT",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
}
