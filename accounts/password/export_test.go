package password

// CommonPasswords is the loaded common-password list (sorted, lower-case).
var CommonPasswords = commonPasswords

// LoadCommonPasswords builds the list from the embedded texts again, for
// the benchmark of the start-up cost.
func LoadCommonPasswords() []string {
	return loadCommonPasswords(commonPasswordsText, commonPasswordsAuthgwText)
}
