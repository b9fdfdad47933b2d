// Package wire is the home of authgw's token byte layouts, at the level
// of bytes and offsets: the macaroon V2 binary splitter (SplitV2), the
// lenient base64 decoder (AppendBase64) and the identifier layout
// (AppendIdentifier, ParseIdentifier).
//
// It is low level on purpose: every function works on caller-provided
// buffers and does not allocate, so that the verifier's request path
// stays allocation-free. Nothing it returns is verified: a split token
// is named UnsafeToken until its signature has been checked. Library
// users want package mint (Identifier, Decode, Encode, Attenuate)
// instead; package verifier is this package's main user.
package wire
