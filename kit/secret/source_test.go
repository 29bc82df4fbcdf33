package secret

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const value = "s3cr3t-value"

func writeFile(t *testing.T, name, content string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil { // umask may have cut perm
		t.Fatal(err)
	}
	return p
}

func TestRead(t *testing.T) {
	good := writeFile(t, "good", value+"\n", 0o600)
	world := writeFile(t, "world", value, 0o644)
	empty := writeFile(t, "empty", " \n", 0o600)
	big := writeFile(t, "big", strings.Repeat("x", MaxFileSize+1), 0o600)
	missing := filepath.Join(t.TempDir(), "nope")
	t.Setenv("KIT_SECRET_SET", " "+value+"\n")
	t.Setenv("KIT_SECRET_EMPTY", "")
	os.Unsetenv("KIT_SECRET_UNSET")

	for _, tc := range []struct {
		name    string
		src     Source
		want    string
		wantErr error  // matched with errors.Is
		msg     string // exact error text
		warn    string // exact warning text
	}{
		{name: "none", src: Source{Key: "tok"}},
		{name: "inline", src: Source{Key: "tok", Inline: value + "\n"}, want: value},
		{name: "file, newline trimmed", src: Source{Key: "tok", File: good}, want: value},
		{name: "env", src: Source{Key: "tok", Env: "KIT_SECRET_SET"}, want: value},
		{name: "world-readable file", src: Source{Key: "tok", File: world}, want: value,
			warn: "tok_file: " + world + " is readable by everyone; chmod o-r it"},
		{name: "two sources", src: Source{Key: "tok", Inline: value, Env: "KIT_SECRET_SET"}, wantErr: ErrAmbiguous,
			msg: "tok: set only one of tok, tok_file and tok_env"},
		{name: "missing file", src: Source{Key: "tok", File: missing}, wantErr: fs.ErrNotExist,
			msg: "tok_file: open " + missing + ": no such file or directory"},
		{name: "empty file", src: Source{Key: "tok", File: empty}, wantErr: ErrEmpty, msg: "tok_file: " + empty + " is empty"},
		{name: "big file", src: Source{Key: "tok", File: big}, wantErr: ErrTooLarge,
			msg: "tok_file: " + big + " is larger than 65536 bytes: not a secret file"},
		{name: "unset env", src: Source{Key: "tok", Env: "KIT_SECRET_UNSET"}, wantErr: ErrUnset,
			msg: "tok_env: environment variable KIT_SECRET_UNSET is not set"},
		{name: "empty env", src: Source{Key: "tok", Env: "KIT_SECRET_EMPTY"}, wantErr: ErrEmpty,
			msg: "tok_env: environment variable KIT_SECRET_EMPTY is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, warns, err := tc.src.Read()
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				var e *Error
				if !errors.As(err, &e) || err.Error() != tc.msg {
					t.Errorf("error %q, want %q", err, tc.msg)
				}
				if strings.Contains(err.Error(), value) {
					t.Errorf("error shows the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("value %q, want %q", got, tc.want)
			}
			var w string
			if len(warns) > 0 {
				w = warns[0].String()
			}
			if len(warns) > 1 || w != tc.warn {
				t.Errorf("warnings %q, want %q", warns, tc.warn)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		src      Source
		required bool
		want     error
		msg      string
	}{
		{Source{Key: "k"}, false, nil, ""},
		{Source{Key: "k"}, true, ErrMissing, "k: missing (set k, k_file or k_env)"},
		{Source{Key: "k", File: "f"}, true, nil, ""},
		{Source{Key: "k", File: "f", Env: "E"}, false, ErrAmbiguous, "k: set only one of k, k_file and k_env"},
	} {
		err := tc.src.Check(tc.required)
		if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("%+v.Check(%v) = %v, want %v", tc.src, tc.required, err, tc.want)
		} else if err != nil && err.Error() != tc.msg {
			t.Errorf("%+v.Check(%v) = %q, want %q", tc.src, tc.required, err, tc.msg)
		}
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		src  Source
		want string
	}{
		{Source{Key: "k", Inline: value}, "set"},
		{Source{Key: "k", File: "/etc/x"}, "from file /etc/x"},
		{Source{Key: "k", Env: "X"}, "from env X"},
		{Source{Key: "k"}, "unset"},
	} {
		if got := tc.src.Describe(); got != tc.want {
			t.Errorf("Describe(%+v) = %q, want %q", tc.src, got, tc.want)
		}
	}
}
