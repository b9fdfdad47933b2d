package main

import (
	"testing"

	"github.com/authgw/authgw/gateway/gatewaytest"
)

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	return gatewaytest.FreeAddr(t)
}
