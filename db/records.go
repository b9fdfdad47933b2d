package db

// Records are the rows the store reads and writes, in the shapes the
// accounts service, the login flow and the gateway use. IDs are UUIDv7
// strings; times are UTC milliseconds, with 0 meaning "not set" for the
// nullable ones (a NULL column).

// Organization is a customer account that owns clients and has members.
type Organization struct {
	ID        string
	Name      string
	CreatedMs int64
	// RequireSecondFactor: its members must sign in with a second factor.
	RequireSecondFactor bool
}

// User is a person who logs in.
type User struct {
	ID   string
	Name string
	// PasswordHash is a PHC argon2id string or a legacy bcrypt hash; ""
	// when the user has no password (code login only).
	PasswordHash string
	BannedMs     int64
	DeletedMs    int64
	CreatedMs    int64
	UpdatedMs    int64
	// Roles are read with the user: sysadmin, employee, user.
	Roles []string
	// TOTPEnabled is true when a confirmed TOTP secret exists.
	TOTPEnabled bool
}

// Email is one address of a user, stored normalized.
type Email struct {
	ID         string
	UserID     string
	Email      string
	VerifiedMs int64
	CreatedMs  int64
}

// Client is an API client of an organization.
type Client struct {
	ID             string
	OrganizationID string
	Name           string
	// SecretHash is the SHA-256 hex of the secret, or a legacy bcrypt hash.
	SecretHash string
	// ReqsPerSec is the rate limit; -1 means unlimited.
	ReqsPerSec int
	CreatedMs  int64
	UpdatedMs  int64
	DeletedMs  int64
	// Roles are read with the client: system, internal, external.
	Roles []string
	// Restrictions are filled by LoadSnapshot only.
	Restrictions []Restriction
	// RedirectURIs make the client an OpenID Connect client: the exact
	// redirect URIs it may name at the authorization endpoint. None: not
	// an OpenID Connect client.
	RedirectURIs []string
	// PostLogoutRedirectURIs are the exact URIs the end-session endpoint
	// may send the browser back to for this client.
	PostLogoutRedirectURIs []string
	// OIDCScopes are the scopes beyond openid the client may ask for
	// (profile, email, offline_access, api:<name>).
	OIDCScopes []string
	// Public marks an OpenID Connect client with no secret at the token
	// endpoint (auth method none): PKCE is then required.
	Public bool
}

// Restriction is a client access restriction of type ip (CIDR), host or api.
type Restriction struct {
	ID        string
	ClientID  string
	Type      string
	Value     string
	CreatedMs int64
}

// Membership links a user to an organization with flags.
type Membership struct {
	ID             string
	OrganizationID string
	UserID         string
	Read           bool
	Edit           bool
	Manage         bool
	Delete         bool
	CreatedMs      int64
	// Pending marks an invitation the user has not accepted yet: it
	// grants nothing until AcceptMembership.
	Pending bool
	// InvitedBy is the user who made a pending invitation; "" when none
	// is known. Written by AddMembership, not read back.
	InvitedBy string
}

// API is a backend registered at /<Name>/v<Version>.
type API struct {
	Name              string
	Version           int
	URL               string
	AllowUnidentified bool
	Active            bool
	// LoginRedirect sends a browser's GET or HEAD that would be refused
	// 401 for want of a valid token to the sign-in page instead.
	LoginRedirect bool
	CreatedMs     int64
	UpdatedMs     int64
	// Upstreams are every upstream URL, in order; URL is the first. Nil
	// or empty on a write means URL alone; a read always fills it.
	Upstreams []string
	// ConnectTimeoutMs, HeaderTimeoutMs and TimeoutMs bound the connect
	// (dial and TLS handshake), the wait for response headers and the
	// whole exchange, in milliseconds; 0 is the gateway's default.
	ConnectTimeoutMs int64
	HeaderTimeoutMs  int64
	TimeoutMs        int64
	// H2C speaks HTTP/2 without TLS to http:// upstreams.
	H2C bool
	// Hosts are the host names bound to the API version (NormalizeAPIHost
	// form, sorted on a read): any path of such a host is authorized as
	// /<Name>/v<Version>/<path>. A write replaces them; nil means none.
	Hosts []string
}

// Session is one login of a user.
type Session struct {
	ID                string
	UserID            string
	ClientID          string // "" when the login had no client
	IP                string
	UserAgent         string
	CreatedMs         int64
	ExpiresMs         int64
	RefreshedMs       int64
	InvalidatedMs     int64
	InvalidatedReason string
	// SecretVerified is whether the login came with the client's
	// secret: the session then refreshes only with it.
	SecretVerified bool
	// AMR is how the user authenticated at the login that made the
	// session: RFC 8176 values separated by single spaces; "" when
	// unknown (a session from before it was kept).
	AMR string
	// AuthTimeMs is when that login happened (Unix ms).
	AuthTimeMs int64
}

// RefreshToken is a stored refresh token: only its SHA-256 hash is kept.
type RefreshToken struct {
	Hash       string // SHA-256 hex
	SessionID  string
	Family     string
	CreatedMs  int64
	ExpiresMs  int64
	ConsumedMs int64
	ReplacedBy string
}

// Code kinds.
const (
	CodeLogin             = "login"
	CodeEmailVerification = "email-verification"
	CodeTOTPFlow          = "totp-flow"
	// CodeRecovery is a password recovery code: it is bound to the user
	// and the verified address it was mailed to (UserID and EmailID), and
	// dies with that address or account.
	CodeRecovery = "recovery"
)

// Code is a login, email-verification, TOTP-flow or recovery code,
// stored hashed.
type Code struct {
	ID            string
	Hash          string // SHA-256 hex (or HMAC-SHA256 hex) of the code
	Kind          string
	UserID        string
	EmailID       string
	State         string
	CreatedMs     int64
	ExpiresMs     int64
	Attempts      int
	ConsumedMs    int64
	InvalidatedMs int64
	// AMR is, on a login's flow code (CodeTOTPFlow), the factor the
	// login's first step proved (an RFC 8176 value); "" otherwise.
	AMR string
}

// TOTPSecret is a user's TOTP secret, encrypted by the caller.
type TOTPSecret struct {
	UserID       string
	Ciphertext   []byte
	ConfirmedMs  int64
	LastUsedStep int64
	CreatedMs    int64
}

// Revocation kinds.
const (
	RevokeSession = "session"
	RevokeUser    = "user"
)

// Revocation is one entry of the revocation feed the gateways poll.
type Revocation struct {
	// Cursor orders the feed; poll with the last cursor seen.
	Cursor      int64
	Kind        string
	Subject     string // session or user ID
	NotBeforeMs int64  // for kind user: tokens issued before are refused
	ExpiresMs   int64  // after this no token it could refuse is valid
	CreatedMs   int64
}

// Snapshot is what the gateway keeps in memory: every live client with
// its roles and restrictions, and every API.
type Snapshot struct {
	Clients  []Client
	APIs     []API
	LoadedMs int64
}

// Page asks for one page of a list: at most Size rows after Cursor (an
// opaque value from a previous page's Next; "" for the first page).
type Page struct {
	Size   int
	Cursor string
}

// PageInfo tells where the next and previous pages start; "" when none.
type PageInfo struct {
	Next string
	Prev string
}

// Revoking is when a write that revokes tokens happens and how long its
// revocation entry lasts. The two times are named fields so a call
// cannot swap them silently.
type Revoking struct {
	// AtMs is when the write happens (Unix milliseconds): when the row is
	// deleted or the session invalidated, and the instant before which
	// the revoked tokens were minted.
	AtMs int64
	// ExpiresMs is when the revocation entry may go: when the last token
	// it refuses expires.
	ExpiresMs int64
}

// MembershipFlags are what a membership grants, by name, so that two
// flags cannot be swapped silently at a call.
type MembershipFlags struct {
	Read, Edit, Manage, Delete bool
}

// MailWindow is the rate window of TakeMailQuota: mails sent after
// StartMs count, and the one being sent is counted at NowMs (both Unix
// milliseconds).
type MailWindow struct {
	StartMs int64
	NowMs   int64
}
