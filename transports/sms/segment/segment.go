package segment

import (
	"unicode/utf8"
)

// Encoding is the alphabet a text is sent in.
type Encoding int

const (
	// GSM7 is the GSM 03.38 7-bit default alphabet with its extension table.
	GSM7 Encoding = iota
	// UCS2 is 16-bit UCS-2 (UTF-16 on modern phones).
	UCS2
)

// String returns "GSM-7" or "UCS-2".
func (e Encoding) String() string {
	if e == UCS2 {
		return "UCS-2"
	}
	return "GSM-7"
}

// Limits of one segment, in septets (GSM-7) or UTF-16 code units (UCS-2).
const (
	// GSM7Single is what a lone GSM-7 segment holds.
	GSM7Single = 160
	// GSM7Part is what one part of a concatenated GSM-7 text holds.
	GSM7Part = 153
	// UCS2Single is what a lone UCS-2 segment holds.
	UCS2Single = 70
	// UCS2Part is what one part of a concatenated UCS-2 text holds.
	UCS2Part = 67
	// MaxSegments is the most parts a concatenated text can have.
	MaxSegments = 255
)

// Info describes what a text costs.
type Info struct {
	// Encoding is the alphabet the text needs.
	Encoding Encoding
	// Units is the text's length in septets (GSM-7) or code units (UCS-2).
	Units int
	// Segments is how many SMS the text is sent as (at least 1).
	Segments int
	// PerSegment is the capacity of each of those segments.
	PerSegment int
	// Remaining is how many units still fit in the last segment.
	Remaining int
}

// Detect returns the alphabet text needs.
func Detect(text string) Encoding {
	for _, r := range text {
		if _, ok := septets(r); !ok {
			return UCS2
		}
	}
	return GSM7
}

// cost returns what r costs in enc.
func cost(r rune, enc Encoding) int {
	if enc == GSM7 {
		n, _ := septets(r)
		return n
	}
	if r >= 0x10000 && r <= utf8.MaxRune {
		return 2
	}
	return 1
}

// Count returns the encoding, length and segment count of text.
func Count(text string) Info {
	enc := Detect(text)
	units := 0
	for _, r := range text {
		units += cost(r, enc)
	}
	single, part := GSM7Single, GSM7Part
	if enc == UCS2 {
		single, part = UCS2Single, UCS2Part
	}
	if units <= single {
		return Info{Encoding: enc, Units: units, Segments: 1, PerSegment: single, Remaining: single - units}
	}
	// Parts are filled greedily, and a two-unit character that does not
	// fit moves whole to the next part, so the count comes from Split's
	// walk rather than a division.
	segs, used := 1, 0
	for _, r := range text {
		c := cost(r, enc)
		if used+c > part {
			segs++
			used = 0
		}
		used += c
	}
	return Info{Encoding: enc, Units: units, Segments: segs, PerSegment: part, Remaining: part - used}
}

// Segments returns how many SMS text costs.
func Segments(text string) int { return Count(text).Segments }

// Split cuts text into the parts it is sent as: one part when it fits a
// single segment, otherwise parts of at most 153 septets or 67 code units,
// never cutting an escape or a surrogate pair. len(Split(t)) ==
// Segments(t), and joining the parts gives t back.
func Split(text string) []string {
	info := Count(text)
	if info.Segments == 1 {
		return []string{text}
	}
	parts := make([]string, 0, info.Segments)
	start, used := 0, 0
	for i, r := range text {
		c := cost(r, info.Encoding)
		if used+c > info.PerSegment {
			parts = append(parts, text[start:i])
			start, used = i, 0
		}
		used += c
	}
	return append(parts, text[start:])
}
