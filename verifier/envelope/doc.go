// Package envelope is the home of authgw's JSON wire format: the error
// envelope, the one shape every rejection takes, from the verifier, the
// gateway and the accounts service,
//
//	{"t":"error","error":{"status":401,"code":"TOKEN-INVALID","title":"Unauthorized","detail":"...","obstructions":[]}}
//
// and the success envelopes of the accounts service (the README's "The
// accounts service"):
//
//	{"t":"single","data":{...}}
//	{"t":"collection","data":[...],"meta":{"pg":{"size":20,"nextCursor":"..."}}}
//	{"t":"null"}
//
// It lives beside the verifier, the lowest layer that writes it, and
// depends on the standard library only.
package envelope
