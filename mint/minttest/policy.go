package minttest

// BrowserPolicy is a typical browser policy, the one the token tests mint
// from: five scopes, eight routes for GET, the methods GET, PATCH,
// DELETE and POST, and one scope that needs read membership of :orgId.
const BrowserPolicy = `{
  "name": "member",
  "appliesTo": {"userRoles": ["user"]},
  "expires": 900,
  "scopes": [
    {"name": "profile", "routes": ["/accounts/v1/users/:userId/**", "/accounts/v1/users/:userId"], "methods": ["GET", "PATCH"]},
    {"name": "sessions", "routes": ["/accounts/v1/sessions/:sessionId"], "methods": ["GET", "DELETE"]},
    {"name": "projects", "routes": ["/projects/v1/:userId_*/*", "/projects/v1/shared/**"], "methods": ["GET", "POST"]},
    {"name": "orgs", "routes": ["/reports/v1/orgs/:orgId/**"], "methods": ["GET"], "membership": "read"},
    {"name": "notes", "routes": ["/notes/v1/**"], "methods": ["GET"]}
  ]
}`
