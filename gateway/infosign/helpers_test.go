package infosign_test

import (
	"encoding/base64"
	"strconv"

	"github.com/authgw/authgw/verifier/requestinfo/requestinfotest"
)

// The shared fixtures, under the short names these tests use.
var (
	newSigner = requestinfotest.NewSigner
	sign      = requestinfotest.Sign
)

var enc = base64.RawURLEncoding

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
