//! Records the toolchain that builds weft-bench, so a result file names the compiler that
//! produced the code it measured (not whatever `rustc` is on the PATH at run time).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The peer crates a result file names the versions of (as resolved in the workspace's
/// Cargo.lock), and weft's own package.
const PEERS: &[&str] = &[
    "weft-go",
    "crossbeam-channel",
    "crossbeam-deque",
    "crossbeam-utils",
    "flume",
    "kanal",
    "parking_lot",
    "st3",
    "rayon",
    "tokio",
    "futures",
];

/// The version requirement of dependency `name` in this crate's manifest: `name = "req"` or
/// `name = { version = "req", ... }` (`None` for a path dependency without a version).
fn requirement(manifest: &str, name: &str) -> Option<String> {
    manifest.lines().find_map(|line| {
        let rest = line
            .trim()
            .strip_prefix(name)?
            .trim_start()
            .strip_prefix('=')?;
        let rest = rest.trim();
        let rest = match rest.strip_prefix('{') {
            Some(table) => table.split("version").nth(1)?.split('=').nth(1)?.trim(),
            None => rest,
        };
        Some(rest.trim_start_matches('"').split('"').next()?.to_owned())
    })
}

/// Whether lock `version` satisfies caret requirement `req` ("0.13" -> 0.13.*, "1" -> 1.*,
/// "=0.20.0" exactly).
fn satisfies(version: &str, req: &str) -> bool {
    if let Some(exact) = req.strip_prefix('=') {
        return version == exact;
    }
    let parts: Vec<&str> = req.split('.').collect();
    let significant = if parts[0] == "0" {
        2.min(parts.len())
    } else {
        1
    };
    let prefix = parts[..significant].join(".");
    version == prefix || version.starts_with(&format!("{prefix}."))
}

/// `name=version` for each peer in Cargo.lock, `;`-separated: the highest locked version
/// that meets this crate's requirement (a lock may hold several versions of one crate).
fn peer_versions(lock: &str, manifest: &str) -> String {
    let mut packages = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            packages.push((n, v.trim_matches('"').to_owned()));
        }
    }
    let mut out = Vec::new();
    for peer in PEERS {
        let req = requirement(manifest, peer);
        let best = packages
            .iter()
            .filter(|(n, v)| n == peer && req.as_deref().map_or(true, |r| satisfies(v, r)))
            .map(|(_, v)| v)
            .max_by_key(|v| {
                v.split('.')
                    .map(|p| p.parse::<u64>().unwrap_or(0))
                    .collect::<Vec<_>>()
            });
        if let Some(v) = best {
            out.push(format!("{peer}={v}"));
        }
    }
    out.join(";")
}

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

    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let lock_path = manifest_dir.join("../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    println!("cargo:rerun-if-changed=Cargo.toml");
    let read = |p: &Path| fs::read_to_string(p).unwrap_or_default();
    let versions = peer_versions(&read(&lock_path), &read(&manifest_dir.join("Cargo.toml")));
    println!("cargo:rustc-env=WEFT_BENCH_PEERS={versions}");

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
