package kanneltest

import (
	"bytes"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		line     string
		typ      string
		udh      []byte
		data     []byte
		from, to string
		err      bool
	}{
		{"+1 +2 text hello world", "text", nil, []byte("hello world"), "+1", "+2", false},
		{"+1 +2 ucs-2 %04%3F%D8%3D%DE%00", "ucs-2", nil, []byte{0x04, 0x3f, 0xd8, 0x3d, 0xde, 0x00}, "+1", "+2", false},
		{"+1 +2 data a%00b", "data", nil, []byte("a\x00b"), "+1", "+2", false},
		{"+1 +2 udh %05%00%03%02%02%01 data aaa", "udh data", []byte{5, 0, 3, 2, 2, 1}, []byte("aaa"), "+1", "+2", false},
		{"+1 +2 udh %05", "", nil, nil, "", "", true},
		{"+1 +2 text", "", nil, nil, "", "", true},
		{"+1 +2 fax hello", "", nil, nil, "", "", true},
		{"+1 +2 data %zz", "", nil, nil, "", "", true},
	}
	for _, tt := range tests {
		m, err := ParseLine(tt.line)
		if tt.err {
			if err == nil {
				t.Errorf("ParseLine(%q) = %+v, want error", tt.line, m)
			}
			continue
		}
		if err != nil || m.Type != tt.typ || !bytes.Equal(m.UDH, tt.udh) || !bytes.Equal(m.Data, tt.data) || m.From != tt.from || m.To != tt.to {
			t.Errorf("ParseLine(%q) = %+v, %v", tt.line, m, err)
		}
	}
}

func TestUTF16BE(t *testing.T) {
	if got := utf16BE("п😀"); !bytes.Equal(got, []byte{0x04, 0x3f, 0xd8, 0x3d, 0xde, 0x00}) {
		t.Fatalf("utf16BE = % x", got)
	}
}

func FuzzParseLine(f *testing.F) {
	f.Add("+1 +2 text hello")
	f.Add("+1 +2 udh %05%00%03%02%02%01 data aaa")
	f.Fuzz(func(t *testing.T, line string) {
		m, err := ParseLine(line)
		if err == nil && (m.Type == "" || m.From == "") {
			t.Fatalf("ParseLine(%q) = %+v", line, m)
		}
	})
}
