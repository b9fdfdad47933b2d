package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestExamplePoliciesMatchTestdata keeps the example policies that serve
// writes on first start identical to testdata/policies, which the tests
// of the other packages use: go:embed cannot reach testdata from here.
func TestExamplePoliciesMatchTestdata(t *testing.T) {
	want, err := filepath.Glob("../../testdata/policies/*.json")
	if err != nil || len(want) == 0 {
		t.Fatalf("no testdata policies: %v", err)
	}
	entries, err := examplePolicies.ReadDir("examples")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Fatalf("%d embedded example policies, %d in testdata/policies", len(entries), len(want))
	}
	for _, path := range want {
		name := filepath.Base(path)
		testdata, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		embedded, err := examplePolicies.ReadFile("examples/" + name)
		if err != nil {
			t.Fatalf("%s is in testdata/policies but not embedded: %v", name, err)
		}
		if !bytes.Equal(testdata, embedded) {
			t.Errorf("cmd/authgw/examples/%s differs from testdata/policies/%s: copy it again", name, name)
		}
	}
}
