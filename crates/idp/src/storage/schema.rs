//! Diesel table definitions shared by both backends (see migrations/{postgres,sqlite}).
//! Written by hand: the SQL types are the ones PostgreSQL and SQLite have in common.

diesel::table! {
    organisations (id) {
        id -> Text,
        name -> Text,
        name_key -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        organisation_id -> Nullable<Text>,
        email -> Text,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        status -> Text,
        role -> Text,
        language -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        last_login_at -> Nullable<BigInt>,
        blocked_by_staff -> Bool,
    }
}

diesel::table! {
    password_credentials (user_id) {
        user_id -> Text,
        hash -> Text,
        changed_at -> BigInt,
    }
}

diesel::table! {
    otp_credentials (id) {
        id -> Text,
        user_id -> Text,
        device_name -> Nullable<Text>,
        secret_sealed -> Binary,
        created_at -> BigInt,
        confirmed_at -> Nullable<BigInt>,
        last_used_step -> Nullable<BigInt>,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    security_keys (id) {
        id -> Text,
        user_id -> Text,
        name -> Nullable<Text>,
        credential_id -> Text,
        credential -> Text,
        counter -> BigInt,
        backup_eligible -> Bool,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    webauthn_ceremonies (session_id_hash, purpose) {
        session_id_hash -> Text,
        purpose -> Text,
        state -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Text,
        user_id -> Text,
        code_hash -> Text,
        created_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        user_id -> Text,
        organisation_id -> Nullable<Text>,
        token_hash -> Text,
        invited_by -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    password_resets (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        user_id -> Text,
        stage -> Text,
        amr -> Text,
        auth_time -> BigInt,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        expires_at -> BigInt,
        ip_address -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    clients (client_id) {
        client_id -> Text,
        secret_hash -> Nullable<Text>,
        name -> Text,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        backchannel_logout_uri -> Nullable<Text>,
        grant_types -> Text,
        token_endpoint_auth_method -> Text,
        scope -> Text,
        first_party -> Bool,
        created_at -> BigInt,
        application_type -> Text,
        metadata -> Text,
    }
}

diesel::table! {
    consents (user_id, client_id) {
        user_id -> Text,
        client_id -> Text,
        scope -> Text,
        granted_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    authorization_requests (id_hash) {
        id_hash -> Text,
        client_id -> Text,
        parameters -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    authorization_codes (code_hash) {
        code_hash -> Text,
        client_id -> Text,
        user_id -> Text,
        session_id_hash -> Nullable<Text>,
        redirect_uri -> Text,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        code_challenge_method -> Nullable<Text>,
        auth_time -> BigInt,
        amr -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        access_token_jti -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        family_id -> Text,
        client_id -> Text,
        user_id -> Text,
        session_id_hash -> Nullable<Text>,
        code_hash -> Nullable<Text>,
        scope -> Text,
        auth_time -> BigInt,
        amr -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        rotated_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        access_token_jti -> Nullable<Text>,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        algorithm -> Text,
        private_sealed -> Binary,
        public_jwk -> Text,
        created_at -> BigInt,
        retired_at -> Nullable<BigInt>,
        publish_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> Text,
        kind -> Text,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        created_at -> BigInt,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        claimed_until -> Nullable<BigInt>,
        sent_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        given_up_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        occurred_at -> BigInt,
        event -> Text,
        outcome -> Text,
        user_id -> Nullable<Text>,
        organisation_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        ip_address -> Nullable<Text>,
        details -> Text,
    }
}

diesel::table! {
    revoked_access_tokens (jti) {
        jti -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    throttle_counters (key) {
        key -> Text,
        failures -> Integer,
        first_failure_at -> BigInt,
        last_failure_at -> BigInt,
        locked_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    logout_notices (id) {
        id -> Text,
        client_id -> Text,
        uri -> Text,
        user_id -> Text,
        session_id_hash -> Text,
        created_at -> BigInt,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        claimed_until -> Nullable<BigInt>,
        delivered_at -> Nullable<BigInt>,
        given_up_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
    }
}

diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(password_credentials -> users (user_id));
diesel::joinable!(otp_credentials -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(security_keys -> users (user_id));
diesel::joinable!(invitations -> users (user_id));
diesel::joinable!(password_resets -> users (user_id));
diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    users,
    password_credentials,
    otp_credentials,
    invitations,
    password_resets,
    sessions,
    clients,
    authorization_requests,
    authorization_codes,
    refresh_tokens,
    signing_keys,
    mail_outbox,
    audit_events,
    revoked_access_tokens,
    throttle_counters,
    logout_notices,
    consents,
    recovery_codes,
    security_keys,
    webauthn_ceremonies,
);
