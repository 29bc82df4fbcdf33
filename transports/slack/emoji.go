package slack

import (
	"strings"
)

//go:generate go run ./internal/emojigen -in /tmp/node_modules/emoji-datasource/emoji.json -out emoji_data.go

// Emoji names are Slack's short names from iamcal's emoji-data (see
// emoji_data.go for the version). A name may carry a skin tone suffix as Slack
// writes it in reactions, "wave::skin-tone-3"; in message text the same emoji
// is written ":wave::skin-tone-3:". Tones run from 2 (U+1F3FB) to 6
// (U+1F3FF); emoji with two people take "::skin-tone-N-M" (a pair of equal
// tones is written once).

const (
	// skinToneSep separates a name from its skin tone in Slack's notation.
	skinToneSep = "::"
	// skinTonePrefix starts a skin tone name.
	skinTonePrefix = "skin-tone-"
	// maxShortcodeLen bounds the name scanned between two colons.
	maxShortcodeLen = 64
	// variationSelector16 asks for emoji presentation; Unicode text may carry
	// it or not.
	variationSelector16 = "\uFE0F"
)

// EmojiToUnicode returns the Unicode emoji for a Slack short name given without
// colons ("smile", "+1", "wave::skin-tone-3"). Upper case is folded. A skin
// tone on an emoji that has no skin tones is ignored. It reports false for
// names it does not know, such as a workspace's custom emoji.
func EmojiToUnicode(shortcode string) (string, bool) {
	if u, ok := emojiByName[shortcode]; ok {
		return u, true
	}
	lower := strings.ToLower(shortcode)
	if u, ok := emojiByName[lower]; ok {
		return u, true
	}
	if base, tone, ok := strings.Cut(lower, skinToneSep); ok && strings.HasPrefix(tone, skinTonePrefix) {
		// A skin tone the table has no combined form for: show the base.
		if u, ok := emojiByName[base]; ok {
			return u, true
		}
	}
	return "", false
}

// UnicodeToEmoji returns Slack's primary short name (without colons) for a
// Unicode emoji, with a skin tone suffix when s carries a skin tone modifier.
// Forms with and without the emoji variation selector U+FE0F are both
// accepted. It reports false unless s is exactly one known emoji.
func UnicodeToEmoji(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	if n, ok := emojiByUnicode[s]; ok {
		return n, true
	}
	if strings.Contains(s, variationSelector16) {
		if n, ok := emojiByUnicode[strings.ReplaceAll(s, variationSelector16, "")]; ok {
			return n, true
		}
	}
	if n, ok := emojiByUnicode[s+variationSelector16]; ok {
		return n, true
	}
	return "", false
}

// ReactionName returns the name Slack's reactions.add wants for an XEP-0444
// reaction. A Unicode emoji maps to its short name; text of the form
// ":name:" (how a custom Slack emoji travels through XMPP, see
// ReactionUnicode) maps to that name. Anything else reports false: Slack
// cannot react with it.
func ReactionName(unicode string) (string, bool) {
	if n, ok := UnicodeToEmoji(unicode); ok {
		return n, true
	}
	if len(unicode) > 2 && unicode[0] == ':' && unicode[len(unicode)-1] == ':' {
		name := unicode[1 : len(unicode)-1]
		if validReactionName(name) {
			return name, true
		}
	}
	return "", false
}

// ReactionUnicode returns the text an XEP-0444 reaction carries for a Slack
// reaction name: the Unicode emoji when the name is known, otherwise (a
// custom emoji) the name between colons, ":party-parrot:".
func ReactionUnicode(name string) string {
	// Only exact names: a reaction must map back to the same name, so the
	// base-emoji fallback of EmojiToUnicode does not apply.
	if u, ok := emojiByName[name]; ok {
		return u
	}
	if u, ok := emojiByName[strings.ToLower(name)]; ok {
		return u
	}
	return ":" + name + ":"
}

// ReplaceShortcodes replaces every known ":name:" and ":name::skin-tone-N:"
// in text by its Unicode emoji. Unknown names (custom emoji) and colons that
// start no shortcode are kept as they are.
func ReplaceShortcodes(text string) string {
	i := strings.IndexByte(text, ':')
	if i < 0 {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	for i >= 0 && i < len(text) {
		if u, end, ok := matchShortcode(text, i); ok {
			b.WriteString(text[last:i])
			b.WriteString(u)
			last, i = end, end
		} else {
			i++
		}
		j := strings.IndexByte(text[i:], ':')
		if j < 0 {
			break
		}
		i += j
	}
	b.WriteString(text[last:])
	return b.String()
}

// matchShortcode reports whether a known shortcode starts at s[i] (a colon)
// and returns its Unicode emoji and the index just past it.
func matchShortcode(s string, i int) (uni string, end int, ok bool) {
	n := shortcodeNameLen(s[i+1:])
	if n == 0 || i+1+n >= len(s) || s[i+1+n] != ':' {
		return "", 0, false
	}
	name := s[i+1 : i+1+n]
	end = i + n + 2
	// ":wave::skin-tone-3:" — the tone is a second shortcode glued on.
	if strings.HasPrefix(s[end:], ":"+skinTonePrefix) {
		tn := shortcodeNameLen(s[end+1:])
		if tn > 0 && end+1+tn < len(s) && s[end+1+tn] == ':' {
			if u, ok := emojiByName[name+skinToneSep+s[end+1:end+1+tn]]; ok {
				return u, end + tn + 2, true
			}
		}
	}
	u, ok := emojiByName[name]
	return u, end, ok
}

// shortcodeNameLen returns the length of the emoji name at the start of s:
// the characters Slack's standard names use.
func shortcodeNameLen(s string) int {
	for i := 0; i < len(s) && i <= maxShortcodeLen; i++ {
		if !isShortcodeByte(s[i]) {
			return i
		}
	}
	return min(len(s), maxShortcodeLen+1)
}

func isShortcodeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '+'
}

// validReactionName accepts names a custom Slack emoji can have: lower case
// letters, digits and "_-+'." plus a skin tone suffix.
func validReactionName(name string) bool {
	if name == "" || len(name) > 2*maxShortcodeLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isShortcodeByte(c) && c != ':' && c != '\'' && c != '.' {
			return false
		}
	}
	return !strings.HasPrefix(name, ":") && !strings.HasSuffix(name, ":")
}
