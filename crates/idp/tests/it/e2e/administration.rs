//! A superuser and HCC in the browser: inviting a colleague from Gebruikers beheren, resetting their authenticator; the consent page of a third-party client; the language choice.
