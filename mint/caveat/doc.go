// Package caveat is the home of authgw's caveat grammar: every
// first-party caveat a token may carry is defined here, once, as a Kind
// constant (ServerID, Method, ...) whose methods say its name, how its
// argument is written and parsed, whether a token must carry it, whether
// a holder may repeat it, how several of it narrow the token
// (Narrowing), and which fact of a request it is checked against
// (Constrains).
//
// The grammar cannot be changed from outside the package: the kinds are
// constants, their rules sit in an unexported table read through
// methods, and Kinds and Methods return copies. No code linked into a
// process can make a mandatory caveat optional or widen what a kind
// accepts, and so weaken what the verifier requires.
//
// A caveat is the UTF-8 text "name argument" (ValidText). Parse reads one
// into a typed Caveat; the constructors (New, NewTimeBefore, NewRoutes, NewIP)
// build one from typed values. Package mint writes caveats with it,
// package verifier reads them with it (and adds what each requires of a
// request), and authgw inspect and attenuate describe and build them
// with it. Kinds lists the kinds in mint order; Lookup finds one by name.
//
// Adding a caveat is a Kind constant and its row in the table of rules
// here (with its parser and tests); a case in the verifier's per-request
// check only when it constrains a fact of the request no kind constrains
// yet (a new Constrains value; until the verifier knows it, the verifier
// refuses such a token); and a line in mint.Mint when minted tokens
// carry it.
package caveat
