//! `cargo xtask screenshots`: the manual's screens as PNGs, in Dutch and English.
