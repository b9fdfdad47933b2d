package oidcop

import (
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/authgw/authgw/db"
)

// authRequest is a stored authorization request as op sees it.
type authRequest struct{ r db.OIDCAuthRequest }

var _ op.AuthRequest = authRequest{}

func (a authRequest) GetID() string  { return a.r.ID }
func (a authRequest) GetACR() string { return "" }
func (a authRequest) GetAMR() []string {
	return strings.Fields(a.r.AMR)
}
func (a authRequest) GetAudience() []string { return []string{a.r.ClientID} }
func (a authRequest) GetAuthTime() time.Time {
	if a.r.AuthTimeMs == 0 {
		return time.Time{}
	}
	return time.UnixMilli(a.r.AuthTimeMs)
}
func (a authRequest) GetClientID() string { return a.r.ClientID }
func (a authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.r.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.r.CodeChallenge, Method: oidc.CodeChallengeMethod(a.r.CodeChallengeMethod)}
}
func (a authRequest) GetNonce() string                   { return a.r.Nonce }
func (a authRequest) GetRedirectURI() string             { return a.r.RedirectURI }
func (a authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseType(a.r.ResponseType) }
func (a authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseMode(a.r.ResponseMode) }
func (a authRequest) GetScopes() []string                { return a.r.Scopes }
func (a authRequest) GetState() string                   { return a.r.State }
func (a authRequest) GetSubject() string                 { return a.r.UserID }

// Done is true once the user approved.
func (a authRequest) Done() bool { return a.r.UserID != "" }

// refreshRequest is what a refreshed grant's ID token is made from.
type refreshRequest struct {
	userID, clientID string
	scopes           []string
	amr              []string
	authTime         time.Time
}

var _ op.IDTokenRequest = refreshRequest{}

func (r refreshRequest) GetAMR() []string       { return r.amr }
func (r refreshRequest) GetAudience() []string  { return []string{r.clientID} }
func (r refreshRequest) GetAuthTime() time.Time { return r.authTime }
func (r refreshRequest) GetClientID() string    { return r.clientID }
func (r refreshRequest) GetScopes() []string    { return r.scopes }
func (r refreshRequest) GetSubject() string     { return r.userID }
