package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xgate-im/xgate/bridge"
	"github.com/xgate-im/xgate/store"
	"github.com/xgate-im/xgate/transports/discord"
	"github.com/xgate-im/xgate/transports/slack"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// scenario is one shape of load.
type scenario struct {
	Name   string `json:"name"`
	Users  int    `json:"users"`  // registered XMPP users, each with a Slack account
	Chats  int    `json:"chats"`  // direct-message partners of each user
	Active int    `json:"active"` // users whose chats carry the load (all chats of user 0 when Users is 1)
	// Contacts and MessageRefs are extra mappings seeded into the store.
	Contacts    int  `json:"contacts,omitempty"`
	MessageRefs int  `json:"message_refs,omitempty"`
	StartupOnly bool `json:"startup_only,omitempty"`
}

// scenarios are the named scenarios, in report order.
var scenarios = []scenario{
	{Name: "1u1c", Users: 1, Chats: 1, Active: 1},
	{Name: "1u8c", Users: 1, Chats: 8, Active: 1},
	{Name: "1k", Users: 1000, Chats: 1, Active: 8},
	{Name: "10k", Users: 10000, Chats: 1, Active: 8},
	{Name: "startup", Users: 10000, Chats: 1, Contacts: 100000, MessageRefs: 100000, StartupOnly: true},
}

// userName is the XMPP localpart (and Prosody account) of local user i.
func userName(i int) string { return fmt.Sprintf("u%d", i) }

// loadChat is one chat that carries load: the XMPP user, the Slack
// partner and their conversation.
type loadChat struct {
	user    int    // index of the local user
	peer    string // Slack member ID of the partner
	im      string // the conversation
	peerJID string
}

// loadChats returns the chats of a scenario that carry load.
func loadChats(n network, sc scenario, w *fakeWorld) []loadChat {
	var out []loadChat
	add := func(u, c int) {
		ch := w.Users[u].Chats[c]
		out = append(out, loadChat{user: u, peer: ch.Peer, im: ch.IM, peerJID: n.peerJID(w, ch.Peer)})
	}
	if sc.Users == 1 {
		for c := range sc.Chats {
			add(0, c)
		}
		return out
	}
	for u := range min(sc.Active, sc.Users) {
		add(u, 0)
	}
	return out
}

// seedStore registers every local user's Slack account in a new store at
// path, the way the registration form does (auth.test against the fake),
// and adds the scenario's extra contact and message-ID mappings. It opens
// the store without fsync: seeding is set-up, not measured.
func seedStore(ctx context.Context, n network, path string, sc scenario, w *fakeWorld) error {
	key, err := store.ParseKey([]byte(storeKeyHex))
	if err != nil {
		return err
	}
	db, err := store.Open(path, store.Options{Key: key, NoSync: true})
	if err != nil {
		return err
	}
	defer db.Close()
	tr, err := registrarFor(n, w)
	if err != nil {
		return err
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int)
	)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				data, err := tr.Register(ctx, map[string]string{"token": w.Users[i].Token})
				if err == nil {
					err = bridge.Provision(db, n.Name, jid.MustParse(userName(i)+"@localhost"), data)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("user %d: %w", i, err))
					mu.Unlock()
				}
			}
		})
	}
	for i := range w.Users {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("seeding accounts: %w (and %d more)", errs[0], len(errs)-1)
	}
	for i := range sc.Contacts {
		if i%1000 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		uid, local := seedContact(n, w, i)
		if err := db.PutContact(n.Name, uid, local); err != nil {
			return fmt.Errorf("seeding contacts: %w", err)
		}
	}
	const chunk = 5000
	at := time.Now()
	for i := 0; i < sc.MessageRefs; i += chunk {
		var refs []store.MessageRef
		for j := i; j < min(i+chunk, sc.MessageRefs); j++ {
			u := j % max(len(w.Users), 1)
			refs = append(refs, store.MessageRef{
				Scope:    seedScope(n, w, u),
				XMPPID:   fmt.Sprintf("seed-%d", j),
				RemoteID: fmt.Sprintf("1700000000.%06d", j),
				At:       at,
			})
		}
		if err := db.PutMessageRefs(refs...); err != nil {
			return fmt.Errorf("seeding message refs: %w", err)
		}
	}
	return nil
}

// copyFile copies src to dst (mode 0600).
func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// scenarioByName finds a scenario.
func scenarioByName(name string) (scenario, bool) {
	for _, s := range scenarios {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return scenario{}, false
}

// accountsFor returns the Prosody accounts of a scenario's users.
func accountsFor(users int) []accountSpec {
	out := make([]accountSpec, users)
	for i := range out {
		out[i] = accountSpec{user: userName(i), password: "pw"}
	}
	return out
}

// registrar is the part of a transport that seeding uses: its
// registration, as the form calls it.
type registrar interface {
	Register(ctx context.Context, values map[string]string) (bridge.AccountData, error)
}

// registrarFor returns the transport that registers the accounts of a
// network against its fake: Slack user tokens, or Discord user tokens as
// personal accounts. Either is registered with {"token": TOKEN}.
func registrarFor(n network, w *fakeWorld) (registrar, error) {
	log := slog.New(slog.DiscardHandler)
	if n.Name == "discord" {
		return discord.New(discord.Config{APIURL: w.APIURL, PersonalAccounts: true}, log, nil)
	}
	return slack.New(slack.Config{APIURL: w.APIURL, AppToken: w.AppToken}, log, nil)
}

// seedContact returns the i-th extra contact mapping (remote user ID and
// JID localpart) of the startup scenario: users the fake does not know.
func seedContact(n network, w *fakeWorld, i int) (id, localpart string) {
	if n.Name == "discord" {
		id = strconv.FormatUint(900000000000000000+uint64(i), 10)
		return id, id
	}
	uid := slack.MakeUserID(w.Team, fmt.Sprintf("U9%08d", i))
	return string(uid), slack.ContactLocalpart(uid)
}

// seedScope is the message-ID scope of local user u's first chat as the
// bridge writes it: instance, user, account, chat.
func seedScope(n network, w *fakeWorld, u int) string {
	if n.Name == "discord" {
		return fmt.Sprintf("discord|%s@localhost|%s|%d", userName(u), discord.MakeAccountID("user", w.Users[u].ID), 800000000000000000+u)
	}
	return fmt.Sprintf("slack|%s@localhost|%s.%s|D%08d", userName(u), w.Team, w.Users[u].ID, u)
}
