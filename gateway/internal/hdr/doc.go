// Package hdr matches HTTP header names the way the servers behind a
// gateway may read them.
package hdr
