//go:build race

package e2e

// raceEnabled says the test binary runs with the race detector, so the
// authgw binary under test is built with it too.
const raceEnabled = true
