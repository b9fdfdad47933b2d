package gateway

import (
	"net/http"
	"strconv"
	"time"
)

// InfoKeysPath is where the gateway publishes the public keys of its
// request-info signature (X-Auth-Info), as a JWKS document: on the
// gateway's own listener, which backends and clients reach, with no token,
// and on the admin listener. The document lists the signing key first and,
// during a rotation, the previous key (infosign.KeySet), each with its
// RFC 7638 thumbprint as kid, alg ES256 and use sig. InfoKeysWellKnownPath
// serves the same document.
const InfoKeysPath = "/accounts/v1/request-info/jwks.json"

// InfoKeysWellKnownPath is InfoKeysPath's alias under /.well-known, for
// tools that look for keys there.
const InfoKeysWellKnownPath = "/.well-known/authgw-info-jwks.json"

// CodeMethodNotAllowed refuses a method InfoKeysPath does not answer.
const CodeMethodNotAllowed = "METHOD-NOT-ALLOWED"

// InfoKeysMaxAge is the max-age of InfoKeysPath's Cache-Control: how long
// a backend or a cache in front of it may keep the document without asking
// again. A backend that meets a kid it does not know asks again at once
// (verifier/requestinfo's RemoteKeys does), so a rotation does not wait for
// it.
const InfoKeysMaxAge = 5 * time.Minute

// infoKeysCacheControl is InfoKeysPath's Cache-Control header value.
var infoKeysCacheControl = "public, max-age=" + strconv.Itoa(int(InfoKeysMaxAge/time.Second))

// serveInfoKeys answers InfoKeysPath: GET and HEAD with the JWKS, 405
// otherwise.
func (g *Gateway) serveInfoKeys(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		refuse(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "the request-info keys answer GET and HEAD").write(w)
		return
	}
	doc := g.cfg.Signer.JWKS()
	h := w.Header()
	h.Set("Content-Type", "application/jwk-set+json")
	h.Set("Cache-Control", infoKeysCacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(doc)
	}
}

// infoKeys answers InfoKeysPath and InfoKeysWellKnownPath before the rest
// of the pipeline (no token, no rate limit, not the accounts service: the
// document is public, small and the same for everyone) and hands every
// other request to next.
func (g *Gateway) infoKeys(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.URL.Path == InfoKeysPath || r.URL.Path == InfoKeysWellKnownPath) && r.URL.RawQuery == "" {
			g.serveInfoKeys(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
