// Package notify sends the accounts service's emails, such as login codes
// and email-verification codes, as plain-text messages with an optional
// HTML alternative.
//
// A Notifier takes a Message (one recipient, a subject, a UTF-8 text
// body and optionally an HTML body) and delivers it. Two implementations
// share one message writer:
//
//   - SMTP hands each message to a mail server over a fresh connection
//     (smtp:// with STARTTLS, or smtps:// with implicit TLS), and never
//     sends a password in clear text.
//   - File writes each message as an .eml file into a directory, for
//     development, tests and pick-up by another process.
//
// Both write the same RFC 5322 message: From, To, Subject (an RFC 2047
// encoded-word when it is not ASCII), Date, Message-ID, MIME-Version and a
// text/plain; charset=utf-8 body in quoted-printable, with CRLF line
// endings; a Message with HTML becomes multipart/alternative, the same
// text/plain part first and a quoted-printable text/html part second,
// under a random boundary starting "=_", which quoted-printable text can
// never contain. The Date header, Message-ID and boundary come from an
// injected clock and random source. What a mail says is not this
// package's business: the accounts service's mails are written by
// package accounts/notify/mailtemplate.
//
// Every Message is validated before anything is sent or written: an
// invalid one fails with an error wrapping ErrInvalidMessage, which keeps
// header injection (a CR or LF smuggled into To or Subject) out. A valid
// message that the mail server (or the disk) could not take fails with an
// error wrapping ErrUnavailable, which callers answer with 503; only a
// failing random source gives a plain error. The package never logs, and
// its errors never contain a message body (and thus never a code) or a
// password.
package notify
