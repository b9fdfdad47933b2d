package mailtemplate

// Parse exposes parse, to test broken template directories.
var Parse = parse
