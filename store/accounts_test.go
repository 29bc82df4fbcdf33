package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func TestAccounts(t *testing.T) {
	db := openTestDB(t)
	clock := &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	db.now = clock.now

	put := []Account{
		{AccountKey: AccountKey{"bob@example.org", "slack", "T1.U9"}},
		{AccountKey: AccountKey{"alice@example.org", "slack", "T2.U1"}, Secrets: map[string]string{"token": "xoxp-alice-2"}},
		{
			AccountKey: AccountKey{"alice@example.org", "slack", "T1.U1"},
			Settings:   map[string]string{"team": "T1", "name": "Acme"},
			Secrets:    map[string]string{"token": "xoxp-alice-1", "cookie": "d=abc"},
			Disabled:   true,
			LastError:  "invalid_auth",
		},
		{AccountKey: AccountKey{"alice@example.org.uk", "slack", "T1.U1"}}, // user is a prefix-extension
		{AccountKey: AccountKey{"alice@example.org", "slack2", "T1.U1"}},   // transport too
		{AccountKey: AccountKey{"alice@example.org", "discord", "123"}},
	}
	for _, a := range put {
		if err := db.PutAccount(a); err != nil {
			t.Fatalf("PutAccount(%v): %v", a.AccountKey, err)
		}
	}

	got, err := db.GetAccount(AccountKey{"alice@example.org", "slack", "T1.U1"})
	if err != nil {
		t.Fatal(err)
	}
	want := put[2]
	want.Created, want.Updated = clock.now(), clock.now()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetAccount = %#v\nwant %#v", got.Secrets, want.Secrets)
		t.Errorf("GetAccount = %+v\nwant %+v", got, want)
	}

	// Replace: Created stays, Updated moves, caller's times are ignored.
	later := clock.now().Add(time.Hour)
	clock.set(later)
	repl := want
	repl.Disabled, repl.LastError = false, ""
	repl.Created = time.Unix(1, 0)
	repl.Secrets = map[string]string{"token": "xoxp-new"}
	if err := db.PutAccount(repl); err != nil {
		t.Fatal(err)
	}
	got, err = db.GetAccount(repl.AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Created.Equal(want.Created) || !got.Updated.Equal(later) || got.Disabled || got.Secrets["token"] != "xoxp-new" || len(got.Secrets) != 1 {
		t.Errorf("after replace: %+v (created %v, updated %v)", got, got.Created, got.Updated)
	}

	keys := func(as []Account) string {
		var s []string
		for _, a := range as {
			s = append(s, a.User+" "+a.Remote)
		}
		return strings.Join(s, ", ")
	}
	userAccounts, err := db.UserAccounts("slack", "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keys(userAccounts), "alice@example.org T1.U1, alice@example.org T2.U1"; got != want {
		t.Errorf("UserAccounts = %s; want %s", got, want)
	}
	if userAccounts[1].Secrets["token"] != "xoxp-alice-2" {
		t.Errorf("UserAccounts did not decrypt secrets: %v", userAccounts[1])
	}
	all, err := db.Accounts("slack")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keys(all), "alice@example.org T1.U1, alice@example.org T2.U1, alice@example.org.uk T1.U1, bob@example.org T1.U9"; got != want {
		t.Errorf("Accounts = %s; want %s", got, want)
	}
	if none, err := db.Accounts("sms"); err != nil || len(none) != 0 {
		t.Errorf("Accounts(sms) = %v, %v", none, err)
	}

	if err := db.DeleteAccount(AccountKey{"bob@example.org", "slack", "T1.U9"}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "GetAccount deleted", func() error {
		_, err := db.GetAccount(AccountKey{"bob@example.org", "slack", "T1.U9"})
		return err
	}(), ErrNotFound)
}

func TestAccountErrors(t *testing.T) {
	db := openTestDB(t)
	ok := AccountKey{"a@x", "slack", "T1"}
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"put empty user", func() error { return db.PutAccount(Account{AccountKey: AccountKey{"", "slack", "T1"}}) }, ErrInvalid},
		{"put empty transport", func() error { return db.PutAccount(Account{AccountKey: AccountKey{"a@x", "", "T1"}}) }, ErrInvalid},
		{"put empty remote", func() error { return db.PutAccount(Account{AccountKey: AccountKey{"a@x", "slack", ""}}) }, ErrInvalid},
		{"put NUL in user", func() error { return db.PutAccount(Account{AccountKey: AccountKey{"a\x00@x", "slack", "T1"}}) }, ErrInvalid},
		{"put NUL in remote", func() error { return db.PutAccount(Account{AccountKey: AccountKey{"a@x", "slack", "T\x001"}}) }, ErrInvalid},
		{"put empty secret name", func() error { return db.PutAccount(Account{AccountKey: ok, Secrets: map[string]string{"": "x"}}) }, ErrInvalid},
		{"put NUL secret name", func() error { return db.PutAccount(Account{AccountKey: ok, Secrets: map[string]string{"a\x00": "x"}}) }, ErrInvalid},
		{"get missing", func() error { _, err := db.GetAccount(ok); return err }, ErrNotFound},
		{"get invalid", func() error { _, err := db.GetAccount(AccountKey{}); return err }, ErrInvalid},
		{"delete missing", func() error { return db.DeleteAccount(ok) }, ErrNotFound},
		{"delete invalid", func() error { return db.DeleteAccount(AccountKey{"a@x", "slack", "\x00"}) }, ErrInvalid},
		{"user accounts invalid", func() error { _, err := db.UserAccounts("", "a@x"); return err }, ErrInvalid},
		{"accounts invalid", func() error { _, err := db.Accounts("a\x00"); return err }, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.name, tt.call(), tt.want)
		})
	}
	if err := db.PutAccount(Account{AccountKey: AccountKey{"a\x00@x", "slack", "T1"}}); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Errorf("NUL error %v does not say NUL", err)
	}
}

const secretToken = "xoxb-SECRET-TOKEN-8c2f1d9e77a04b6b"

func TestAccountNeverPrintsSecrets(t *testing.T) {
	a := Account{
		AccountKey: AccountKey{"alice@example.org", "slack", "T1.U1"},
		Settings:   map[string]string{"team": "T1"},
		Secrets:    map[string]string{"token": secretToken},
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "account", a)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "account", &a)
	outputs := []string{a.String(), a.GoString(), logged.String(), fmt.Sprint([]Account{a})}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		outputs = append(outputs, fmt.Sprintf(verb, a), fmt.Sprintf(verb, &a))
	}
	for _, out := range outputs {
		if strings.Contains(out, secretToken) || strings.Contains(out, fmt.Sprintf("%x", secretToken)) {
			t.Errorf("output reveals the secret: %s", out)
		}
		if !strings.Contains(out, "token") || !strings.Contains(out, "T1.U1") {
			t.Errorf("output lacks the secret's name or the account: %s", out)
		}
	}
}

func TestSecretsNotInFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xgate.db")
	db := openTestDBAt(t, path, true)
	const kvSecret = "kv-SECRET-VALUE-51d0c3"
	a := Account{
		AccountKey: AccountKey{"alice@example.org", "slack", "T1.U1"},
		Settings:   map[string]string{"team": "plain-setting-visible"},
		Secrets:    map[string]string{"token": secretToken},
	}
	if err := db.PutAccount(a); err != nil {
		t.Fatal(err)
	}
	if err := db.KVPutSecret("oauth", "refresh", []byte(kvSecret)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("plain-setting-visible")) {
		t.Fatal("plain setting not found in the file: the grep below proves nothing")
	}
	for _, s := range []string{secretToken, kvSecret, "SECRET"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("file contains %q in plain text", s)
		}
	}
	// Backups are the same bytes; check one too.
	db2 := openTestDBAt(t, path, true)
	var buf bytes.Buffer
	if _, err := db2.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("SECRET")) {
		t.Error("backup contains a secret in plain text")
	}
}

func TestSwappedCiphertextFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xgate.db")
	db, err := Open(path, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	alice := AccountKey{"alice@example.org", "slack", "T1.U1"}
	bob := AccountKey{"bob@example.org", "slack", "T1.U2"}
	for _, a := range []Account{
		{AccountKey: alice, Secrets: map[string]string{"token": "alice-token", "cookie": "alice-cookie"}},
		{AccountKey: bob, Secrets: map[string]string{"token": "bob-token"}},
	} {
		if err := db.PutAccount(a); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.KVPutSecret("ns", "a", []byte("A")); err != nil {
		t.Fatal(err)
	}
	if err := db.KVPutSecret("ns", "b", []byte("B")); err != nil {
		t.Fatal(err)
	}
	db.Close()

	type rec = map[string]json.RawMessage
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte(bucketAccounts))
		var ra, rb rec
		json.Unmarshal(b.Get(alice.key()), &ra)
		json.Unmarshal(b.Get(bob.key()), &rb)
		ra["secrets"], rb["secrets"] = rb["secrets"], ra["secrets"]
		va, _ := json.Marshal(ra)
		vb, _ := json.Marshal(rb)
		if err := b.Put(alice.key(), va); err != nil {
			return err
		}
		if err := b.Put(bob.key(), vb); err != nil {
			return err
		}
		kv := tx.Bucket([]byte(bucketKVSecret))
		sa, sb := clone(kv.Get(joinKey("ns", "a"))), clone(kv.Get(joinKey("ns", "b")))
		if err := kv.Put(joinKey("ns", "a"), sb); err != nil {
			return err
		}
		return kv.Put(joinKey("ns", "b"), sa)
	})

	db = openTestDBAt(t, path, false)
	for _, k := range []AccountKey{alice, bob} {
		if _, err := db.GetAccount(k); !errorsIs(err, ErrCorrupt) {
			t.Errorf("GetAccount(%v) with swapped ciphertext: %v, want ErrCorrupt", k, err)
		}
	}
	if _, err := db.KVGetSecret("ns", "a"); !errorsIs(err, ErrCorrupt) {
		t.Errorf("KVGetSecret with swapped ciphertext: %v, want ErrCorrupt", err)
	}
	if err := db.Verify(); !errorsIs(err, ErrCorrupt) || !strings.Contains(err.Error(), "does not decrypt") {
		t.Errorf("Verify: %v, want a decrypt failure", err)
	}
}

func TestSwappedSecretNamesFail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "xgate.db")
	db, err := Open(path, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	k := AccountKey{"alice@example.org", "slack", "T1.U1"}
	if err := db.PutAccount(Account{AccountKey: k, Secrets: map[string]string{"token": "t", "cookie": "c"}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	rawUpdate(t, path, func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte(bucketAccounts))
		var r accountRecord
		if err := json.Unmarshal(b.Get(k.key()), &r); err != nil {
			return err
		}
		r.Secrets["token"], r.Secrets["cookie"] = r.Secrets["cookie"], r.Secrets["token"]
		v, _ := json.Marshal(r)
		return b.Put(k.key(), v)
	})
	db = openTestDBAt(t, path, false)
	if _, err := db.GetAccount(k); !errorsIs(err, ErrCorrupt) {
		t.Errorf("GetAccount with swapped secret fields: %v, want ErrCorrupt", err)
	}
}
