package segment

// gsmBasic holds the GSM 03.38 default alphabet, excluding the escape
// (0x1B), one septet each.
var gsmBasic = func() map[rune]bool {
	const table = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x00ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	m := make(map[rune]bool, 128)
	for _, r := range table {
		if r != 0 { // the placeholder for ESC
			m[r] = true
		}
	}
	return m
}()

// gsmExtension holds the characters reached through the escape, two
// septets each.
var gsmExtension = map[rune]bool{
	'\f': true, '^': true, '{': true, '}': true, '\\': true,
	'[': true, '~': true, ']': true, '|': true, '€': true,
}

// gsmCost is the septet cost of every rune below tableSize (0: not in
// GSM-7); every GSM-7 character but € falls in that range.
const tableSize = 0x3AA // past Ω, the highest Greek letter of the alphabet

var gsmCost = func() (t [tableSize]uint8) {
	for r := range gsmBasic {
		t[r] = 1
	}
	for r := range gsmExtension {
		if r < tableSize {
			t[r] = 2
		}
	}
	return t
}()

// septets returns the cost of r in GSM-7 and whether r has one.
func septets(r rune) (int, bool) {
	if r >= 0 && r < tableSize {
		c := gsmCost[r]
		return int(c), c != 0
	}
	if r == '€' {
		return 2, true
	}
	return 0, false
}
