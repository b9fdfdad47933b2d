DROP TABLE oidc_rp_flows;
DROP TABLE oidc_identities;
