package main

import (
	"errors"

	"github.com/authgw/authgw/accounts/password"
)

// breachedSetting is the setting of the optional breached-password
// check: a directory of Pwned-Passwords-style range files that the
// operator provides. Unset, there is no such check.
const breachedSetting = "breached-passwords"

// resolveBreachedPasswords reads --breached-passwords (or
// AUTHGW_BREACHED_PASSWORDS, or the config file's "breached-passwords")
// and opens the corpus it names: nil when unset. A directory that is
// missing, unreadable or holds no parsable range file is a usage error
// naming the setting, so a typo stops serve at start instead of
// silently turning the check off.
func resolveBreachedPasswords(c *cli, s *settings) (password.BreachedChecker, error) {
	rd, err := resolveSetting(c, s, breachedSetting, nil, func(v string) (*password.RangeDir, error) {
		rd, err := password.NewRangeDir(password.RangeDirConfig{Dir: v})
		if ce, ok := errors.AsType[*password.CorpusError](err); ok {
			// The setting's label already says what it is for.
			return nil, errors.New(ce.Reason)
		}
		return rd, err
	})
	if err != nil || rd == nil {
		return nil, err
	}
	return rd, nil
}
