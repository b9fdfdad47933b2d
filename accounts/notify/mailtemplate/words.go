package mailtemplate

import (
	"time"

	"github.com/authgw/authgw/accounts/ui"
)

// Words says d in words, as the pages do: "10 minutes", "1 hour",
// "1 hour and 30 minutes". Every user-facing string has one home, the
// message catalogue of package accounts/ui (a translation is one file), so
// the mails take their durations from it rather than from rules of their
// own.
func Words(d time.Duration) string { return ui.English().Duration(d) }
