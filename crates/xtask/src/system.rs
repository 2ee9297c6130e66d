//! System packages the build and the browser suite need.

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

/// Debian's Chromium and its chromedriver, for the browser suite (`tests/it/e2e`), with the
/// fonts its pages and screenshots are drawn in.
pub fn ensure_chromium() -> Result<()> {
    let (browser, driver) = (chromium_path(), chromedriver_path());
    if browser.exists() && driver.exists() {
        println!("chromium: {}", browser.display());
        println!("chromedriver: {}", driver.display());
        return Ok(());
    }
    println!("chromium or chromedriver not found: the browser suite needs both");
    apt_install(
        &[
            "chromium",
            "chromium-driver",
            "fonts-liberation",
            "fonts-dejavu-core",
        ],
        "Chromium and chromedriver, which the browser suite drives,",
    )?;
    if !(chromium_path().exists() && chromedriver_path().exists()) {
        bail!(
            "chromium and chromium-driver were installed but {} or {} is missing; set \
             CHROMIUM and CHROMEDRIVER to their paths",
            chromium_path().display(),
            chromedriver_path().display()
        );
    }
    Ok(())
}

/// `CHROMIUM`, else Debian's `/usr/bin/chromium` (the suite reads the same variables).
fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

fn chromedriver_path() -> PathBuf {
    std::env::var_os("CHROMEDRIVER")
        .map_or_else(|| PathBuf::from("/usr/bin/chromedriver"), PathBuf::from)
}
