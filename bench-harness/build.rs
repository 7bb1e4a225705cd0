//! Records the toolchain that builds weft-bench, so a result file names the compiler that
//! produced the code it measured (not whatever `rustc` is on the PATH at run time).

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC");
    println!("cargo:rerun-if-env-changed=RUSTFLAGS");
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");

    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=WEFT_BENCH_RUSTC={version}");

    let target = env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=WEFT_BENCH_TARGET={target}");

    // Flags such as `-C target-cpu=native` change what is measured; cargo passes them to
    // build scripts separated by 0x1f.
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let flags: Vec<&str> = flags.split('\x1f').filter(|f| !f.is_empty()).collect();
    println!("cargo:rustc-env=WEFT_BENCH_RUSTFLAGS={}", flags.join(" "));

    // The directory of this build's binaries (`target/release`, `target/debug`): OUT_DIR is
    // `<that>/build/weft-bench-<hash>/out`. The runner builds the Go twin there.
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let profile_dir = out_dir.ancestors().nth(3).unwrap_or(&out_dir);
    println!(
        "cargo:rustc-env=WEFT_BENCH_PROFILE_DIR={}",
        profile_dir.display()
    );
}
