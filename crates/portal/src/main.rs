//! The HumanCapitalCare employer portal: a relying party that trusts only HCC Identity's signed
//! tokens. Its pages (the green login button, the dashboard) and its OIDC client arrive with the
//! portal issue; until then this binary only says so.

fn main() -> std::process::ExitCode {
    eprintln!(
        "portal: the employer portal is not built yet; log in through the IdP (cargo xtask demo)."
    );
    std::process::ExitCode::FAILURE
}
