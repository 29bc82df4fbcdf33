package kanneltest

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestCallbackSentAgainAfter503: with http-request-retry (as docs/sms.md
// configures smsbox), a get-url callback answered 503 is sent again, with
// the same Kannel message ID. Without it smsbox drops the text: the
// gateway's "answered 2xx only once stored" relies on this.
func TestCallbackSentAgainAfter503(t *testing.T) {
	var n atomic.Int32
	ids := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids <- r.URL.Query().Get("id")
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	k := Start(t, Options{MOURL: srv.URL + "/mo?id=%I&text=%a"})
	if err := k.SendMO("+12025550122", "+12025550111", "hello"); err != nil {
		t.Fatal(err)
	}
	var got []string
	timeout := time.After(20 * time.Second)
	for len(got) < 2 {
		select {
		case id := <-ids:
			got = append(got, id)
		case <-timeout:
			t.Fatalf("callbacks %q: the text was not sent again after a 503", got)
		}
	}
	if got[0] == "" || got[0] != got[1] {
		t.Fatalf("callbacks %q, want the same ID twice", got)
	}
}
