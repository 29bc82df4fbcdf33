package ejabberdtest

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/xgate-im/xgate/xmpp"
)

func TestYAMLString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"localhost", `"localhost"`},
		{`quote" back\slash`, `"quote\" back\\slash"`},
		{"a: b # c", `"a: b # c"`},
		{"line\nbreak\ttab", `"line\nbreak\ttab"`},
		{"\x00\x1f", `"\u0000\u001f"`},
		{"ünï", `"ünï"`},
		{"", `""`},
	} {
		if got := yamlString(tc.in); got != tc.want {
			t.Errorf("yamlString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestShellString checks the quoting of ejabberdctl.cfg values with the
// shell that sources it.
func TestShellString(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, in := range []string{"plain", "it's", `$HOME "x" \n`, "a b\tc", "'"} {
		out, err := exec.Command(sh, "-c", "x="+shellString(in)+"; printf %s \"$x\"").Output()
		if err != nil {
			t.Fatalf("sh with %s: %v", shellString(in), err)
		}
		if string(out) != in {
			t.Errorf("shellString(%q) = %s: the shell reads %q", in, shellString(in), out)
		}
	}
}

func TestRenderConfig(t *testing.T) {
	pt := ports{c2s: 5222, component: 5347, dist: 5999}
	for _, tc := range []struct {
		name      string
		opts      Options
		want, not []string
	}{
		{
			name: "defaults",
			opts: Options{},
			want: []string{
				"hosts:\n  - \"localhost\"\n",
				"    port: 5222\n    ip: \"127.0.0.1\"\n    module: ejabberd_c2s\n    starttls: false\n    starttls_required: false\n    shaper: none\n",
				"s2s_access: none\n",
				"registration_timeout: infinity\n",
				"  mod_offline:\n    access_max_user_messages: max_user_offline_messages\n",
				"  mod_register:\n    access: register\n",
			},
			not: []string{"ejabberd_service", "5347"},
		},
		{
			name: "components and host",
			opts: Options{Host: "example.test", Components: []Component{{"gw.example.test", "s"}, {"sms.example.test", `a"b`}}},
			want: []string{
				"hosts:\n  - \"example.test\"\n",
				"    port: 5347\n    ip: \"127.0.0.1\"\n    module: ejabberd_service\n    shaper: none\n",
				"      \"gw.example.test\":\n        password: \"s\"\n",
				"      \"sms.example.test\":\n        password: \"a\\\"b\"\n",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := renderConfig(tc.opts, pt)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("config lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("config has %q:\n%s", n, got)
				}
			}
		})
	}
}

func TestRenderCtlConfig(t *testing.T) {
	p := paths{watchdog: "/tmp/x/watchdog.args"}
	got := renderCtlConfig(p, ports{dist: 4370}, node{name: "xgate-1@localhost", cookie: "c"})
	for _, w := range []string{
		"ERLANG_NODE='xgate-1@localhost'\n",
		"ERL_DIST_PORT=4370\n",
		`case "$1" in foreground|foreground-quiet) ERL_OPTIONS='-args_file /tmp/x/watchdog.args' ;; esac`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("ejabberdctl.cfg lacks %q:\n%s", w, got)
		}
	}
	if strings.Contains(got, "INET_DIST_INTERFACE") {
		t.Errorf("ejabberdctl.cfg sets INET_DIST_INTERFACE, which costs an Erlang start:\n%s", got)
	}
}

// TestRegisterConflict registers an existing account again and a fresh
// one in the same batch: the first is refused with a conflict, the second
// created.
func TestRegisterConflict(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{Users: map[string]string{"alice": "pw"}})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	err := register(ctx, s.C2SAddr(), s.Host(), map[string]string{"alice": "other", "bob": "pw"})
	var se *xmpp.StanzaError
	if !errors.Is(err, ErrRegister) || !errors.As(err, &se) || se.Condition != xmpp.CondConflict {
		t.Fatalf("register an existing account: %v, want ErrRegister with a conflict", err)
	}
	if strings.Contains(err.Error(), "bob") {
		t.Errorf("the fresh account failed too: %v", err)
	}
	if err := register(ctx, s.C2SAddr(), s.Host(), map[string]string{"bob": "again"}); !errors.Is(err, ErrRegister) {
		t.Errorf("bob was not created: registering him again gave %v", err)
	}
	if err := register(ctx, s.C2SAddr(), s.Host(), map[string]string{"carol": ""}); err == nil {
		t.Error("an empty password was accepted")
	}
}
