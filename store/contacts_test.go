package store

import (
	"testing"
)

func TestContacts(t *testing.T) {
	db := openTestDB(t)
	steps := []struct {
		name                         string
		transport, remote, localpart string
		want                         error
	}{
		{"first", "slack", "T1.U1", "t1.u1", nil},
		{"same pair again", "slack", "T1.U1", "t1.u1", nil},
		{"second", "slack", "T1.U2", "alice", nil},
		{"other transport, same IDs", "discord", "T1.U1", "alice", nil},
		{"remote taken", "slack", "T1.U1", "bob", ErrConflict},
		{"localpart taken", "slack", "T1.U3", "alice", ErrConflict},
		{"empty transport", "", "U", "u", ErrInvalid},
		{"empty remote", "slack", "", "u", ErrInvalid},
		{"empty localpart", "slack", "U", "", ErrInvalid},
		{"NUL remote", "slack", "U\x00", "u", ErrInvalid},
		{"NUL localpart", "slack", "U", "\x00u", ErrInvalid},
	}
	for _, s := range steps {
		wantErr(t, "PutContact "+s.name, db.PutContact(s.transport, s.remote, s.localpart), s.want)
	}

	lookups := []struct {
		transport, remote, localpart string
	}{
		{"slack", "T1.U1", "t1.u1"},
		{"slack", "T1.U2", "alice"},
		{"discord", "T1.U1", "alice"},
	}
	for _, l := range lookups {
		if got, err := db.ContactByRemote(l.transport, l.remote); err != nil || got != l.localpart {
			t.Errorf("ContactByRemote(%s, %s) = %q, %v; want %q", l.transport, l.remote, got, err, l.localpart)
		}
		if got, err := db.ContactByLocal(l.transport, l.localpart); err != nil || got != l.remote {
			t.Errorf("ContactByLocal(%s, %s) = %q, %v; want %q", l.transport, l.localpart, got, err, l.remote)
		}
	}
	// The conflicts changed nothing.
	if _, err := db.ContactByLocal("slack", "bob"); !errorsIs(err, ErrNotFound) {
		t.Errorf("ContactByLocal(bob) after conflict: %v, want ErrNotFound", err)
	}
	if _, err := db.ContactByRemote("slack", "T1.U3"); !errorsIs(err, ErrNotFound) {
		t.Errorf("ContactByRemote(T1.U3) after conflict: %v, want ErrNotFound", err)
	}

	// Delete removes both directions; the localpart is then free.
	if err := db.DeleteContact("slack", "T1.U2"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ContactByLocal("slack", "alice"); !errorsIs(err, ErrNotFound) {
		t.Errorf("ContactByLocal after delete: %v", err)
	}
	if err := db.PutContact("slack", "T1.U3", "alice"); err != nil {
		t.Errorf("PutContact of a freed localpart: %v", err)
	}

	errs := []struct {
		name string
		err  error
		want error
	}{
		{"delete missing", db.DeleteContact("slack", "T1.U2"), ErrNotFound},
		{"delete invalid", db.DeleteContact("slack", ""), ErrInvalid},
		{"by remote missing", second(db.ContactByRemote("slack", "nope")), ErrNotFound},
		{"by local missing", second(db.ContactByLocal("slack", "nope")), ErrNotFound},
		{"by remote invalid", second(db.ContactByRemote("", "x")), ErrInvalid},
		{"by local invalid", second(db.ContactByLocal("slack", "a\x00")), ErrInvalid},
	}
	for _, e := range errs {
		wantErr(t, e.name, e.err, e.want)
	}
}

// second returns the error of a two-value call.
func second[T any](_ T, err error) error { return err }
