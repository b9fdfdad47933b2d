package main

import (
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
)

const versionUsage = `Usage: authgw version [--json]

Prints what this binary was built from: the module path and version
("(devel)" for a build from a source tree rather than "go install
module@version"), the VCS revision, its commit time and whether the tree
had uncommitted changes (recorded by go build in a git checkout;
"unknown" when the build recorded none, as with -buildvcs=false), the Go
version, and the platform.

Flags:
  --json    print JSON: {"module","version","revision","revisionTime",
            "modified","goVersion","platform"}

Exit status: 0 done, 2 usage error.
`

// versionCommand is "authgw version".
type versionCommand struct {
	json bool
	// readBuildInfo is debug.ReadBuildInfo; tests give their own.
	readBuildInfo func() (*debug.BuildInfo, bool)
}

func (v *versionCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("version")
	fs.BoolVar(&v.json, "json", false, "print JSON")
	return fs
}

// buildVersion is what version prints.
type buildVersion struct {
	Module       string `json:"module"`
	Version      string `json:"version"`
	Revision     string `json:"revision"`
	RevisionTime string `json:"revisionTime"`
	Modified     bool   `json:"modified"`
	GoVersion    string `json:"goVersion"`
	Platform     string `json:"platform"`
}

// versionOf reads a build's module, version and VCS settings; what the
// build did not record is "unknown". The Go version is the one the
// binary was built with.
func versionOf(bi *debug.BuildInfo, ok bool) buildVersion {
	v := buildVersion{Module: "unknown", Version: "unknown", Revision: "unknown", RevisionTime: "unknown",
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if !ok || bi == nil {
		return v
	}
	if bi.Main.Path != "" {
		v.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.RevisionTime = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// run prints the version.
func (v *versionCommand) run(c *cli, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	read := v.readBuildInfo
	if read == nil {
		read = debug.ReadBuildInfo
	}
	out := versionOf(read())
	if v.json {
		return printJSON(c.stdout, out)
	}
	revision := out.Revision
	if out.Modified {
		revision += " (modified)"
	}
	tw := newTable(c.stdout)
	fmt.Fprintf(tw, "module\t%s\n", out.Module)
	fmt.Fprintf(tw, "version\t%s\n", out.Version)
	fmt.Fprintf(tw, "revision\t%s\n", revision)
	fmt.Fprintf(tw, "revision time\t%s\n", out.RevisionTime)
	fmt.Fprintf(tw, "go\t%s\n", out.GoVersion)
	fmt.Fprintf(tw, "platform\t%s\n", out.Platform)
	return tw.Flush()
}
