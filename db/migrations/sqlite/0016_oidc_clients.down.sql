ALTER TABLE clients DROP COLUMN public;
ALTER TABLE clients DROP COLUMN oidc_scopes;
ALTER TABLE clients DROP COLUMN post_logout_redirect_uris;
ALTER TABLE clients DROP COLUMN redirect_uris;
