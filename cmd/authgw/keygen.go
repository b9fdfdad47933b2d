package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/secretfile"
)

const keygenUsage = `Usage: authgw keygen --id ID [--add FILE] [--out FILE]

Prints a key ring (JSON) holding a new random 32-byte master key named ID.
With --add, prints FILE's ring with the new key first: it mints from now
on, and the older keys keep verifying the tokens they minted. To retire a
key later, delete it from the file.

The output holds secrets: keep it in a file only its owner can read.

Flags:
  --id ID      the new key's ID, 1 to 64 of [A-Za-z0-9._-] (required)
  --add FILE   an existing key-ring file to add the new key to
  --out FILE   write the ring to FILE (mode 0600, replaced atomically)
               instead of standard output; may be the --add FILE itself.
               Do not redirect the output onto the --add FILE with ">":
               the shell empties the file before it is read.
`

// keygenCommand is "authgw keygen".
type keygenCommand struct {
	id, add, out string
}

// flagSet defines keygen's flags.
func (k *keygenCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("keygen")
	fs.StringVar(&k.id, "id", "", "key ID")
	fs.StringVar(&k.add, "add", "", "key-ring file to add to")
	fs.StringVar(&k.out, "out", "", "output file")
	return fs
}

// run prints (or writes) the new ring. It fails when --id is missing or
// invalid or already in the --add ring, or the --add file is not a ring.
func (k *keygenCommand) run(c *cli, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	if k.id == "" {
		return usagef("--id is required")
	}
	var (
		ring *mint.KeyRing
		err  error
	)
	if k.add != "" {
		old, lerr := mint.LoadKeyRing(k.add)
		if lerr != nil {
			return fmt.Errorf("--add: %w", lerr)
		}
		ring, err = old.WithNewKey(k.id, c.random)
	} else {
		ring, err = mint.GenerateKeyRing(k.id, c.random)
	}
	if err != nil {
		return fmt.Errorf("--id: %w", err)
	}
	data, err := ring.MarshalJSON()
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if k.out == "" {
		_, err = c.stdout.Write(data)
		return err
	}
	if err := secretfile.Replace(k.out, data); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	fmt.Fprintf(c.stdout, "wrote key ring %s: keys %s, %s mints\n", k.out, strings.Join(ring.IDs(), " "), ring.PrimaryID())
	return nil
}
