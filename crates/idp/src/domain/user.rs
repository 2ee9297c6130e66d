//! Roles and account states, stored as text.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// invited → (registration) pending_otp → (authenticator confirmed) active; disabled by an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
