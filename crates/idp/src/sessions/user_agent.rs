//! The browser and platform a `User-Agent` names, roughly: what a person recognises in a notice
//! ("Firefox op Windows") or a list of their sessions. Never used for a security decision.

/// The browser and platform in words, as a notice mail and the account page say them:
/// `browser_on_platform` with `{browser}` and `{platform}` filled in, the browser alone when the
/// platform is unknown, `unknown_browser` when the browser is.
pub fn in_words(
    user_agent: Option<&str>,
    unknown_browser: String,
    browser_on_platform: &str,
) -> String {
    let (browser, platform) = user_agent.map_or((None, None), describe);
    let browser = browser.map_or(unknown_browser, str::to_owned);
    match platform {
        Some(platform) => browser_on_platform
            .replace("{browser}", &browser)
            .replace("{platform}", platform),
        None => browser,
    }
}

/// The browser and the platform, where the user agent names one we know.
pub fn describe(user_agent: &str) -> (Option<&'static str>, Option<&'static str>) {
    (browser(user_agent), platform(user_agent))
}

fn browser(ua: &str) -> Option<&'static str> {
    // Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
    [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .into_iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| name)
}

fn platform(ua: &str) -> Option<&'static str> {
    [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn common_browsers_and_platforms() {
        for (ua, expected) in [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
                (Some("Firefox"), Some("Windows")),
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
                (Some("Safari"), Some("macOS")),
            ),
            (
                "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
                (Some("Chrome"), Some("Android")),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 Edg/131.0",
                (Some("Edge"), Some("Windows")),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1",
                (Some("Chrome"), Some("iOS")),
            ),
            ("curl/8.5.0", (None, None)),
        ] {
            assert_eq!(describe(ua), expected, "{ua}");
        }
    }
}
