package gateway

// ParseAPIPath exposes parseAPIPath to the black-box tests.
var ParseAPIPath = parseAPIPath
