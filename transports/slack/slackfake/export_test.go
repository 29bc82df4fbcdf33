package slackfake

// Exports of internal parsers for the fuzz tests in slackfake_test.
var (
	ParseTS      = parseTS
	FormatTS     = formatTS
	DecodeCursor = decodeCursor
	EncodeCursor = encodeCursor
	ParseAck     = parseAck
)
