package infosign

import (
	"net/http"

	"github.com/authgw/authgw/gateway/internal/hdr"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// SetHeaders sets the three request-info headers on h for token, replacing
// any value already there.
func SetHeaders(h http.Header, token string) {
	// One array for the three values (capped slices: an append elsewhere
	// copies), set under their canonical names.
	vals := [...]string{token, "1", requestinfo.Algorithm}
	shared := vals[:]
	h[requestinfo.HeaderInfo] = shared[0:1:1]
	h[requestinfo.HeaderSigned] = shared[1:2:2]
	h[requestinfo.HeaderAlgorithm] = shared[2:3:3]
}

// RemoveHeaders deletes every header of h that IsInfoHeader names, so a
// client cannot pass its own request info through the gateway.
func RemoveHeaders(h http.Header) {
	for name := range h {
		if IsInfoHeader(name) {
			delete(h, name)
		}
	}
}

// IsInfoHeader reports whether a header name starts with X-Auth-Info in
// any case, with "_" read as "-": CGI-style servers (WSGI, Rack, PHP)
// read X_Auth_Info as X-Auth-Info, so a client's X_Auth_Info could shadow
// the gateway's. It allocates nothing.
func IsInfoHeader(name string) bool {
	return hdr.FoldedPrefix(name, "x-auth-info", false) // requestinfo.HeaderInfo in lower case
}
