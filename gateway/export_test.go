package gateway

// ParseAPIPath exposes parseAPIPath to the black-box tests.
var ParseAPIPath = parseAPIPath

// BasicCredential exposes basicCredential to the black-box tests.
var BasicCredential = basicCredential
