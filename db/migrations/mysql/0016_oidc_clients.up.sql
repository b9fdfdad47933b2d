-- Issue 17 (OpenID Connect provider). An API client is an OpenID Connect
-- client once it has redirect URIs. Each list is stored as its values
-- separated by single spaces (a URI holds no space; a scope name
-- neither): redirect_uris, post_logout_redirect_uris (at most 10 URIs of
-- at most 512 bytes each, checked by the service) and oidc_scopes (the
-- scopes beyond openid the client may ask for). public marks a client
-- without a secret at the token endpoint (auth method none, PKCE
-- required).
ALTER TABLE clients
  ADD COLUMN redirect_uris VARCHAR(5200) NOT NULL DEFAULT '',
  ADD COLUMN post_logout_redirect_uris VARCHAR(5200) NOT NULL DEFAULT '',
  ADD COLUMN oidc_scopes VARCHAR(2000) NOT NULL DEFAULT '',
  ADD COLUMN public BOOLEAN NOT NULL DEFAULT 0,
  ADD CONSTRAINT clients_public_ck CHECK (public IN (0, 1));
