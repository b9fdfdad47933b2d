package requestinfo_test

import (
	"crypto/ecdsa"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// A backend reads who is calling in one call. The gateway's half (Sign and
// SetHeaders) is shown only to make the request; a backend is given the
// gateway's public key, from a PEM file (ParsePublicKeyPEM) or its JWKS
// endpoint (ParseJWKS).
func Example() {
	now := func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

	// The gateway side.
	key, err := infosign.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	signer, err := infosign.NewSigner(infosign.SignerConfig{Key: key, Issuer: "authgw", Now: now})
	if err != nil {
		log.Fatal(err)
	}
	token, err := signer.Sign(requestinfo.Claims{
		Client:         "cl_7f3a",
		SecretVerified: true,
		ClientRoles:    []string{"internal"},
		IP:             "203.0.113.9",
		User:           &requestinfo.UserClaims{ID: "usr_42", SessionID: "ses_9", Roles: []string{"user"}},
		Audience:       "demo",
	})
	if err != nil {
		log.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/things", nil)
	infosign.SetHeaders(r.Header, token)

	// The backend side: a Verifier made once at start-up, then one call
	// per request.
	verifier, err := requestinfo.NewVerifier(requestinfo.VerifierConfig{
		Keys:     []*ecdsa.PublicKey{&key.PublicKey},
		Audience: "demo",
		Issuer:   "authgw",
		Now:      now,
	})
	if err != nil {
		log.Fatal(err)
	}
	claims, err := requestinfo.FromRequest(r, verifier)
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	fmt.Println("client:", claims.Client, claims.ClientRoles, "secret verified:", claims.SecretVerified)
	fmt.Println("user:", claims.User.ID, claims.User.Roles, "session:", claims.User.SessionID)
	fmt.Println("from:", claims.IP, "expires:", time.Unix(claims.Expires, 0).UTC().Format(time.TimeOnly))

	// Without the gateway's header, the same call refuses.
	_, err = requestinfo.FromRequest(httptest.NewRequest(http.MethodGet, "/things", nil), verifier)
	fmt.Println("direct call:", err)
	// Output:
	// client: cl_7f3a [internal] secret verified: true
	// user: usr_42 [user] session: ses_9
	// from: 203.0.113.9 expires: 12:00:30
	// direct call: requestinfo: request info refused: no X-Auth-Info header
}

// Middleware protects a whole net/http backend; handlers read the claims
// from the request context.
func ExampleMiddleware() {
	key, err := infosign.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := requestinfo.NewVerifier(requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, Audience: "demo"})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things", func(w http.ResponseWriter, r *http.Request) {
		claims, _ := requestinfo.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "hello %s\n", claims.Client)
	})
	handler := requestinfo.Middleware(verifier)(mux)

	// A request that did not come through the gateway.
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/things", nil))
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// 401 {"t":"error","error":{"status":401,"code":"AUTH-INFO-MISSING","title":"Unauthorized","detail":"This service is reachable only through the gateway.","obstructions":[]}}
}

// A backend that holds no key file verifies X-Auth-Info with the keys the
// gateway publishes at its URL; RemoteKeys fetches them, caches them and
// follows the gateway's rotations.
func ExampleRemoteKeys() {
	// The gateway side, with a real HTTP server in its place.
	key, err := infosign.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	signer, err := infosign.NewSigner(infosign.SignerConfig{Key: key, Issuer: "authgw"})
	if err != nil {
		log.Fatal(err)
	}
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(signer.JWKS())
	}))
	defer gw.Close()
	token, err := signer.Sign(requestinfo.Claims{Client: "cl_7f3a", IP: "203.0.113.9", Audience: "demo"})
	if err != nil {
		log.Fatal(err)
	}

	// The backend side: the URL is all it is given.
	keys, err := requestinfo.NewRemoteKeys(requestinfo.RemoteKeysConfig{URL: gw.URL + "/accounts/v1/request-info/jwks.json"})
	if err != nil {
		log.Fatal(err)
	}
	v, err := requestinfo.NewVerifier(requestinfo.VerifierConfig{Remote: keys, Audience: "demo"})
	if err != nil {
		log.Fatal(err)
	}
	claims, err := v.Verify(token)
	fmt.Println(claims.Client, err)
	// Output: cl_7f3a <nil>
}
