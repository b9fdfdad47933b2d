package main

import (
	"encoding/json"
	"regexp"
	"runtime"
	"runtime/debug"
	"testing"
)

// TestVersionOf reads what a build recorded; what it did not is
// "unknown".
func TestVersionOf(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name        string
		givenInfo   *debug.BuildInfo
		givenOK     bool
		expectBuild buildVersion
	}{
		{name: "go install module@version in a git checkout",
			givenInfo: &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Path: "github.com/authgw/authgw", Version: "v1.4.0"},
				Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0c2f4b4aa1"}, {Key: "vcs.time", Value: "2026-12-06T20:40:00Z"}, {Key: "vcs.modified", Value: "false"}}},
			givenOK:     true,
			expectBuild: buildVersion{Module: "github.com/authgw/authgw", Version: "v1.4.0", Revision: "0c2f4b4aa1", RevisionTime: "2026-12-06T20:40:00Z", GoVersion: "go1.26.1", Platform: platform}},
		{name: "a source tree with changes",
			givenInfo: &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Path: "github.com/authgw/authgw", Version: "(devel)"},
				Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}}},
			givenOK:     true,
			expectBuild: buildVersion{Module: "github.com/authgw/authgw", Version: "(devel)", Revision: "abc", RevisionTime: "unknown", Modified: true, GoVersion: "go1.26.1", Platform: platform}},
		{name: "-buildvcs=false", givenInfo: &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Path: "github.com/authgw/authgw", Version: "(devel)"}},
			givenOK:     true,
			expectBuild: buildVersion{Module: "github.com/authgw/authgw", Version: "(devel)", Revision: "unknown", RevisionTime: "unknown", GoVersion: "go1.26.1", Platform: platform}},
		{name: "no build information", givenOK: false,
			expectBuild: buildVersion{Module: "unknown", Version: "unknown", Revision: "unknown", RevisionTime: "unknown", GoVersion: runtime.Version(), Platform: platform}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionOf(tt.givenInfo, tt.givenOK); got != tt.expectBuild {
				t.Errorf("versionOf = %+v, want %+v", got, tt.expectBuild)
			}
		})
	}
}

// TestVersion runs authgw version on the test binary's own build
// information. A test binary records the Go version but, depending on
// how it is built, neither the main module's version nor a revision:
// the test checks the format, and that what is printed is what the
// binary recorded.
func TestVersion(t *testing.T) {
	want := versionOf(debug.ReadBuildInfo())
	text := mustRun(t, args("version"))
	for _, line := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^module +(\S+)$`),
		regexp.MustCompile(`(?m)^version +(\S+)$`),
		regexp.MustCompile(`(?m)^revision +(unknown|[0-9a-f]{7,64})( \(modified\))?$`),
		regexp.MustCompile(`(?m)^revision time +(\S+)$`),
		regexp.MustCompile(`(?m)^go +(go\S+)$`),
		regexp.MustCompile(`(?m)^platform +(\S+/\S+)$`),
	} {
		if !line.MatchString(text) {
			t.Errorf("authgw version lacks a line matching %s:\n%s", line, text)
		}
	}
	if m := regexp.MustCompile(`(?m)^go +(\S+)$`).FindStringSubmatch(text); m == nil || m[1] != runtime.Version() {
		t.Errorf("go line %v, want %s", m, runtime.Version())
	}
	var got buildVersion
	if err := json.Unmarshal([]byte(mustRun(t, args("version", "--json"))), &got); err != nil || got != want {
		t.Errorf("version --json = %+v %v, want %+v", got, err, want)
	}
	expectResult(t, runCLI(t, args("version", "extra")), exitUsage, nil, []string{`unexpected argument "extra"`})
}
