// Package caveat is the home of authgw's caveat grammar: every
// first-party caveat a token may carry is defined here, once, as a Kind
// value that says its name, how its argument is written and parsed,
// whether a token must carry it, whether a holder may repeat it, how
// several of it narrow the token (Narrowing), and which fact of a request
// it is checked against (Constrains).
//
// A caveat is the UTF-8 text "name argument" (ValidText). Parse reads one
// into a typed Caveat; the constructors (New, NewTimeBefore, NewRoutes, NewIP)
// build one from typed values. Package mint writes caveats with it,
// package verifier reads them with it (and adds what each requires of a
// request), and authgw inspect and attenuate describe and build them
// with it. The list of kinds is Kinds.
//
// Adding a caveat is a Kind value and its entry in Kinds here (with its
// parser and tests); a case in the verifier's per-request check only when
// it constrains a fact of the request no kind constrains yet (a new
// Constrains value; until the verifier knows it, the verifier refuses
// such a token); and a line in mint.Mint when minted tokens carry it.
package caveat
