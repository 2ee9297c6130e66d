//! One module per journey of the manual, named as the manual names it. A journey takes parsed
//! input, applies the rules, and writes its rows (and mails, and audit events) in one transaction.

pub mod account;
pub mod invitation;
pub mod login;
pub mod logout;
pub mod otp_setup;
pub mod password_reset;
pub mod registration;
