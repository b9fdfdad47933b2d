package portal

// signinPages are the pages of a visitor without a session: sign in,
// sign up, forgot password, recover, verify an address, sign out.
var signinPages = []Page{}
