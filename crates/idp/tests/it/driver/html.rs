//! Reading the IdP's pages as a person does: the text of headings and alerts, a control by
//! its label, attributes, the CSRF token of a form and the authenticator key on the set-up page.

use idp::domain::totp::TotpSecret;

pub fn csrf_token(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("input[name=csrf_token]").unwrap();
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .expect("a CSRF token in the form")
        .to_owned()
}

/// The page with every CSRF token value blanked (they differ per response by design).
pub fn without_csrf(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let mut out = String::new();
    let mut rest = html;
    while let Some(at) = rest.find(marker) {
        let start = at + marker.len();
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        rest = &rest[rest.find('"').unwrap()..];
    }
    out.push_str(rest);
    out
}

/// The text of the element matched by `selector`, whitespace folded.
pub fn text_of(html: &str, selector: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel)
        .map(|e| {
            e.text()
                .collect::<Vec<_>>()
                .join(" ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// The text of the page's alerts (`role=alert`), joined.
pub fn alert(html: &str) -> String {
    text_of(html, "[role=alert]").join(" ")
}

/// The messages shown at a field (`#<id>-error-N`).
pub fn field_errors(html: &str, id: &str) -> String {
    text_of(html, &format!("[id^='{id}-error-']")).join(" ")
}

/// The control labelled `label` (by <label for>), as an element id.
pub fn control_labelled(html: &str, label: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("label").unwrap();
    doc.select(&sel).find_map(|l| {
        let text: String = l.text().collect::<Vec<_>>().join(" ");
        let text = text.replace('*', "");
        (text.split_whitespace().collect::<Vec<_>>().join(" ") == label)
            .then(|| l.value().attr("for").map(str::to_owned))
            .flatten()
    })
}

pub fn attr(html: &str, selector: &str, name: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr(name).map(str::to_owned))
}

/// The TOTP secret behind the set-up page's "Scannen mislukt?" key.
pub fn secret_from_page(html: &str) -> TotpSecret {
    let key = text_of(html, "#otp-key").pop().unwrap().replace(' ', "");
    TotpSecret::from_bytes(data_encoding::BASE32_NOPAD.decode(key.as_bytes()).unwrap())
}
