//! Mijn account in the browser: change the password, a second authenticator, recovery codes, ending another session, and a passkey registered and used at login.
