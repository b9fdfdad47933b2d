package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/authgw/authgw/policy"
)

const policyCheckUsage = `Usage: authgw policy check FILE|DIR...

Validates policy files against the schema and the rules of the route-
pattern language. A directory is checked as authgw serve loads it: every
*.json file in it (names starting with "." skipped), and no two policies
with the same name. Policy files named on the command line are also
checked for names they share.

Prints one line per problem, "FILE: PATH: REASON" (PATH is a JSON pointer
such as /scopes/0/routes/1, left out for problems with the whole file),
and "ok FILE" for each valid file. Exits 1 when any problem was found.
`

// policyCheckCommand is "authgw policy check".
type policyCheckCommand struct{}

// flagSet defines policy check's flags: none but --help.
func (p *policyCheckCommand) flagSet() *flag.FlagSet { return newFlagSet("policy check") }

// checkedFile is the outcome of checking one policy file.
type checkedFile struct {
	file     string
	policy   *policy.Policy // nil when invalid
	problems []string
}

// run checks every argument in order, then prints the results. It
// reports errReported after a summary line when any problem was found.
func (p *policyCheckCommand) run(c *cli, args []string) error {
	if len(args) == 0 {
		return usagef("missing FILE (policy files or directories to check)")
	}
	var results []*checkedFile
	var named []*checkedFile // files named directly, for the name check
	for _, arg := range args {
		if info, err := os.Stat(arg); err == nil && info.IsDir() {
			results = append(results, checkPolicyDir(arg)...)
			continue
		}
		r := checkPolicyFile(arg)
		results = append(results, r)
		named = append(named, r)
	}
	checkNamesAcross(named)

	problems, bad := 0, 0
	for _, r := range results {
		if len(r.problems) == 0 {
			fmt.Fprintf(c.stdout, "ok %s\n", r.file)
			continue
		}
		bad++
		problems += len(r.problems)
		for _, line := range r.problems {
			fmt.Fprintln(c.stdout, line)
		}
	}
	if problems == 0 {
		return nil
	}
	fmt.Fprintf(c.stderr, "authgw: policy check: %s in %s\n", plural(problems, "problem"), plural(bad, "file"))
	return errReported
}

// checkPolicyFile loads one file with policy.LoadFile.
func checkPolicyFile(file string) *checkedFile {
	r := &checkedFile{file: file}
	pol, err := policy.LoadFile(file)
	if ve, ok := errors.AsType[*policy.ValidationError](err); ok {
		for _, pr := range ve.Problems {
			r.problems = append(r.problems, pr.String())
		}
		return r
	}
	if err != nil {
		r.problems = append(r.problems, fmt.Sprintf("%s: %v", file, err))
		return r
	}
	r.policy = pol
	return r
}

// checkPolicyDir checks a directory with policy.LoadDir and sorts its
// problems by the file they name, in the directory's order. Problems with
// the directory itself come last, under the directory's name.
func checkPolicyDir(dir string) []*checkedFile {
	_, err := policy.LoadDir(dir)
	entries, rerr := os.ReadDir(dir)
	if rerr != nil {
		return []*checkedFile{{file: dir, problems: []string{fmt.Sprintf("%s: %v", dir, rerr)}}}
	}
	var results []*checkedFile
	byFile := map[string]*checkedFile{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		r := &checkedFile{file: filepath.Join(dir, name)}
		results = append(results, r)
		byFile[r.file] = r
	}
	dirResult := &checkedFile{file: dir}
	ve, isValidation := errors.AsType[*policy.ValidationError](err)
	switch {
	case isValidation:
		for _, pr := range ve.Problems {
			r := byFile[pr.File]
			if r == nil {
				r = dirResult
			}
			r.problems = append(r.problems, pr.String())
		}
	case err != nil:
		// LoadDir stopped at a file it could not read: check each file
		// on its own so that every one still gets its verdict.
		for i, r := range results {
			results[i] = checkPolicyFile(r.file)
		}
		checkNamesAcross(results)
	}
	if len(dirResult.problems) > 0 {
		results = append(results, dirResult)
	}
	return results
}

// checkNamesAcross adds a problem to each valid file whose policy name an
// earlier file already uses, as policy.NewSet does for a directory.
func checkNamesAcross(files []*checkedFile) {
	first := map[string]string{}
	for _, r := range files {
		if r.policy == nil {
			continue
		}
		prev, dup := first[r.policy.Name]
		if !dup {
			first[r.policy.Name] = r.file
			continue
		}
		if prev != r.file { // the same file named twice is no conflict
			r.problems = append(r.problems, policy.Problem{
				File:   r.file,
				Path:   "/name",
				Reason: fmt.Sprintf("policy name %q is also used by %s", r.policy.Name, prev),
			}.String())
		}
	}
}

// plural formats a count with its noun, "1 file", "2 files".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
