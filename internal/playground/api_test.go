package playground_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The API refuses what the page should not ask: unknown networks, people
// and conversations, editing someone else's message, empty text, odd emoji.
func TestAPIRefuses(t *testing.T) {
	w := newWorkspace(t)
	mine := w.fake.Post(w.eliza.ID, w.elizaIM, "Eliza's")
	theirs := w.fake.Post(w.me.ID, w.elizaIM, "yours")
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"networks", "GET", "/api/networks", "", 200, `[{"id":"slack","name":"Slack","edits":true,"reactions":true,"typing":false}]`},
		{"people", "GET", "/api/slack/people", "", 200, `"name":"Eliza","title":"Therapist"`},
		{"conversations", "GET", "/api/slack/conversations?as=" + w.ada.ID, "", 200, `[{"id":"` + w.adaIM + `","name":"You"}]`},
		{"messages", "GET", "/api/slack/messages?conv=" + w.elizaIM, "", 200, `"text":"Eliza's"`},
		{"unknown network", "GET", "/api/irc/people", "", 404, "no such network"},
		{"unknown conversation", "GET", "/api/slack/messages?conv=C0", "", 404, "not found"},
		{"send elsewhere", "POST", "/api/slack/send", `{"as":"` + w.ada.ID + `","conv":"` + w.elizaIM + `","text":"x"}`, 400, "not allowed"},
		{"send as a stranger", "POST", "/api/slack/send", `{"as":"U0","conv":"` + w.elizaIM + `","text":"x"}`, 404, "not found"},
		{"send empty", "POST", "/api/slack/send", `{"as":"` + w.eliza.ID + `","conv":"` + w.elizaIM + `","text":""}`, 400, "not allowed"},
		{"edit another's", "POST", "/api/slack/edit", `{"as":"` + w.eliza.ID + `","conv":"` + w.elizaIM + `","id":"` + theirs + `","text":"x"}`, 400, "not allowed"},
		{"edit own", "POST", "/api/slack/edit", `{"as":"` + w.eliza.ID + `","conv":"` + w.elizaIM + `","id":"` + mine + `","text":"changed"}`, 200, `{"ok":true}`},
		{"odd emoji", "POST", "/api/slack/react", `{"as":"` + w.eliza.ID + `","conv":"` + w.elizaIM + `","id":"` + theirs + `","emoji":"<b>"}`, 400, "not allowed"},
		{"bad json", "POST", "/api/slack/send", `{`, 400, "not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			w.playground.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
			body, _ := io.ReadAll(rec.Result().Body)
			if rec.Code != tc.status || !strings.Contains(string(body), tc.want) {
				t.Errorf("%s %s = %d %s, want %d containing %s", tc.method, tc.path, rec.Code, body, tc.status, tc.want)
			}
		})
	}
	if got := w.fake.Messages(w.elizaIM)[0].Text; got != "changed" {
		t.Errorf("edit did not reach the workspace: %q", got)
	}
}

// The page and its assets are embedded and served without external
// references.
func TestPageIsSelfContained(t *testing.T) {
	w := newWorkspace(t)
	for _, path := range []string{"/", "/app.js", "/style.css"} {
		rec := httptest.NewRecorder()
		w.playground.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		body := rec.Body.String()
		if rec.Code != 200 || body == "" {
			t.Fatalf("GET %s = %d", path, rec.Code)
		}
		for _, ext := range []string{"http://", "https://", "//cdn"} {
			if strings.Contains(body, ext) {
				t.Errorf("%s refers to an external asset (%s)", path, ext)
			}
		}
	}
}
