package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// lineOf returns the 1-based line of doc that starts with prefix, after the
// line that starts with after ("" for the top).
func lineOf(t *testing.T, doc, after, prefix string) int {
	t.Helper()
	seen := after == ""
	for i, l := range strings.Split(doc, "\n") {
		if !seen {
			seen = strings.HasPrefix(l, after)
			continue
		}
		if strings.HasPrefix(l, prefix) {
			return i + 1
		}
	}
	t.Fatalf("no line %q after %q in the example", prefix, after)
	return 0
}

// check-config on the example, as shipped and as a new admin fills it in:
// every semantic problem at once (issue 12, bug 4), each at the line of
// the key it is about, in the order of the file.
func TestCheckConfigExampleReportsAll(t *testing.T) {
	data, err := os.ReadFile("../../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	example := string(data)
	// The example's paths live under /etc/xgate; each case has its own.
	type setup struct {
		env   map[string]string
		files map[string]string // under the case's etc directory
		edit  func(doc string) string
	}
	key, token := testKey(t), strings.Repeat("t", 32)
	for _, tc := range []struct {
		name string
		setup
		want []string // "key path@line of the key's first line", in order
	}{
		{"unchanged", setup{}, []string{
			"store.key_file@" + fmt.Sprint(lineOf(t, example, "[store]", "key_file")),
			"admin.token_file@" + fmt.Sprint(lineOf(t, example, "[admin]", "token_file")),
			"slack[0].secret_env@" + fmt.Sprint(lineOf(t, example, "[[slack]]", "secret_env")),
			"slack[0].app_token_env@" + fmt.Sprint(lineOf(t, example, "[[slack]]", "app_token_env")),
			"discord[0].secret_file@" + fmt.Sprint(lineOf(t, example, "[[discord]]", "secret_file")),
			"discord[0].bot_token_env@" + fmt.Sprint(lineOf(t, example, "[[discord]]", "bot_token_env")),
		}},
		{"files written, variables unset", setup{files: map[string]string{"store.key": key, "admin.token": token, "discord.secret": "d"}}, []string{
			"slack[0].secret_env@" + fmt.Sprint(lineOf(t, example, "[[slack]]", "secret_env")),
			"slack[0].app_token_env@" + fmt.Sprint(lineOf(t, example, "[[slack]]", "app_token_env")),
			"discord[0].bot_token_env@" + fmt.Sprint(lineOf(t, example, "[[discord]]", "bot_token_env")),
		}},
		{"a bot token where the app token goes, a bad roster", setup{
			files: map[string]string{"store.key": key, "admin.token": token, "discord.secret": "d"},
			env:   map[string]string{"XGATE_SLACK_SECRET": "s", "XGATE_SLACK_APP_TOKEN": "xoxb-1", "XGATE_DISCORD_BOT_TOKEN": "bot"},
			edit:  func(doc string) string { return strings.Replace(doc, `roster = "dms"`, `roster = "everyone"`, 1) },
		}, []string{
			"slack[0].app_token_env@" + fmt.Sprint(lineOf(t, example, "[[slack]]", "app_token_env")),
			"slack[0].roster@" + fmt.Sprint(lineOf(t, example, "[[slack]]", "roster")),
		}},
		{"filled in", setup{
			files: map[string]string{"store.key": key, "admin.token": token, "discord.secret": "d"},
			env:   map[string]string{"XGATE_SLACK_SECRET": "s", "XGATE_SLACK_APP_TOKEN": "xapp-1-A1-x", "XGATE_DISCORD_BOT_TOKEN": "bot"},
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			etc := t.TempDir()
			for name, content := range tc.files {
				writeFile(t, etc, name, content+"\n")
			}
			for _, v := range []string{"XGATE_SLACK_SECRET", "XGATE_SLACK_APP_TOKEN", "XGATE_DISCORD_BOT_TOKEN"} {
				t.Setenv(v, tc.env[v])
				if tc.env[v] == "" {
					os.Unsetenv(v)
				}
			}
			doc := strings.ReplaceAll(example, "/etc/xgate/", etc+"/")
			doc = strings.ReplaceAll(doc, "/var/lib/xgate/", t.TempDir()+"/")
			if tc.edit != nil {
				doc = tc.edit(doc)
			}
			path := writeFile(t, t.TempDir(), "config.toml", doc)
			_, err := loadConfigFile(path, transportKinds)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected problems: %v", err)
				}
				return
			}
			var ce *configError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a configError", err)
			}
			var got []string
			for _, p := range ce.problems {
				// "FILE:LINE:COL: PATH: message"
				rest := strings.TrimPrefix(p, path+":")
				var line, col int
				var keyPath string
				if _, err := fmt.Sscanf(rest, "%d:%d: %s", &line, &col, &keyPath); err != nil {
					t.Fatalf("problem %q has no position: %v", p, err)
				}
				got = append(got, strings.TrimSuffix(keyPath, ":")+"@"+fmt.Sprint(line))
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("problems at\n  %s\nwant\n  %s\nreport:\n%v", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "), err)
			}
		})
	}
}
