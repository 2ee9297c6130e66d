//! Accessibility of every page of the tour (`screens::tour`): axe-core finds no serious or
//! critical violation; at 320 CSS px and at 200 % zoom nothing scrolls sideways; the same walk
//! works in a browser without JavaScript; the password's show/hide button works by keyboard.
//!
//! axe-core is vendored as a pinned file (vendor/README.md) and injected through WebDriver.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::chrome::{Chrome, Launch};
use super::screens::{Screenshots, Visitor, screenshot_folder, tour};
use super::stack::Stack;
use super::words::{self, Words};

const AXE_VERSION: &str = "4.14.1";
/// sha256 of vendor/axe-4.14.1.min.js, as the npm package ships it.
const AXE_SHA256: &str = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c";
const AXE: &str = include_str!("vendor/axe-4.14.1.min.js");

/// What a stop of the tour must pass (the failures of all stops are reported together), and
/// its screenshot.
struct Checks {
    failures: Vec<String>,
    pages: usize,
    shots: Screenshots,
    /// axe-core runs on its own timers, which a browser without scripts never fires: there,
    /// the page must work and fit (axe has checked the same markup with scripts on).
    axe: bool,
}

impl Checks {
    fn new(folder: PathBuf, lang: &'static str) -> Self {
        Self {
            failures: Vec::new(),
            pages: 0,
            axe: true,
            shots: Screenshots {
                folder,
                lang,
                written: Vec::new(),
            },
        }
    }
}

impl Visitor for Checks {
    async fn at(&mut self, browser: &Chrome, name: &str) {
        self.pages += 1;
        self.shots.at(browser, name).await;
        if self.axe {
            for violation in axe_violations(browser).await {
                self.failures.push(format!("{name}: axe {violation}"));
            }
        }
        for (width, scale, what) in [(320, 1, "320 px"), (640, 2, "200 % zoom")] {
            if let Some(overflow) = sideways_at(browser, width, scale).await {
                self.failures
                    .push(format!("{name}: scrolls sideways at {what}: {overflow}"));
            }
        }
    }

    /// A mail is photographed, not checked: it is not a page of the IdP or the portal, its
    /// layout is the mail programs'.
    async fn mail(&mut self, browser: &Chrome, name: &str, html: &str) {
        self.shots.mail(browser, name, html).await;
    }
}

/// axe-core's serious and critical violations on the page (WCAG 2.2 A/AA and best practices).
async fn axe_violations(browser: &Chrome) -> Vec<String> {
    browser
        .client
        .execute(&format!("{AXE}\n;return true;"), Vec::new())
        .await
        .expect("axe-core loads");
    let script = r#"
        const done = arguments[arguments.length - 1];
        axe.run(document, {
            runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
            resultTypes: ['violations'],
        }).then(
            (r) => done(r.violations
                .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                .map((v) => v.id + ' (' + v.impact + '): ' + v.help + ' at '
                    + v.nodes.map((n) => n.target.join(' ')).join(', '))),
            (e) => done(['axe failed: ' + e]));
    "#;
    let answer = browser
        .client
        .execute_async(script, Vec::new())
        .await
        .expect("axe-core runs");
    answer
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// With the viewport `width` CSS px wide at device scale `scale`: `None` if the page fits,
/// else what sticks out.
async fn sideways_at(browser: &Chrome, width: u32, scale: u32) -> Option<String> {
    browser
        .cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": 700, "deviceScaleFactor": scale, "mobile": width < 400 }),
        )
        .await;
    let overflow = browser
        .script(
            r#"
            const root = document.documentElement;
            if (root.scrollWidth <= root.clientWidth) { return null; }
            const wide = [...document.querySelectorAll('body *')]
                .filter((e) => e.getBoundingClientRect().right > root.clientWidth + 1)
                .slice(0, 3)
                .map((e) => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''));
            return root.scrollWidth + ' px wide, by ' + wide.join(', ');
        "#,
        )
        .await;
    browser
        .cdp("Emulation.clearDeviceMetricsOverride", json!({}))
        .await;
    overflow.as_str().map(str::to_owned)
}

/// The tour in `w`'s language, every stop checked and photographed.
async fn every_screen_in(w: &'static Words, javascript: bool) {
    let (folder, _keep) = screenshot_folder();
    let mut checks = Checks::new(folder, w.lang);
    let launch = Launch {
        language: w.lang,
        javascript,
        ..Launch::default()
    };
    tour(w, launch, &mut checks).await;
    assert!(
        checks.pages >= 25,
        "the tour visited {} pages",
        checks.pages
    );
    assert!(
        checks.failures.is_empty(),
        "{} failures:\n{}",
        checks.failures.len(),
        checks.failures.join("\n")
    );
    checks.shots.assert_written(27);
}

#[tokio::test]
async fn every_screen_in_dutch_passes_axe_and_fits_at_320_px_and_200_percent_zoom() {
    every_screen_in(&words::NL, true).await;
}

#[tokio::test]
async fn every_screen_in_english_passes_axe_and_fits_at_320_px_and_200_percent_zoom() {
    every_screen_in(&words::EN, true).await;
}

/// The whole tour (registration, authenticator, login, reset, account, consent,
/// administration) in a browser that runs no scripts, checked as with them.
#[tokio::test]
async fn every_screen_works_without_javascript() {
    // Its screenshots are not the documentation's (no eye buttons): a folder of its own.
    let dir = tempfile::tempdir().unwrap();
    let mut checks = Checks::new(dir.path().to_path_buf(), "nl");
    checks.axe = false;
    let launch = Launch {
        javascript: false,
        ..Launch::default()
    };
    tour(&words::NL, launch, &mut checks).await;
    assert!(checks.failures.is_empty(), "{}", checks.failures.join("\n"));
}

/// Tab from the password field reaches the eye, Space shows the password and renames the
/// button, Enter hides it again.
#[tokio::test]
async fn the_password_toggle_works_by_keyboard() {
    let stack = Stack::start().await;
    let browser = stack.browser().await;
    let w = &words::NL;
    browser.goto(&stack.idp("/login")).await;
    let field = browser.find("textbox", w.password).await;
    field.send_keys("Geheim-Wachtw00rd").await.unwrap();
    field.send_keys("\u{E004}").await.unwrap(); // Tab
    let toggle = browser.client.active_element().await.unwrap();
    assert_eq!(focused_name(&browser).await, w.show_password);
    toggle.send_keys(" ").await.unwrap();
    assert_eq!(field.attr("type").await.unwrap().as_deref(), Some("text"));
    assert_eq!(focused_name(&browser).await, w.hide_password);
    assert_eq!(
        field.prop("value").await.unwrap().as_deref(),
        Some("Geheim-Wachtw00rd")
    );
    toggle.send_keys("\u{E007}").await.unwrap(); // Enter
    assert_eq!(
        field.attr("type").await.unwrap().as_deref(),
        Some("password")
    );
    assert_eq!(focused_name(&browser).await, w.show_password);
    // The eye sits inside the field, at its right end.
    let inside = browser
        .script(
            r#"const f = document.activeElement.previousElementSibling.getBoundingClientRect();
               const b = document.activeElement.getBoundingClientRect();
               return b.left >= f.left && b.right <= f.right + 1 && b.top >= f.top - 1 && b.bottom <= f.bottom + 1;"#,
        )
        .await;
    assert_eq!(inside, Value::Bool(true));
}

async fn focused_name(browser: &Chrome) -> String {
    let focused = browser.client.active_element().await.unwrap();
    browser.accessible_name(&focused).await
}

#[test]
fn the_vendored_axe_core_is_the_pinned_release() {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(AXE.as_bytes());
    assert_eq!(data_encoding::HEXLOWER.encode(&digest), AXE_SHA256);
    assert!(AXE.starts_with(&format!("/*! axe v{AXE_VERSION}")));
}

/// The checks are not vacuous: a page with an unlabelled field and grey-on-grey text fails
/// axe, and a page wider than the phone scrolls sideways.
#[tokio::test]
async fn the_checks_catch_a_page_that_fails_them() {
    let browser = Chrome::start(Launch::default()).await;
    let page = "<!doctype html><html lang=nl><head><title>x</title>\
        <meta name=viewport content='width=device-width'></head><body><main>\
        <input type=text><p style='color:#bbb;background:#ccc'>Onleesbaar</p>\
        <div style='width:600px'>Breed</div></main></body></html>";
    let encoded = data_encoding::BASE64.encode(page.as_bytes());
    browser
        .goto(&format!("data:text/html;charset=utf-8;base64,{encoded}"))
        .await;
    let violations = axe_violations(&browser).await.join("\n");
    assert!(violations.contains("label"), "{violations}");
    assert!(violations.contains("color-contrast"), "{violations}");
    assert!(sideways_at(&browser, 320, 1).await.is_some());
    assert!(sideways_at(&browser, 1280, 1).await.is_none());
}
