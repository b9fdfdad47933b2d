// Package ui is the home of the browser front door's foundation (the
// README's "Browser pages"): everything the sign-in, sign-up, recovery
// and account pages are built on, and nothing yet of the pages
// themselves, which come next and are not served by any route today.
//
//   - ReturnPolicy decides where a browser may be sent back to after a
//     page (return_to): a path on the gateway or a configured allowed
//     origin, else a default; no open redirect.
//   - CSRF issues and checks the token every form carries, bound to the
//     browser by an HMAC over a random __Host- cookie and the form's
//     purpose, without server state.
//   - Renderer renders a page from embedded html/template files inside
//     one base layout, with the operator's branding as data, the
//     message catalogue, and the safety headers (a CSP without
//     'unsafe-inline', no framing, no referrer, no sniffing, no store).
//     It serves the one stylesheet, branded and named by its hash, and
//     the one script (static/passkeys.js: the passkey ceremonies), named
//     by its hash too and loaded only by a page whose view is a
//     ScriptPage that says so; no page carries inline script.
//     Operator overrides from a directory (LoadOverrides) replace
//     embedded templates; a broken one fails construction, naming the
//     file and line, so a server fails at start-up rather than on a
//     visitor.
//   - Catalogue holds every user-facing string (messages/en.json, English
//     shipped), so that a translation is one file; Duration says
//     lifetimes in words ("20 minutes").
//
// The views the templates print (ErrorPage, Form, Field) are built by
// handlers; templates hold no logic beyond display.
package ui
