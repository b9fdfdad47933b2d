// Package portal is the browser front door (the README's "In the
// browser"): the sign-in, sign-up, recovery and account pages served
// under /accounts/v1/ui/, for people with a browser, which sends no
// HTTP Basic credential and keeps its tokens in cookies.
//
// The portal holds no account logic of its own. Every page that reads or
// changes something does it by calling the accounts JSON API in-process
// (Config.API), as an ordinary client: a sign-in page posts the login
// steps as the portal's own client (Config.ClientID), so the session's
// tokens are bound to that client; a settings page calls the API as the
// signed-in user, with the claims the gateway put in the request. The
// rules — regulation, enumeration-safe answers, password rules,
// authorization — therefore have one home, the API, and a page can
// neither do more than the API allows nor answer differently from it.
//
// Around those calls the portal does what only pages need: it renders
// HTML (package ui's Renderer), checks the CSRF token of every form
// (ui.CSRF), resolves return_to (ui.ReturnPolicy) so that no page is an
// open redirect, copies the API's cookies to the browser, and turns API
// errors into words next to the field they are about. The pages work
// without script; only the passkey ceremonies need the browser's
// navigator.credentials, run by one same-origin script (passkeys.go).
package portal
