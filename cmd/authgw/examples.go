package main

import "embed"

// examplePolicies are the policies serve writes into an empty data
// directory on first start; copies of testdata/policies (a test keeps
// them equal).
//
//go:embed examples/*.json
var examplePolicies embed.FS
