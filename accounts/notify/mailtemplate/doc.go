// Package mailtemplate is the home of what the accounts service's mails
// say: one embedded template pair per mail (templates/NAME.txt.tmpl,
// rendered with text/template, for the plain-text part, and
// templates/NAME.html.tmpl, rendered with html/template inside the shared
// templates/_layout.html.tmpl, for the HTML part), the product name they
// are signed with, and durations written for people ("10 minutes", not
// "10m0s": see Words).
//
// A Set parses every pair once, at New, and fails there on a broken or
// incomplete one. Set.Render fills a View into a mail and returns a
// notify.Message with Text and HTML, for any notify.Notifier. Adding a
// mail is adding its two files (and a Name constant for its callers): the
// set is whatever templates/ holds.
//
// Each NAME.txt.tmpl defines "subject" (one line, the Subject header) and
// "body". The plain part keeps the lines programs look for: a login code
// on a line "Your login code is: CODE", other codes alone on an indented
// line. The HTML part is escaped by html/template, so a user-controlled
// value (an address, a display name) can never add markup; the plain part
// is not HTML and the subject and address are checked by notify, so
// neither can add a header.
//
// The package never logs; its errors hold template names, never a View's
// values (a code, an address).
package mailtemplate
