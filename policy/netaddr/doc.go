// Package netaddr is the home of authgw's IP range grammar: how an IP
// address or CIDR written by a person (a setting, a client restriction,
// an ip caveat, an attenuate flag) is read. It is the one parser of IP
// ranges in authgw; it uses only the standard library, so every package
// (mint/caveat, verifier, gateway, accounts, cmd) can import it.
//
// The rule, for every caller:
//   - a range is a CIDR ("10.0.0.0/8", "2001:db8::/32") or a single
//     address, which stands for its full-length prefix (/32 or /128);
//   - an IPv6 zone ("fe80::1%eth0") is refused: a zone cannot be matched;
//   - the prefix length is decimal, from 0 to the address's bit length;
//   - host bits set ("10.0.0.1/8") are refused with a *HostBitsError
//     that carries the masked prefix. ParseRange, for ranges that are
//     settings or stored data, takes that masked prefix instead, so
//     values accepted before keep their meaning;
//   - client addresses are compared unmapped (::ffff:10.0.0.1 is
//     10.0.0.1), so ParseRange and Unmap turn an IPv4-mapped prefix of
//     /96 or longer into its IPv4 form (::ffff:10.0.0.0/104 is
//     10.0.0.0/8) and refuse a shorter one, which would match no client.
//
// ParsePrefix reads a range exactly as written, for the ip caveat: a
// signed caveat must mean what it says, so host bits are refused and an
// IPv4-mapped prefix stays as written (and matches no unmapped address).
package netaddr
