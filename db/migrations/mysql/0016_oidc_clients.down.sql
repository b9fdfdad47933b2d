ALTER TABLE clients
  DROP CONSTRAINT clients_public_ck,
  DROP COLUMN public,
  DROP COLUMN oidc_scopes,
  DROP COLUMN post_logout_redirect_uris,
  DROP COLUMN redirect_uris;
