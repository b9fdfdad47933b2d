package policytest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/authgw/authgw/policy"
)

// Parse parses the policy src as the file "inline.json", failing t when
// it is not valid.
func Parse(t testing.TB, src string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse("inline.json", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// SeedFiles returns the content of every file in the seed corpus
// testdata/fuzz/name at the repository's root: one seed per plain file
// (not Go's corpus format), so that seeds can be read and written by
// hand. It fails f when the corpus cannot be read or is empty.
func SeedFiles(f *testing.F, name string) [][]byte {
	f.Helper()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		f.Fatal("seed corpus: cannot locate the repository")
	}
	dir := filepath.Join(filepath.Dir(self), "..", "..", "testdata", "fuzz", name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		f.Fatalf("seed corpus: %v", err)
	}
	var out [][]byte
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, data)
	}
	if len(out) == 0 {
		f.Fatalf("seed corpus %s is empty", dir)
	}
	return out
}
