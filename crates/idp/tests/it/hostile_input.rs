//! Text that looks like SQL or HTML is only text: stored exactly as typed, escaped wherever a
//! page or a mail shows it, and returned literally in tokens and userinfo. Markup that names may
//! not contain is refused with the form shown again, its input escaped.

use reqwest::StatusCode;

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;
use idp::domain::Language;

const ORGANISATION: &str = "Bakker & Zonen \"B.V.\" '; DROP TABLE organisations; --";
const FIRST: &str = "Robert'); DROP TABLE users;--";
const LAST: &str = "O'Brien & \"Co\"";

/// `text` as an HTML-escaping template writes it (tera: & < > " ' /).
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2F;")
}

async fn sql_and_html_looking_names_are_stored_literally_and_escaped(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.admin().create_organisation(ORGANISATION).await;
    let (link, mail) = invite(&app, &org, "robert@bakker.nl", Some(LAST), Language::Nl).await;

    // The mail: literal in its text part, escaped in its HTML part.
    assert!(mail.text().contains(ORGANISATION), "{}", mail.text());
    let html = mail.html();
    assert!(html.contains(&escaped(ORGANISATION)), "{html}");
    assert!(!html.contains(ORGANISATION), "{html}");

    // The registration page shows the invited name escaped in its field.
    let browser = app.browser();
    let page = browser.page(&link).await;
    assert!(page.contains(&escaped(LAST)), "{page}");
    assert!(!page.contains(LAST), "{page}");
    let response = browser
        .post_form(
            &link,
            &[
                ("password", STRONG),
                ("password_confirm", STRONG),
                ("first_name", FIRST),
                ("last_name", LAST),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (secret, response) = browser.set_up_authenticator().await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // Stored as typed: every table is still there and holds the text.
    let person = Person {
        email: "robert@bakker.nl".into(),
        password: STRONG.into(),
        secret,
    };
    let rp = app.refresh_client().await;
    let tokens = rp
        .sign_in(&app.browser(), &person, "openid profile organisation")
        .await;
    let claims = jwt_part(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["given_name"], FIRST, "{claims}");
    assert_eq!(claims["family_name"], LAST, "{claims}");
    let (_, userinfo) = json_of(rp.userinfo(tokens["access_token"].as_str().unwrap()).await).await;
    assert_eq!(userinfo["given_name"], FIRST, "{userinfo}");
    assert_eq!(userinfo["family_name"], LAST, "{userinfo}");
    assert_eq!(userinfo["organisation"]["name"], ORGANISATION, "{userinfo}");
}

both_backends!(sql_and_html_looking_names_are_stored_literally_and_escaped);

async fn markup_in_a_name_is_refused_and_shown_back_escaped(backend: Backend) {
    let app = spawn_app(backend).await;
    let (link, _) = invite_marco(&app, Language::Nl).await;
    let browser = app.browser();
    let script = "<script>alert(1)</script>";
    let response = browser
        .post_form(
            &link,
            &[
                ("password", STRONG),
                ("password_confirm", STRONG),
                ("first_name", script),
                ("last_name", "\"><img src=x onerror=alert(1)>"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(!page.contains(script), "{page}");
    assert!(!page.contains("<img src=x"), "{page}");
    assert!(page.contains("&lt;script&gt;"), "{page}");
    // Nothing was registered: the link still works.
    assert_eq!(
        browser.register(&link, STRONG).await.status(),
        StatusCode::SEE_OTHER
    );
}

both_backends!(markup_in_a_name_is_refused_and_shown_back_escaped);

async fn markup_in_a_login_address_is_shown_back_escaped(backend: Backend) {
    let app = spawn_app(backend).await;
    let address = "\"><script>alert(1)</script>@ek88.nl";
    let response = app.browser().log_in_password(address, WRONG).await;
    let page = response.text().await.unwrap();
    assert!(!page.contains("<script>alert(1)"), "{page}");
}

both_backends!(markup_in_a_login_address_is_shown_back_escaped);
