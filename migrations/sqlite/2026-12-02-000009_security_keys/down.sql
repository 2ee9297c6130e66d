DROP TABLE webauthn_ceremonies;
DROP INDEX security_keys_user;
DROP TABLE security_keys;
