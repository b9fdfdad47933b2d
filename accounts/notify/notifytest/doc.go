// Package notifytest is the home of what tests use to read the messages
// the file notifier (accounts/notify) writes: one .eml file, parsed and
// its quoted-printable body decoded. It is imported by tests only.
package notifytest
