package bridge_test

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/xmpp/disco"
)

// docSection returns the lines of a Markdown file from the heading that
// starts with heading to the next heading of any level.
func docSection(t *testing.T, path, heading string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), heading)
	if !ok {
		t.Fatalf("%s has no %q", path, heading)
	}
	if i := strings.Index(rest, "\n#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// commandWord is a gateway command as the docs write it: `word` or
// `word …` at the start of a table cell, or a lone `word`.
var commandWord = regexp.MustCompile("`([a-z]+)[^`]*`")

// Issue 12 bug 6: every gateway command that docs/users.md and
// docs/admin.md name exists, for the user or for an admin.
func TestDocsNameRealGatewayCommands(t *testing.T) {
	e := newEnv(t, func(c *bridge.Config) {
		c.Backup = func(context.Context) (string, int64, error) { return "", 0, nil }
	})
	nodes := func(from string) []string {
		e.send(`<iq type='get' id='dc' from='%s' to='fake.example.org'><query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>`, from)
		items, err := disco.ParseItems(e.expectIQ("dc").Payload)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{"help"} // a chat command only
		for _, it := range items.Items {
			out = append(out, it.Node)
		}
		return out
	}
	user, admin := nodes("alice@example.org/a"), nodes("admin@example.org/a")
	var users []string
	for _, line := range strings.Split(docSection(t, "../docs/users.md", "## Commands"), "\n") {
		if m := commandWord.FindStringSubmatch(line); strings.HasPrefix(line, "| `") && m != nil {
			users = append(users, m[1])
		}
	}
	var admins []string
	for _, m := range commandWord.FindAllStringSubmatch(docSection(t, "../docs/admin.md", "### Admin commands"), -1) {
		if m[0] == "`"+m[1]+"`" { // a lone word, not `[admin] admins`
			admins = append(admins, m[1])
		}
	}
	if len(users) < 4 || len(admins) < 3 {
		t.Fatalf("found %q and %q in the docs: the parser is broken", users, admins)
	}
	for _, c := range users {
		if !slices.Contains(user, c) {
			t.Errorf("docs/users.md names %q; a user's commands are %q", c, user)
		}
	}
	for _, c := range admins {
		if !slices.Contains(admin, c) || slices.Contains(user, c) {
			t.Errorf("docs/admin.md names the admin command %q; an admin's commands are %q, a user's %q", c, admin, user)
		}
	}
	// And the other way: every command is documented.
	for _, c := range admin {
		if !slices.Contains(users, c) && !slices.Contains(admins, c) {
			t.Errorf("command %q is in neither docs/users.md nor docs/admin.md", c)
		}
	}
}
