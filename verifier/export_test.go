package verifier

// SameOrigin exposes sameOrigin to the black-box tests.
var SameOrigin = sameOrigin
