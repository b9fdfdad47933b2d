package policy

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Set is a validated collection of policies with distinct names, such as
// a policies directory. It is safe for concurrent use; it never changes
// after construction.
type Set struct {
	policies []*Policy // sorted by name
}

// NewSet validates the policies as Parse does, so that policies built in
// code are held to the same rules and get their patterns compiled, and
// returns a set holding its own copies of them. It returns a
// *ValidationError listing every problem: an invalid or nil policy, or
// two policies with the same name (naming both files).
func NewSet(policies ...*Policy) (*Set, error) {
	var problems []Problem
	set := &Set{policies: make([]*Policy, 0, len(policies))}
	for i, p := range policies {
		if p == nil {
			problems = append(problems, Problem{Reason: fmt.Sprintf("policy %d is nil", i)})
			continue
		}
		data, err := json.Marshal(p)
		if err != nil {
			problems = append(problems, Problem{File: p.File, Reason: "cannot encode policy: " + err.Error()})
			continue
		}
		clone, err := Parse(p.File, data)
		if ve, ok := errors.AsType[*ValidationError](err); ok {
			problems = append(problems, ve.Problems...)
			continue
		}
		if err != nil {
			problems = append(problems, Problem{File: p.File, Reason: err.Error()})
			continue
		}
		set.policies = append(set.policies, clone)
	}
	slices.SortStableFunc(set.policies, func(a, b *Policy) int { return cmp.Compare(a.Name, b.Name) })
	for i := 1; i < len(set.policies); i++ {
		prev, p := set.policies[i-1], set.policies[i]
		if p.Name == prev.Name {
			problems = append(problems, Problem{
				File:   p.File,
				Path:   "/name",
				Reason: fmt.Sprintf("policy name %q is also used by %s", p.Name, describeFile(prev.File)),
			})
		}
	}
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	return set, nil
}

func describeFile(file string) string {
	if file == "" {
		return "a policy without a file name"
	}
	return file
}

// LoadDir loads every policy file in dir: the files whose names end in
// ".json", in name order, skipping directories and names starting with
// ".". It returns the error of os.ReadDir or os.ReadFile as is when the
// directory or a file cannot be read, and a *ValidationError collecting
// the problems of every file (each naming its file) when any policy is
// invalid, two share a name, or dir holds no policy file.
func LoadDir(dir string) (*Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var (
		problems []Problem
		policies []*Policy
		files    int
	)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		files++
		p, err := LoadFile(filepath.Join(dir, name))
		if ve, ok := errors.AsType[*ValidationError](err); ok {
			problems = append(problems, ve.Problems...)
			continue
		}
		if err != nil {
			return nil, err
		}
		policies = append(policies, p)
	}
	if files == 0 {
		problems = append(problems, Problem{File: dir, Reason: "no policy files (*.json) in the directory"})
	}
	set, err := NewSet(policies...)
	if ve, ok := errors.AsType[*ValidationError](err); ok {
		problems = append(problems, ve.Problems...)
	} else if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	return set, nil
}

// ForRoles returns the policies that apply to a user with the given roles
// (see Policy.AppliesToRoles), in name order. It never errors; a user
// whom no policy applies to gets none.
func (s *Set) ForRoles(roles []string) []*Policy {
	var out []*Policy
	for _, p := range s.policies {
		if p.AppliesToRoles(roles) {
			out = append(out, p)
		}
	}
	return out
}

// All returns every policy of the set, in name order.
func (s *Set) All() []*Policy { return slices.Clone(s.policies) }

// CheckServerID checks every policy's serverId against the configured
// server ID. It returns a *ValidationError with a problem at "/serverId"
// for each policy whose serverId is set and differs from id, and nil
// when there is none.
func (s *Set) CheckServerID(id string) error {
	var problems []Problem
	for _, p := range s.policies {
		if p.ServerID != "" && p.ServerID != id {
			problems = append(problems, Problem{
				File:   p.File,
				Path:   "/serverId",
				Reason: fmt.Sprintf("serverId %q does not match the configured server ID %q", p.ServerID, id),
			})
		}
	}
	if len(problems) > 0 {
		return &ValidationError{Problems: problems}
	}
	return nil
}
