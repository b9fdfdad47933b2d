// Package requestinfotest is the home of the test fixtures shared by the
// request-info reader (verifier/requestinfo) and the gateway's signer
// (gateway/infosign): a settable clock, stable test keys, a sample
// identity, the gateway's signer to write tokens with, and the decoding
// of a token's parts for assertions. It is for tests only.
package requestinfotest
