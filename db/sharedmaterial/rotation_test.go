package sharedmaterial_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/db/sharedmaterial"
)

// rotating is an instance whose request-info key file holds the signing
// key of byte sign and the previous key of byte prev (0: none).
func rotating(sign, prev byte) []sharedmaterial.Material {
	var prevDER []byte
	if prev != 0 {
		prevDER = secret(prev)
	}
	return append(instance("srv", sign, nil, ring(tokenKey("k1", 0x11))), sharedmaterial.PreviousInfoKeyMaterial(prevDER, "--info-key"))
}

// TestCheck_infoKeyRotation: a rotation of the request-info key is
// recorded by the first instance that starts with it, without
// --replace-shared-material; an instance still on the old key is then
// refused; dropping the previous key is recorded too, after which an
// instance still publishing it is refused. Older instances (no
// PreviousInfoKey held) are compared on the signing key as before. A
// rotation never goes back, and an unrelated key is still refused.
func TestCheck_infoKeyRotation(t *testing.T) {
	steps := []step{
		{name: "an instance of an older release records", givenHeld: instance("srv", 1, nil, ring(tokenKey("k1", 0x11))),
			expectNew: []string{"server-id", "info-key", "key:k1"}},
		{name: "the upgraded instance records its previous key: none", givenHeld: rotating(1, 0), expectNew: []string{"info-key-previous"}},
		{name: "a new key whose previous is not the recorded key is refused", givenHeld: rotating(3, 2),
			expectErr: &sharedmaterial.DiffersError{}, expectSetting: "--info-key"},
		{name: "a rotation is recorded", givenHeld: rotating(2, 1), expectNew: []string{"info-key", "info-key-previous"}},
		{name: "the rotated material starts again", givenHeld: rotating(2, 1)},
		{name: "an instance still on the old key is refused", givenHeld: rotating(1, 0),
			expectErr: &sharedmaterial.DiffersError{}, expectSetting: "--info-key"},
		{name: "an older release still on the old key is refused", givenHeld: instance("srv", 1, nil, ring(tokenKey("k1", 0x11))),
			expectErr: &sharedmaterial.DiffersError{}, expectSetting: "--info-key"},
		{name: "an older release with the new key starts", givenHeld: instance("srv", 2, nil, ring(tokenKey("k1", 0x11)))},
		{name: "rotating again before dropping is refused", givenHeld: rotating(3, 2),
			expectErr: &sharedmaterial.DiffersError{}, expectSetting: "--info-key"},
		{name: "dropping the previous key is recorded", givenHeld: rotating(2, 0), expectNew: []string{"info-key-previous"}},
		{name: "an instance still publishing the dropped key is refused", givenHeld: rotating(2, 1),
			expectErr: &sharedmaterial.DiffersError{}, expectSetting: "--info-key"},
		{name: "the next rotation is recorded", givenHeld: rotating(3, 2), expectNew: []string{"info-key", "info-key-previous"}},
		{name: "going back to the key before is refused", givenHeld: rotating(2, 0),
			expectErr: &sharedmaterial.DiffersError{}, expectSetting: "--info-key"},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		for _, st := range steps {
			recorded, err := sharedmaterial.Check(ctx, d, st.givenHeld, fixedNow)
			expectRefusal(t, st.name, err, st.expectErr, st.expectSetting, st.expectKeyID)
			if st.expectErr != nil {
				continue
			}
			var names []string
			for _, f := range recorded {
				names = append(names, f.Name)
			}
			if strings.Join(names, ",") != strings.Join(st.expectNew, ",") {
				t.Fatalf("%s: recorded %v, want %v", st.name, names, st.expectNew)
			}
		}
	})
}

// TestCheck_infoKeyRotationConcurrentStarts: instances starting together
// with the rotated file all start (one records the rotation in one
// transaction, the others find it done), the old file is refused after
// them, and the record says the rotation.
func TestCheck_infoKeyRotationConcurrentStarts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := sharedmaterial.Check(ctx, d, rotating(1, 0), fixedNow); err != nil {
			t.Fatal(err)
		}
		const n = 8
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := sharedmaterial.Check(ctx, d, rotating(2, 1), fixedNow)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("an instance with the rotated file: %v", err)
			}
		}
		if _, err := sharedmaterial.Check(ctx, d, rotating(1, 0), fixedNow); !errors.Is(err, sharedmaterial.ErrNotShared) {
			t.Fatalf("the old file after the rotation: %v", err)
		}
		rec, err := d.SharedMaterial(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rec["info-key"].Value != sharedmaterial.Fingerprint("info-key", secret(2)) ||
			rec["info-key-previous"].Value != sharedmaterial.Fingerprint("info-key-previous", secret(1)) {
			t.Fatal("the record does not say the rotation")
		}
	})
}
