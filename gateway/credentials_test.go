package gateway_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/authgw/authgw/gateway"
)

func TestBasicCredential(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	long := strings.Repeat("s", 400) // decoded past the 256-byte stack buffer
	tests := []struct {
		name                string
		given               []string
		expectID, expectSec string
		expectHasSecret     bool
		expectFound         bool
		expectOK            bool
	}{
		{name: "id and secret", given: []string{"Basic " + b64("app:s3cret")}, expectID: "app", expectSec: "s3cret", expectHasSecret: true, expectFound: true, expectOK: true},
		{name: "id only", given: []string{"Basic " + b64("app")}, expectID: "app", expectFound: true, expectOK: true},
		{name: "empty secret counts as none", given: []string{"Basic " + b64("app:")}, expectID: "app", expectFound: true, expectOK: true},
		{name: "secret with a colon", given: []string{"Basic " + b64("app:a:b")}, expectID: "app", expectSec: "a:b", expectHasSecret: true, expectFound: true, expectOK: true},
		{name: "long secret", given: []string{"Basic " + b64("app:"+long)}, expectID: "app", expectSec: long, expectHasSecret: true, expectFound: true, expectOK: true},
		{name: "scheme in lower case, with a macaroon", given: []string{"basic " + b64("app:x") + ", Macaroon abc"}, expectID: "app", expectSec: "x", expectHasSecret: true, expectFound: true, expectOK: true},
		{name: "macaroon only", given: []string{"Macaroon abc"}, expectOK: true},
		{name: "no header", expectOK: true},
		{name: "empty id", given: []string{"Basic " + b64(":s3cret")}, expectFound: false, expectOK: false},
		{name: "not base64", given: []string{"Basic !!!"}, expectOK: false},
		{name: "two Basic credentials in one header", given: []string{"Basic " + b64("a:1") + ", Basic " + b64("b:2")}, expectOK: false},
		{name: "two Basic credentials in two headers", given: []string{"Basic " + b64("a:1"), "Basic " + b64("b:2")}, expectOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, sec, hasSecret, found, ok := gateway.BasicCredential(tt.given)
			if ok != tt.expectOK || (ok && (id != tt.expectID || sec != tt.expectSec || hasSecret != tt.expectHasSecret || found != tt.expectFound)) {
				t.Errorf("got id %q secret %q hasSecret %v found %v ok %v", id, sec, hasSecret, found, ok)
			}
		})
	}
}
