package discordfake

// Exports of internal parsers for the fuzz tests in discordfake_test.

// ParseEmoji exposes parseEmoji: the emoji's key ("name" or "name:id").
func ParseEmoji(v string) (string, bool) {
	e, ok := parseEmoji(v)
	return e.key(), ok
}

// ParseSnowflake exposes parseSnowflake.
var ParseSnowflake = parseSnowflake

// MatchRoute exposes matchRoute: the route's name and parameters.
func MatchRoute(method, path string) (string, map[string]string, bool) {
	r, p, seen := matchRoute(method, path)
	if r == nil {
		return "", nil, seen
	}
	return r.name, p, seen
}

// ParseMessageBody exposes parseMessageBody: the content and the number of
// files.
func ParseMessageBody(ctype string, body []byte) (string, int, error) {
	b, err := parseMessageBody(&call{ctype: ctype, body: body})
	if err != nil {
		return "", 0, err
	}
	c := ""
	if b.Content != nil {
		c = *b.Content
	}
	return c, len(b.files), nil
}
