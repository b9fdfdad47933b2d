-- Issue 17 (OpenID Connect provider). An API client is an OpenID Connect
-- client once it has redirect URIs. Each list is stored as its values
-- separated by single spaces (a URI holds no space; a scope name
-- neither): redirect_uris, post_logout_redirect_uris (at most 10 URIs of
-- at most 512 bytes each, checked by the service) and oidc_scopes (the
-- scopes beyond openid the client may ask for). public marks a client
-- without a secret at the token endpoint (auth method none, PKCE
-- required).
ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT ''
  CONSTRAINT clients_redirect_uris_len CHECK (length(redirect_uris) <= 5200);
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT ''
  CONSTRAINT clients_post_logout_redirect_uris_len CHECK (length(post_logout_redirect_uris) <= 5200);
ALTER TABLE clients ADD COLUMN oidc_scopes TEXT NOT NULL DEFAULT ''
  CONSTRAINT clients_oidc_scopes_len CHECK (length(oidc_scopes) <= 2000);
ALTER TABLE clients ADD COLUMN public INTEGER NOT NULL DEFAULT 0
  CONSTRAINT clients_public_ck CHECK (public IN (0, 1));
