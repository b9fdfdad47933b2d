// Package notifytest is the home of what tests use to read the messages
// the file notifier (accounts/notify) writes: one .eml file, parsed, its
// plain-text body (or the plain and HTML parts of a multipart/alternative
// message) decoded. It is imported by tests only.
package notifytest
