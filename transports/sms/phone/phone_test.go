package phone

import (
	"errors"
	"testing"
)

func TestNormalize(t *testing.T) {
	us, err := NewNormalizer("us")
	if err != nil {
		t.Fatal(err)
	}
	de, err := NewNormalizer("DE")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		z    *Normalizer
		in   string
		want Number
		err  error
	}{
		{us, "+1 555 123 4567", "+15551234567", nil},
		{us, "(555) 123-4567", "+15551234567", nil},
		{us, "555.123.4567", "+15551234567", nil},
		{us, "1-555-123-4567", "+15551234567", nil},
		{us, "  5551234567 ", "+15551234567", nil},
		{us, "tel:+1-555-123-4567", "+15551234567", nil},
		{us, "TEL:5551234567", "+15551234567", nil},
		{us, "tel:555-1234;phone-context=+1555", "+15555551234", nil},
		{us, "tel:123-4567;phone-context=+1555", "+15551234567", nil},
		{us, "tel:+1-555-123-4567;ext=22", "", ErrNotANumber},
		{us, "0049 30 1234567", "+49301234567", nil},
		{us, "011 49 30 1234567", "+49301234567", nil},
		{de, "030 1234567", "+49301234567", nil},
		{de, "030/1234567", "+49301234567", nil},
		{de, "+44 20 7946 0958", "+442079460958", nil},
		{us, "12345", "12345", nil},
		{us, "898211", "898211", nil},
		{us, "123-4567", "", ErrLocalOnly},
		{us, "911", "", ErrEmergency},
		{de, "112", "", ErrEmergency},
		{us, "12", "", ErrTooShort},
		{us, "+1 555 123 45678", "", ErrTooLong},
		{us, "+999 1234567", "", ErrCountryCode},
		{us, "1-800-FLOWERS", "", ErrNotANumber},
		{us, "+1 555 123 4567 x12", "", ErrNotANumber},
		{us, "٥٥٥١٢٣٤٥٦٧", "", ErrNotANumber},
		{us, "00200000000000", "", ErrLength},
		{us, "", "", ErrEmpty},
		{us, " - ( ) ", "", ErrEmpty},
		{us, "+", "", ErrEmpty},
		{us, "1+5551234567", "", ErrNotANumber},
		{us, "tel:", "", ErrEmpty},
		{us, "55512345678901234567890123456789012345678901234567890123456789012345", "", ErrTooLong},
	}
	for _, tt := range tests {
		got, err := tt.z.Normalize(tt.in)
		if tt.err != nil {
			var ne *NumberError
			if !errors.Is(err, tt.err) || !errors.As(err, &ne) || ne.Input != tt.in {
				t.Errorf("Normalize(%q) [%s] = %q, %v; want error %v", tt.in, tt.z.Region(), got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Normalize(%q) [%s] = %q, %v; want %q", tt.in, tt.z.Region(), got, err, tt.want)
		}
	}
}

func TestNewNormalizerRegion(t *testing.T) {
	for _, r := range []string{"", "XX", "USA", "zz"} {
		if _, err := NewNormalizer(r); !errors.Is(err, ErrRegion) {
			t.Errorf("NewNormalizer(%q) = %v, want ErrRegion", r, err)
		}
	}
}

func TestLocalpart(t *testing.T) {
	tests := []struct {
		in    string
		short bool
		err   error
	}{
		{"+15551234567", false, nil},
		{"+442079460958", false, nil},
		{"12345", true, nil},
		{"898211", true, nil},
		{"", false, ErrEmpty},
		{"+", false, ErrNotCanonical},
		{"15551234567x", false, ErrNotCanonical},
		{"+1 5551234567", false, ErrNotCanonical},
		{"+1555123456", false, ErrTooShort},
		{"+9991234567", false, ErrCountryCode},
		{"12", false, ErrNotCanonical},
		{"123456789", false, ErrNotCanonical},
		{"+4903012345678901", false, ErrNotCanonical},
		{"alice", false, ErrNotCanonical},
	}
	for _, tt := range tests {
		n, err := ParseLocalpart(tt.in)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ParseLocalpart(%q) = %q, %v; want %v", tt.in, n, err, tt.err)
			}
			continue
		}
		if err != nil || n.Localpart() != tt.in || n.IsShortCode() != tt.short {
			t.Errorf("ParseLocalpart(%q) = %q (short %v), %v", tt.in, n, n.IsShortCode(), err)
		}
	}
}

// Every number Normalize returns maps to a localpart and back unchanged.
func TestNormalizeRoundTrip(t *testing.T) {
	us, _ := NewNormalizer("US")
	for _, in := range []string{"5551234567", "+49 30 1234567", "12345", "+81 3-1234-5678", "+1 (212) 555-0100"} {
		n, err := us.Normalize(in)
		if err != nil {
			t.Fatalf("Normalize(%q): %v", in, err)
		}
		back, err := ParseLocalpart(n.Localpart())
		if err != nil || back != n {
			t.Errorf("ParseLocalpart(%q) = %q, %v", n.Localpart(), back, err)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+1 555 123 4567", "(555) 123-4567", "tel:+1-555;phone-context=+1", "0049 30 1", "12345", "٥", "+", "00"} {
		f.Add(s)
	}
	us, _ := NewNormalizer("US")
	f.Fuzz(func(t *testing.T, in string) {
		n, err := us.Normalize(in)
		if err != nil {
			var ne *NumberError
			if !errors.As(err, &ne) || ne.Reason == nil {
				t.Fatalf("Normalize(%q): untyped error %v", in, err)
			}
			return
		}
		back, err := ParseLocalpart(n.Localpart())
		if err != nil || back != n {
			t.Fatalf("Normalize(%q) = %q, but ParseLocalpart gives %q, %v", in, n, back, err)
		}
		again, err := us.Normalize(n.String())
		if err != nil || again != n {
			t.Fatalf("Normalize(%q) = %q is not a fixed point: %q, %v", in, n, again, err)
		}
	})
}

func FuzzParseLocalpart(f *testing.F) {
	for _, s := range []string{"+15551234567", "12345", "+", "+0", "+1555"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := ParseLocalpart(in)
		if err == nil && n.Localpart() != in {
			t.Fatalf("ParseLocalpart(%q) = %q", in, n)
		}
	})
}

func TestParseWire(t *testing.T) {
	tests := []struct {
		in   string
		want Number
		err  error
	}{
		{"+15551234567", "+15551234567", nil},
		{"15551234567", "+15551234567", nil},
		{"0015551234567", "+15551234567", nil},
		{" +442079460958 ", "+442079460958", nil},
		{"12345", "12345", nil},
		{"", "", ErrEmpty},
		{"ACME", "", ErrNotCanonical},
		{"+1555", "", ErrTooShort},
		{"5551234", "5551234", nil}, // up to 8 digits: a short code
	}
	for _, tt := range tests {
		got, err := ParseWire(tt.in)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ParseWire(%q) = %q, %v; want %v", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseWire(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseWire(f *testing.F) {
	for _, s := range []string{"+15551234567", "0015551234567", "12345", "ACME"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := ParseWire(in)
		if err != nil {
			return
		}
		if back, err := ParseLocalpart(n.Localpart()); err != nil || back != n {
			t.Fatalf("ParseWire(%q) = %q, not a canonical localpart", in, n)
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	us, _ := NewNormalizer("US")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := us.Normalize("(555) 123-4567"); err != nil {
			b.Fatal(err)
		}
	}
}
