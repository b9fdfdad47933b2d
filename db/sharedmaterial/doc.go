// Package sharedmaterial is the home of the shared-material rule: the
// instances on one database must hold the same key material, the server
// ID (a token names it), the token key ring (it signs tokens), the TOTP
// key ring (it seals the users' TOTP secrets, stored in the database) and
// the request-info key (backends verify the X-Auth-Info it signs). An
// instance that made its own at first start would refuse the others'
// tokens and could not open their TOTP secrets.
//
// So the database keeps a fingerprint of each (table shared_material,
// through the three store methods of Store): the first instance records
// them, and every start compares its own before it serves (Check). A
// fingerprint is an HMAC-SHA256 keyed with the material, of a fixed label
// naming it: it tells whether two instances hold the same material and
// reveals nothing of it. An instance whose material differs is refused
// with a DiffersError naming the setting it came from; one that has none
// of its own yet (an empty data directory) is refused by Missing before
// it generates any.
//
// Key rings are compared key by key (by key ID), so that a rotation
// works: an instance started with a ring that adds a new key records the
// new key's fingerprint; a ring without an old key is fine. Refused are a
// key ID whose secret differs from the one recorded (DiffersError), and a
// ring that shares no key with the record (NoSharedKeyError): it could
// verify none of the others' tokens, or open none of the stored TOTP
// secrets.
//
// Replace records an instance's material in place of the recorded one,
// after a deliberate change (authgw serve --replace-shared-material).
//
// The caller gives the material as plain bytes, each with the setting it
// came from (Material); the package knows nothing of files, flags or the
// key ring types. Every refusal wraps ErrNotShared; the program turns it
// into its one line, adding how to share the material (the README's
// "What the instances share").
package sharedmaterial
