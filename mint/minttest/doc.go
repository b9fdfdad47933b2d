// Package minttest is the home of the test doubles that tests of tokens
// and of anything that reads the time share: a settable clock,
// deterministic key rings, and the browser policy the token tests mint
// from. It is imported by tests only, like net/http/httptest; it imports
// mint, so mint's own internal tests cannot use it (its external
// mint_test tests can).
package minttest
