//! Roles, account states and the steps of a login session, stored as text (see
//! `storage::types` for the mapping).

use diesel::deserialize::FromSqlRow;
use diesel::expression::AsExpression;
use diesel::sql_types::Text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum Role {
    HccStaff,
    Superuser,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::HccStaff => "hcc_staff",
            Role::Superuser => "superuser",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hcc_staff" => Some(Role::HccStaff),
            "superuser" => Some(Role::Superuser),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

impl Role {
    /// The role as clients and people read it — the ID token's `role` claim, the admin API
    /// and the command line: `member`, `superuser`, `hcc-staff` (stored as [`Role::as_str`]).
    pub fn public_name(self) -> &'static str {
        match self {
            Role::HccStaff => "hcc-staff",
            Role::Superuser => "superuser",
            Role::Member => "member",
        }
    }

    /// Superusers (their own organisation) and HCC staff (every organisation) administer
    /// people; they alone may hold the `admin` scope.
    pub fn may_administer(self) -> bool {
        matches!(self, Role::Superuser | Role::HccStaff)
    }
}

/// invited → (registration) pending_otp → (authenticator confirmed) active; disabled by an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum UserStatus {
    Invited,
    PendingOtp,
    Active,
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Invited => "invited",
            UserStatus::PendingOtp => "pending_otp",
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "invited" => Some(UserStatus::Invited),
            "pending_otp" => Some(UserStatus::PendingOtp),
            "active" => Some(UserStatus::Active),
            "disabled" => Some(UserStatus::Disabled),
            _ => None,
        }
    }
}

impl UserStatus {
    /// The one rule for issuing anything to a person: codes, tokens, refreshes, introspection
    /// answers and userinfo all need an active account.
    pub fn may_receive_tokens(self) -> bool {
        self == UserStatus::Active
    }

    /// Who may pass the password step: an active account, or one whose authenticator is still
    /// to be set up.
    pub fn may_log_in(self) -> bool {
        matches!(self, UserStatus::Active | UserStatus::PendingOtp)
    }
}

/// The steps of a login session: `otp_setup` (password proven, authenticator still to be set
/// up), `otp` (password proven, code still to be entered), `authenticated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum Stage {
    OtpSetup,
    Otp,
    Authenticated,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::OtpSetup => "otp_setup",
            Stage::Otp => "otp",
            Stage::Authenticated => "authenticated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "otp_setup" => Some(Stage::OtpSetup),
            "otp" => Some(Stage::Otp),
            "authenticated" => Some(Stage::Authenticated),
            _ => None,
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
