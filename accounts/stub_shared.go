package accounts

import "errors"

var errNotBuilt = errors.New("not built")
