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

// septets returns the cost of r in GSM-7 and whether r has one.
func septets(r rune) (int, bool) {
	if gsmBasic[r] {
		return 1, true
	}
	if gsmExtension[r] {
		return 2, true
	}
	return 0, false
}
