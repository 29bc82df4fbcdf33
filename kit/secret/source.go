package secret

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxFileSize bounds what Read reads from a secret file: a secret is a
// line, and a path pointing at something else should fail clearly.
const MaxFileSize = 64 << 10

// Source says where one secret is. Key is the TOML key of the inline value
// ("secret", "app_token"); the keys of the other two sources are Key+"_file"
// and Key+"_env". At most one of Inline, File and Env may be set. File
// should already be resolved against the configuration file's directory.
type Source struct {
	Key    string
	Inline string
	File   string
	Env    string
}

// Warning is a problem that does not stop a secret from being used.
type Warning struct {
	// Key is the TOML key at fault ("secret_file").
	Key string
	// Msg says what is wrong and how to fix it.
	Msg string
}

// String gives "key: message".
func (w Warning) String() string { return w.Key + ": " + w.Msg }

// count is the number of sources set.
func (s Source) count() int {
	n := 0
	for _, v := range [...]string{s.Inline, s.File, s.Env} {
		if v != "" {
			n++
		}
	}
	return n
}

// IsSet reports whether any source is set.
func (s Source) IsSet() bool { return s.count() > 0 }

// Check checks, without reading anything, that s names exactly one source,
// or none when required is false. Its errors are *Error matching
// ErrMissing or ErrAmbiguous.
func (s Source) Check(required bool) error {
	switch n := s.count(); {
	case n == 0 && required:
		return &Error{Key: s.Key, Msg: fmt.Sprintf("missing (set %s, %s_file or %s_env)", s.Key, s.Key, s.Key), Err: ErrMissing}
	case n > 1:
		return &Error{Key: s.Key, Msg: fmt.Sprintf("set only one of %s, %s_file and %s_env", s.Key, s.Key, s.Key), Err: ErrAmbiguous}
	}
	return nil
}

// Read returns the secret with its surrounding white space trimmed, or ""
// when no source is set (Check tells whether that is allowed). It refuses
// a source naming more than one place, an empty file or variable, an unset
// variable and a file larger than MaxFileSize, with an *Error. It warns
// when the file is readable by everyone.
func (s Source) Read() (value string, warnings []Warning, err error) {
	if err := s.Check(false); err != nil {
		return "", nil, err
	}
	switch {
	case s.File != "":
		return s.readFile()
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return "", nil, &Error{Key: s.Key + "_env", Msg: fmt.Sprintf("environment variable %s is not set", s.Env), Err: ErrUnset}
		}
		if v = strings.TrimSpace(v); v == "" {
			return "", nil, &Error{Key: s.Key + "_env", Msg: fmt.Sprintf("environment variable %s is empty", s.Env), Err: ErrEmpty}
		}
		return v, nil, nil
	}
	return strings.TrimSpace(s.Inline), nil, nil
}

func (s Source) readFile() (string, []Warning, error) {
	key := s.Key + "_file"
	f, err := os.Open(s.File)
	if err != nil {
		return "", nil, &Error{Key: key, Msg: err.Error(), Err: err}
	}
	defer f.Close()
	var warnings []Warning
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o004 != 0 {
		warnings = append(warnings, Warning{Key: key, Msg: fmt.Sprintf("%s is readable by everyone; chmod o-r it", s.File)})
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return "", nil, &Error{Key: key, Msg: fmt.Sprintf("read %s: %v", s.File, err), Err: err}
	}
	if len(b) > MaxFileSize {
		return "", nil, &Error{Key: key, Msg: fmt.Sprintf("%s is larger than %d bytes: not a secret file", s.File, MaxFileSize), Err: ErrTooLarge}
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", nil, &Error{Key: key, Msg: fmt.Sprintf("%s is empty", s.File), Err: ErrEmpty}
	}
	return v, warnings, nil
}

// Describe says where the secret comes from without showing it: "set"
// (inline), "from file PATH", "from env NAME" or "unset".
func (s Source) Describe() string {
	switch {
	case s.Inline != "":
		return "set"
	case s.File != "":
		return "from file " + s.File
	case s.Env != "":
		return "from env " + s.Env
	}
	return "unset"
}
