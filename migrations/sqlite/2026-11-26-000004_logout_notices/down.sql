DROP TABLE logout_notices;
