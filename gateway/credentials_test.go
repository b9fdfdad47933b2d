package gateway_test

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestBcryptBudgetRefills: a source's budget refills at one check a
// second, the instance's at eight; neither beyond its burst.
func TestBcryptBudgetRefills(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	var b gateway.BcryptCache
	for i := range gateway.BcryptBurst {
		if !b.Spend("client 192.0.2.1", t0) {
			t.Fatalf("check %d refused within the burst", i+1)
		}
	}
	if b.Spend("client 192.0.2.1", t0) {
		t.Fatal("a check past the source's burst was allowed")
	}
	if !b.Spend("client 192.0.2.1", t0.Add(time.Second)) || b.Spend("client 192.0.2.1", t0.Add(time.Second)) {
		t.Fatal("after a second the source should have exactly one check")
	}
	if !b.Spend("client 192.0.2.1", t0.Add(time.Hour)) {
		t.Fatal("a source's budget did not refill")
	}

	var all gateway.BcryptCache
	for i := range gateway.BcryptInstanceBurst {
		if !all.Spend("client 198.51.100."+strconv.Itoa(i), t0) {
			t.Fatalf("check %d refused within the instance's burst", i+1)
		}
	}
	if all.Spend("client 203.0.113.1", t0) {
		t.Fatal("a check past the instance's burst was allowed")
	}
	later := t0.Add(time.Second / 8)
	if !all.Spend("client 203.0.113.2", later) || all.Spend("client 203.0.113.3", later) {
		t.Fatal("after an eighth of a second the instance should have exactly one check")
	}
}
