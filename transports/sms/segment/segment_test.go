package segment

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCount(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		enc   Encoding
		units int
		segs  int
	}{
		{"empty", "", GSM7, 0, 1},
		{"ascii", "hello", GSM7, 5, 1},
		{"gsm accents", "Ça va? è é ù ì ò Å Ø ß ¡¿", GSM7, 25, 1},
		{"greek in gsm", "ΔΦΓΛΩΠΨΣΘΞ", GSM7, 10, 1},
		{"extension", "{[~]}", GSM7, 10, 1},
		{"euro", "5€", GSM7, 3, 1},
		{"160 septets", strings.Repeat("a", 160), GSM7, 160, 1},
		{"161 septets", strings.Repeat("a", 161), GSM7, 161, 2},
		{"306 septets", strings.Repeat("a", 306), GSM7, 306, 2},
		{"307 septets", strings.Repeat("a", 307), GSM7, 307, 3},
		{"80 escapes", strings.Repeat("€", 80), GSM7, 160, 1},
		{"81 escapes", strings.Repeat("€", 81), GSM7, 162, 2},
		// 152 septets of 'a' then an escape: the escape moves whole.
		{"escape at boundary", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 10), GSM7, 164, 2},
		{"cyrillic", "привет", UCS2, 6, 1},
		{"a grave accent outside gsm", "á", UCS2, 1, 1},
		{"ascii plus emoji", "hi 👍", UCS2, 5, 1},
		{"70 units", strings.Repeat("я", 70), UCS2, 70, 1},
		{"71 units", strings.Repeat("я", 71), UCS2, 71, 2},
		{"134 units", strings.Repeat("я", 134), UCS2, 134, 2},
		{"135 units", strings.Repeat("я", 135), UCS2, 135, 3},
		{"35 emoji", strings.Repeat("😀", 35), UCS2, 70, 1},
		// 33 emoji = 66 units; the 34th would straddle the 67-unit cut.
		{"surrogate at boundary", strings.Repeat("😀", 36), UCS2, 72, 2},
		{"invalid utf8", "a\xffb", UCS2, 3, 1},
		{"lowercase c cedilla", "ç", UCS2, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Count(tt.text)
			if got.Encoding != tt.enc || got.Units != tt.units || got.Segments != tt.segs {
				t.Errorf("Count = %+v, want %v %d units %d segments", got, tt.enc, tt.units, tt.segs)
			}
			if Segments(tt.text) != tt.segs || Detect(tt.text) != tt.enc {
				t.Errorf("Segments/Detect disagree with Count")
			}
			checkSplit(t, tt.text)
		})
	}
}

func TestSplitParts(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []int // units per part
	}{
		{"gsm 161", strings.Repeat("a", 161), []int{153, 8}},
		{"escape kept whole", strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10), []int{152, 12}},
		{"ucs2 71", strings.Repeat("я", 71), []int{67, 4}},
		{"surrogate kept whole", strings.Repeat("😀", 36), []int{66, 6}},
		{"odd then emoji", "я" + strings.Repeat("😀", 35), []int{67, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := Split(tt.text)
			enc := Detect(tt.text)
			var got []int
			for _, p := range parts {
				n := 0
				for _, r := range p {
					n += cost(r, enc)
				}
				got = append(got, n)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("parts = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("parts = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// checkSplit asserts Split's promises for text.
func checkSplit(t *testing.T, text string) {
	t.Helper()
	info := Count(text)
	parts := Split(text)
	if len(parts) != info.Segments {
		t.Fatalf("Split gives %d parts, Count %d segments", len(parts), info.Segments)
	}
	if strings.Join(parts, "") != text {
		t.Fatalf("parts do not join back to the text")
	}
	for i, p := range parts {
		n := 0
		for _, r := range p {
			n += cost(r, info.Encoding)
		}
		if n > info.PerSegment {
			t.Fatalf("part %d has %d units, more than %d", i, n, info.PerSegment)
		}
		if len(parts) > 1 && p == "" {
			t.Fatalf("part %d is empty", i)
		}
		if utf8.ValidString(text) && !utf8.ValidString(p) {
			t.Fatalf("part %d cuts a character", i)
		}
	}
	last := parts[len(parts)-1]
	used := 0
	for _, r := range last {
		used += cost(r, info.Encoding)
	}
	if info.Remaining != info.PerSegment-used {
		t.Fatalf("Remaining = %d, last part uses %d of %d", info.Remaining, used, info.PerSegment)
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"", "hello", strings.Repeat("€", 81), strings.Repeat("😀", 36), "a\xffb", "я€"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkSplit(t, text)
	})
}

func BenchmarkCount(b *testing.B) {
	text := strings.Repeat("Hello, world! ", 30)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		Count(text)
	}
}

// The lookup table agrees with the alphabet's definition for every rune
// up to the Basic Multilingual Plane's end.
func TestSeptetsTable(t *testing.T) {
	for r := rune(0); r < 0x10000; r++ {
		want, wantOK := 0, false
		if gsmBasic[r] {
			want, wantOK = 1, true
		} else if gsmExtension[r] {
			want, wantOK = 2, true
		}
		if got, ok := septets(r); got != want || ok != wantOK {
			t.Fatalf("septets(%U) = %d, %v; want %d, %v", r, got, ok, want, wantOK)
		}
	}
	if len(gsmBasic) != 127 || len(gsmExtension) != 10 {
		t.Fatalf("alphabet sizes %d + %d, want 127 + 10", len(gsmBasic), len(gsmExtension))
	}
}
