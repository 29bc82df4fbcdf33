package discord

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xgate-im/xgate/bridge"
)

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "bot.token")
	if err := os.WriteFile(tokFile, []byte("MTIz.abc.def\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XGATE_TEST_DISCORD_TOKEN", "MTIz.env.tok")
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string // substrings, one per problem
		check   func(t *testing.T, s settings)
	}{
		{name: "bot token inline", cfg: Config{BotToken: "MTIz.abc.def"}, check: func(t *testing.T, s settings) {
			if s.apiURL != DefaultAPIURL || s.cdnURL != DefaultCDNURL || s.botToken != "MTIz.abc.def" {
				t.Errorf("settings %+v", s)
			}
			for _, n := range DefaultIntents {
				if s.intents&intentBits[n] == 0 {
					t.Errorf("default intents lack %s", n)
				}
			}
		}},
		{name: "Bot prefix dropped", cfg: Config{BotToken: "Bot MTIz.abc.def"}, check: func(t *testing.T, s settings) {
			if s.botToken != "MTIz.abc.def" {
				t.Errorf("token %q", s.botToken)
			}
		}},
		{name: "token file", cfg: Config{BotTokenFile: tokFile}, check: func(t *testing.T, s settings) {
			if s.botToken != "MTIz.abc.def" {
				t.Errorf("token %q", s.botToken)
			}
		}},
		{name: "token env", cfg: Config{BotTokenEnv: "XGATE_TEST_DISCORD_TOKEN"}, check: func(t *testing.T, s settings) {
			if s.botToken != "MTIz.env.tok" {
				t.Errorf("token %q", s.botToken)
			}
		}},
		{name: "personal only", cfg: Config{PersonalAccounts: true}},
		{name: "api url gets its slash", cfg: Config{BotToken: "x", APIURL: "http://127.0.0.1:1/api/v9"}, check: func(t *testing.T, s settings) {
			if s.apiURL != "http://127.0.0.1:1/api/v9/" {
				t.Errorf("api url %q", s.apiURL)
			}
		}},
		{name: "intents chosen", cfg: Config{BotToken: "x", Intents: []string{"direct_messages", "Guilds"}}, check: func(t *testing.T, s settings) {
			if s.intents != 1<<12|1<<0 {
				t.Errorf("intents %b", s.intents)
			}
		}},
		{name: "nothing to serve", cfg: Config{}, wantErr: []string{"bot_token: set the bot token, or personal_accounts"}},
		{name: "two sources", cfg: Config{BotToken: "x", BotTokenEnv: "XGATE_TEST_DISCORD_TOKEN"}, wantErr: []string{"bot_token"}},
		{name: "unset env", cfg: Config{BotTokenEnv: "XGATE_TEST_DISCORD_NOPE"}, wantErr: []string{"XGATE_TEST_DISCORD_NOPE"}},
		{name: "bad urls and intent", cfg: Config{BotToken: "x", APIURL: "ftp://x/", CDNURL: "nope", Intents: []string{"message_contents"}},
			wantErr: []string{"api_url:", "cdn_url:", `intents: "message_contents"`}},
		{name: "token with a space", cfg: Config{BotToken: "Bot a b"}, wantErr: []string{"bot_token: must be the bot token alone"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.cfg.settings()
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("settings: %v", err)
				}
				if tc.check != nil {
					tc.check(t, s)
				}
				return
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("settings: %v, want ErrConfig", err)
			}
			var multi interface{ Unwrap() []error }
			if !errors.As(err, &multi) || len(multi.Unwrap()) != len(tc.wantErr) {
				t.Fatalf("problems %v, want %d", err, len(tc.wantErr))
			}
			for i, want := range tc.wantErr {
				if got := multi.Unwrap()[i].Error(); !strings.Contains(got, want) {
					t.Errorf("problem %d: %q lacks %q", i, got, want)
				}
			}
		})
	}
}

func TestConfigNeverPrintsToken(t *testing.T) {
	cfg := Config{BotToken: "MTIz.secret.tok", PersonalAccounts: true}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		if out := fmt.Sprintf(verb, cfg); strings.Contains(out, "secret") {
			t.Errorf("%s shows the token: %s", verb, out)
		}
	}
}

func TestAccountIDs(t *testing.T) {
	tests := []struct {
		id         string
		kind, user string
		ok         bool
	}{
		{"bot:80351110224678912", "bot", "80351110224678912", true},
		{"user:1", "user", "1", true},
		{"user:01", "", "", false},
		{"guest:1", "", "", false},
		{"user:", "", "", false},
		{"user:12a", "", "", false},
		{"80351110224678912", "", "", false},
		{"user:123456789012345678901", "", "", false},
	}
	for _, tc := range tests {
		kind, user, err := ParseAccountID(bridge.AccountID(tc.id))
		if (err == nil) != tc.ok || kind != tc.kind || user != tc.user {
			t.Errorf("ParseAccountID(%q) = %q, %q, %v", tc.id, kind, user, err)
		}
		if tc.ok && string(MakeAccountID(kind, user)) != tc.id {
			t.Errorf("MakeAccountID(%q, %q) = %q", kind, user, MakeAccountID(kind, user))
		}
	}
}
