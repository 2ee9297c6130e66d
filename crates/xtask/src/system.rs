//! System packages the build needs.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::util::{apt_install, find_executable};

/// Makes sure the system libpq (linked by the `pq-sys` crate) is installed.
pub fn ensure_libpq() -> Result<()> {
    if let Some(found) = find_libpq() {
        println!("libpq found: {found}");
        return Ok(());
    }
    println!(
        "libpq (linked by pq-sys) not found: no pg_config on PATH, no libpq.so under /usr/lib"
    );
    apt_install(
        &["libpq-dev"],
        "libpq, the PostgreSQL client library that pq-sys links,",
    )?;
    match find_libpq() {
        Some(found) => {
            println!("libpq installed: {found}");
            Ok(())
        }
        None => bail!(
            "libpq-dev was installed but neither pg_config nor libpq.so can be found; \
             set PQ_LIB_DIR to the directory that holds libpq.so"
        ),
    }
}

fn find_libpq() -> Option<String> {
    if let Some(pg_config) = find_executable("pg_config") {
        return Some(format!("pg_config at {}", pg_config.display()));
    }
    if let Some(dir) = std::env::var_os("PQ_LIB_DIR") {
        return Some(format!("PQ_LIB_DIR={}", PathBuf::from(dir).display()));
    }
    libpq_under(Path::new("/usr/lib")).map(|p| p.display().to_string())
}

/// `<dir>/libpq.so` or `<dir>/<arch>/libpq.so`.
fn libpq_under(dir: &Path) -> Option<PathBuf> {
    let direct = dir.join("libpq.so");
    if direct.exists() {
        return Some(direct);
    }
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path().join("libpq.so"))
        .find(|candidate| candidate.exists())
}
