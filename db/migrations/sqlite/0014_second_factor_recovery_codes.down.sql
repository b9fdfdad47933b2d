DROP TABLE factor_recovery_codes;
