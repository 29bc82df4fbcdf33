package slack

import (
	"errors"
	"net/http"
	"testing"
)

// TestFileFetcherTokenOnlyToSlack: the account's token is added to
// requests for Slack's hosts (and the configured API host), never to
// another host, nor over plain HTTP to slack.com.
func TestFileFetcherTokenOnlyToSlack(t *testing.T) {
	tr, err := New(Config{APIURL: "http://127.0.0.1:9999/api/", AppToken: "xapp-1-A-1-x"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &Session{t: tr, token: "xoxp-secret"}
	for _, tc := range []struct {
		url  string
		sent bool
	}{
		{"https://files.slack.com/files-pri/T1-F1/a.png", true},
		{"https://slack.com/files-pri/T1-F1/a.png", true},
		{"http://127.0.0.1:9999/files-pri/T1-F1/a.png", true},
		{"http://files.slack.com/files-pri/T1-F1/a.png", false},
		{"https://files.slack.com.evil.example/x", false},
		{"https://evilslack.com/x", false},
		{"http://127.0.0.1:9998/files-pri/T1-F1/a.png", false},
		{"https://127.0.0.1:9999/files-pri/T1-F1/a.png", false},
	} {
		req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		err := s.FileFetcher().Authorize(req)
		got := req.Header.Get("Authorization")
		if tc.sent && (err != nil || got != "Bearer xoxp-secret") || !tc.sent && (!errors.Is(err, errForeignHost) || got != "") {
			t.Errorf("%s: header %q, error %v", tc.url, got, err)
		}
	}
}
