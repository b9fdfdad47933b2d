package portal

// settingsPages are the account pages of a signed-in user.
var settingsPages = []Page{}
