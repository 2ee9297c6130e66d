//! Debian's Chromium, driven headless through chromedriver (W3C WebDriver) with fantoccini.
//!
//! Every control is found by its accessible name and role as the browser computes them
//! (WebDriver's "Get Computed Label" and "Get Computed Role"), never by id or class: a control
//! the tests can find is a control a screen reader can name. Passkeys use chromedriver's
//! virtual authenticators (the WebAuthn extension commands of WebDriver).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// What is looked for (`role`, `name`), for the messages of failed lookups.
type Wanted<'a> = (&'a str, &'a str);

/// Elements that can carry an accessible name a person acts on or reads as a heading.
const NAMED: &str = "a[href], button, input:not([type=hidden]), select, textarea, summary, \
                     h1, h2, h3, [role]";

/// How long a lookup waits for its control to appear (pages load, scripts run).
const PATIENCE: Duration = Duration::from_secs(30);

/// Where the browser and its driver are (Debian's packages; `CHROMIUM`/`CHROMEDRIVER` win).
fn executable(variable: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.exists(),
        "{} not found: `cargo xtask e2e` (or `cargo xtask test`) installs Debian's chromium and \
         chromium-driver packages",
        path.display()
    );
    path
}

/// How a browser is started.
#[derive(Clone, Copy)]
pub struct Launch {
    pub width: u32,
    pub height: u32,
    pub javascript: bool,
    /// The browser's language (`nl` or `en`): what it asks pages for (`Accept-Language`).
    pub language: &'static str,
}

impl Default for Launch {
    fn default() -> Self {
        Self {
            width: 1280,
            height: 900,
            javascript: true,
            language: "nl",
        }
    }
}

/// One chromedriver with one headless Chromium, its own profile directory; both end on drop.
pub struct Chrome {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Chrome {
    fn drop(&mut self) {
        // chromedriver ends the browser it started when it goes.
        let _ = self.driver.start_kill();
    }
}

impl Chrome {
    pub async fn start(launch: Launch) -> Self {
        let chromium = executable("CHROMIUM", "/usr/bin/chromium");
        let chromedriver = executable("CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--hide-scrollbars".to_owned(),
            "--force-device-scale-factor=1".to_owned(),
            format!("--window-size={},{}", launch.width, launch.height),
            format!("--user-data-dir={}", profile.path().display()),
            format!("--lang={}", launch.language),
        ];
        if !launch.javascript {
            args.push("--blink-settings=scriptEnabled=false".to_owned());
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium,
                "args": args,
                "prefs": { "intl.accept_languages": launch.language },
            }),
        );
        let client = connect(port, capabilities).await;
        Self {
            client,
            driver,
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    pub async fn url(&self) -> String {
        self.client.current_url().await.unwrap().to_string()
    }

    /// The visible text of the page (empty while a new page replaces the old one).
    pub async fn text(&self) -> String {
        let Ok(body) = self.client.find(Locator::Css("body")).await else {
            return String::new();
        };
        body.text().await.unwrap_or_default()
    }

    /// The page's language (`<html lang>`).
    pub async fn lang(&self) -> String {
        self.script_string("return document.documentElement.lang")
            .await
    }

    pub async fn script(&self, script: &str) -> Value {
        self.client.execute(script, Vec::new()).await.unwrap()
    }

    pub async fn script_string(&self, script: &str) -> String {
        self.script(script)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until the page's text contains `text`.
    pub async fn wait_for_text(&self, text: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let now = self.text().await;
            if now.contains(text) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{text:?} did not appear at {}: {now}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the address starts with `prefix`.
    pub async fn wait_for_url(&self, prefix: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let url = self.url().await;
            if url.starts_with(prefix) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "still at {url}, not {prefix}…: {}",
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The one control with accessible `role` and `name` (waiting for it to appear).
    pub async fn find(&self, role: &str, name: &str) -> Element {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let found = self.all(role, name).await;
            match found.len() {
                1 => return found.into_iter().next().unwrap(),
                0 if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
                count => panic!(
                    "{count} controls {:?} at {}; named here: {:?}",
                    (role, name),
                    self.url().await,
                    self.names().await
                ),
            }
        }
    }

    /// Every shown control with accessible `role` and `name`.
    pub async fn all(&self, role: &str, name: &str) -> Vec<Element> {
        let mut found = Vec::new();
        for element in self.named_elements().await {
            if accessible(&self.client, &element, "computedrole").await == role
                && accessible(&self.client, &element, "computedlabel").await == name
            {
                found.push(element);
            }
        }
        found
    }

    /// The accessible name of `element`, as the browser computes it.
    pub async fn accessible_name(&self, element: &Element) -> String {
        accessible(&self.client, element, "computedlabel").await
    }

    /// WebDriver's computed accessibility `what` ("computedlabel" or "computedrole") of
    /// `element`; empty when the element is gone.
    pub async fn computed(&self, element: &Element, what: &'static str) -> String {
        accessible(&self.client, element, what).await
    }

    /// True when a control `role` `name` is on the page now (no waiting).
    pub async fn has(&self, role: &str, name: &str) -> bool {
        !self.all(role, name).await.is_empty()
    }

    /// Every (role, name) on the page, for failure messages and the language checks.
    pub async fn names(&self) -> Vec<(String, String)> {
        let mut names = Vec::new();
        for element in self.named_elements().await {
            let role = accessible(&self.client, &element, "computedrole").await;
            let name = accessible(&self.client, &element, "computedlabel").await;
            names.push((role, name));
        }
        names
    }

    async fn named_elements(&self) -> Vec<Element> {
        let mut shown = Vec::new();
        for element in self.client.find_all(Locator::Css(NAMED)).await.unwrap() {
            if element.is_displayed().await.unwrap_or(false) {
                shown.push(element);
            }
        }
        shown
    }

    /// Types `value` into the field labelled `label` (textbox, or another role given).
    pub async fn fill(&self, label: &str, value: &str) {
        let field = self.find("textbox", label).await;
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    pub async fn press(&self, button: &str) {
        self.click(("button", button)).await;
    }

    pub async fn follow(&self, link: &str) {
        self.click(("link", link)).await;
    }

    pub async fn click(&self, (role, name): Wanted<'_>) {
        self.find(role, name).await.click().await.unwrap();
    }

    /// Ticks (or unticks) the checkbox labelled `label`.
    pub async fn tick(&self, label: &str, on: bool) {
        let checkbox = self.find("checkbox", label).await;
        let checked = checkbox.prop("checked").await.unwrap().as_deref() == Some("true");
        if checked != on {
            checkbox.click().await.unwrap();
        }
    }

    /// Chooses `option` in the list box labelled `label`.
    pub async fn choose(&self, label: &str, option: &str) {
        let select = self.find("combobox", label).await;
        select.select_by_label(option).await.unwrap();
    }

    /// The value of the field labelled `label`.
    pub async fn value(&self, label: &str) -> String {
        let field = self.find("textbox", label).await;
        field.prop("value").await.unwrap().unwrap_or_default()
    }

    /// A PNG of the whole page, `width` CSS px wide, as tall as its content (DevTools'
    /// capture beyond the viewport: the window itself is not resized).
    pub async fn screenshot(&self, width: u32) -> Vec<u8> {
        let metrics = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let height = metrics["cssContentSize"]["height"]
            .as_f64()
            .unwrap_or(900.0)
            .ceil();
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": { "x": 0, "y": 0, "width": width, "height": height, "scale": 1 },
                }),
            )
            .await;
        let data = shot["data"].as_str().expect("a screenshot");
        data_encoding::BASE64.decode(data.as_bytes()).unwrap()
    }

    /// A PNG of the whole page laid out as on a phone `width` CSS px wide.
    pub async fn phone_screenshot(&self, width: u32) -> Vec<u8> {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": 844, "deviceScaleFactor": 1, "mobile": true }),
        )
        .await;
        let png = self.screenshot(width).await;
        self.cdp("Emulation.clearDeviceMetricsOverride", json!({}))
            .await;
        png
    }

    /// A Chrome DevTools command through chromedriver (`goog/cdp/execute`).
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.client
            .issue_cmd(Session {
                method: http::Method::POST,
                path: "goog/cdp/execute".to_owned(),
                body: Some(json!({ "cmd": cmd, "params": params })),
            })
            .await
            .unwrap()
    }

    /// Adds a virtual authenticator (a security key with user verification) to the browser;
    /// returns its id.
    pub async fn add_virtual_authenticator(&self) -> String {
        let answer = self
            .client
            .issue_cmd(Session {
                method: http::Method::POST,
                path: "webauthn/authenticator".to_owned(),
                body: Some(json!({
                    "protocol": "ctap2",
                    "transport": "usb",
                    "hasResidentKey": true,
                    "hasUserVerification": true,
                    "isUserConsenting": true,
                    "isUserVerified": true,
                })),
            })
            .await
            .unwrap();
        answer.as_str().unwrap().to_owned()
    }

    /// The credentials the virtual authenticator `id` holds.
    pub async fn virtual_credentials(&self, id: &str) -> Vec<Value> {
        let answer = self
            .client
            .issue_cmd(Session {
                method: http::Method::GET,
                path: format!("webauthn/authenticator/{id}/credentials"),
                body: None,
            })
            .await
            .unwrap();
        answer.as_array().cloned().unwrap_or_default()
    }
}

async fn connect(port: u16, capabilities: serde_json::Map<String, Value>) -> Client {
    let url = format!("http://127.0.0.1:{port}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return client,
            Err(error) if tokio::time::Instant::now() < deadline => {
                let _ = error;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("chromedriver at {url} did not start Chromium: {error}"),
        }
    }
}

/// WebDriver's computed accessibility `what` ("computedlabel" or "computedrole") of `element`.
async fn accessible(client: &Client, element: &Element, what: &'static str) -> String {
    let answer = client
        .issue_cmd(Session {
            method: http::Method::GET,
            path: format!("element/{}/{what}", element.element_id()),
            body: None,
        })
        .await;
    match answer {
        Ok(value) => value.as_str().unwrap_or_default().trim().to_owned(),
        // The page changed under the lookup: the element is gone, it has no name.
        Err(CmdError::Standard(_)) => String::new(),
        Err(other) => panic!("{what}: {other}"),
    }
}

/// A command under `/session/{id}/…` that fantoccini has no method for.
#[derive(Debug)]
struct Session {
    method: http::Method,
    path: String,
    body: Option<Value>,
}

impl WebDriverCompatibleCommand for Session {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(Value::to_string),
        )
    }
}
