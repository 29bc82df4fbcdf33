package discordfake_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/transports/discord/discordfake"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestWireGolden pins the exact JSON of a REST message (a reply with an
// attachment, a reaction, mentions and an edit) and of READY and
// GUILD_CREATE, with a frozen clock. Run with -update to rewrite.
func TestWireGolden(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	f := newFixture(t, discordfake.WithClock(func() time.Time { return at }))
	q := f.fake.Post(f.alice.ID, f.general.ID, "question for <@"+f.bob.ID+">")
	r := f.fake.Post(f.bob.ID, f.general.ID, "an answer", discordfake.ReplyTo(q),
		discordfake.WithAttachment("notes.txt", "text/plain", []byte("hello")))
	f.fake.React(f.alice.ID, f.general.ID, r, "👍")
	f.fake.Edit(f.bob.ID, f.general.ID, r, "an answer, edited")

	req, _ := http.NewRequestWithContext(t.Context(), "GET", f.fake.APIURL()+"channels/"+f.general.ID+"/messages/"+r, nil)
	req.Header.Set("Authorization", f.userToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	checkGolden(t, f, "message.json", body)

	g := dialRaw(t, f)
	g.send(identify(f.botToken, 1|1<<9|1<<15))
	ready, gc := g.read(), g.read()
	checkGolden(t, f, "ready.json", ready.D)
	checkGolden(t, f, "guild_create.json", gc.D)
}

// checkGolden compares indented JSON with testdata/NAME, the fake's
// random port replaced by PORT.
func checkGolden(t *testing.T, f *fixture, name string, raw []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		t.Fatalf("%s: %v: %s", name, err, raw)
	}
	port := f.fake.URL()[strings.LastIndexByte(f.fake.URL(), ':')+1:]
	got := strings.ReplaceAll(buf.String(), "127.0.0.1:"+port, "127.0.0.1:PORT") + "\n"
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}
