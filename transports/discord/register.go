package discord

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/xgate-im/xgate/bridge"
)

// Registration. A personal account is one form: the user token, checked
// with GET /users/@me. Linking a Discord user to the bot takes two: the
// user ID, then the code the bot sends that user in a direct message, so
// that nobody can link someone else's Discord user and read their
// messages with the bot.

// linkCode is a code the bot sent to a Discord user who asked to link.
type linkCode struct {
	code     string
	expires  time.Time
	attempts int
}

// Bounds of linking.
const (
	linkCodeTTL      = 15 * time.Minute
	linkCodeAttempts = 5
)

// Register implements bridge.Transport for callers that have every value
// at once (a personal token, or a user ID with its code).
func (t *Transport) Register(ctx context.Context, values map[string]string) (bridge.AccountData, error) {
	acct, form, err := t.RegisterStep(ctx, values)
	if err != nil {
		return bridge.AccountData{}, err
	}
	if form != nil {
		return bridge.AccountData{}, fmt.Errorf("discord: enter the code the bot sent you in a direct message: %w", bridge.ErrInvalidInput)
	}
	return acct, nil
}

// RegisterStep implements bridge.MultiStepRegistrar.
func (t *Transport) RegisterStep(ctx context.Context, values map[string]string) (bridge.AccountData, *bridge.RegistrationForm, error) {
	token := strings.TrimSpace(values["token"])
	user := strings.TrimSpace(values["user"])
	switch {
	case token != "":
		acct, err := t.registerPersonal(ctx, token)
		return acct, nil, err
	case user != "":
		return t.registerLink(ctx, user, strings.TrimSpace(values["code"]))
	}
	return bridge.AccountData{}, nil, fmt.Errorf("discord: enter your Discord user ID or your user token: %w", bridge.ErrInvalidInput)
}

// me is the part of GET /users/@me and user objects this transport reads.
type me struct {
	ID         string `json:"id"`
	Username   string `json:"username"`
	GlobalName string `json:"global_name"`
	Avatar     string `json:"avatar"`
	Bot        bool   `json:"bot"`
}

func (u me) display() string {
	if u.GlobalName != "" {
		return u.GlobalName
	}
	return u.Username
}

// registerPersonal checks a user token.
func (t *Transport) registerPersonal(ctx context.Context, token string) (bridge.AccountData, error) {
	if !t.set.personal {
		return bridge.AccountData{}, fmt.Errorf("discord: this gateway does not accept personal accounts: %w", bridge.ErrInvalidInput)
	}
	token = strings.TrimPrefix(token, "Bearer ")
	if strings.HasPrefix(token, "Bot ") {
		return bridge.AccountData{}, fmt.Errorf("discord: this is a bot token; enter your own user token: %w", bridge.ErrInvalidInput)
	}
	var u me
	c := newConn(t, token, false, t.log)
	if err := c.request(ctx, "users/@me", "GET", discordgo.EndpointUser("@me"), discordgo.EndpointUsers, nil, &u); err != nil {
		return bridge.AccountData{}, err
	}
	if u.Bot || !isSnowflake(u.ID) {
		return bridge.AccountData{}, fmt.Errorf("discord: this token is not a user's: %w", bridge.ErrInvalidInput)
	}
	return bridge.AccountData{
		ID: MakeAccountID(kindUser, u.ID), Name: fmt.Sprintf("%s (@%s, own account)", u.display(), u.Username),
		Secrets: map[string]string{"token": token},
	}, nil
}

// registerLink links a Discord user to the bot: first it sends the code,
// then it checks it.
func (t *Transport) registerLink(ctx context.Context, user, code string) (bridge.AccountData, *bridge.RegistrationForm, error) {
	if t.bot == nil {
		return bridge.AccountData{}, nil, fmt.Errorf("discord: this gateway has no bot; register with your user token: %w", bridge.ErrInvalidInput)
	}
	if !isSnowflake(user) {
		return bridge.AccountData{}, nil, fmt.Errorf("discord: %q is not a Discord user ID (a number like 80351110224678912): %w", user, bridge.ErrInvalidInput)
	}
	if code == "" {
		if _, linked := t.recall(linkKey(user)); linked {
			return bridge.AccountData{}, nil, errAlreadyLinked()
		}
		if err := t.sendLinkCode(ctx, user); err != nil {
			return bridge.AccountData{}, nil, err
		}
		return bridge.AccountData{}, &bridge.RegistrationForm{
			Title:        "Link your Discord user",
			Instructions: "The gateway's bot sent you a code in a direct message on Discord. Enter it here within 15 minutes.",
			Fields: []bridge.Field{{
				Var: "code", Label: "Code from the bot", Type: bridge.FieldText, Required: true,
			}},
		}, nil
	}
	if err := t.checkLinkCode(user, code); err != nil {
		return bridge.AccountData{}, nil, err
	}
	var u me
	if err := t.bot.request(ctx, "users/{id}", "GET", discordgo.EndpointUser(user), discordgo.EndpointUsers, nil, &u); err != nil {
		return bridge.AccountData{}, nil, err
	}
	secret, err := t.newLink(user)
	if err != nil {
		return bridge.AccountData{}, nil, err
	}
	return bridge.AccountData{
		ID: MakeAccountID(kindBot, user), Name: fmt.Sprintf("%s (@%s, through the gateway's bot)", u.display(), u.Username),
		Settings: map[string]string{linkSetting: secret},
	}, nil, nil
}

// sendLinkCode makes a code and sends it to user from the bot.
func (t *Transport) sendLinkCode(ctx context.Context, user string) error {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return fmt.Errorf("discord: link code: %w", err)
	}
	code := fmt.Sprintf("%06d", n.Int64())
	ch, err := openDM(ctx, t.bot, user)
	if err != nil {
		return fmt.Errorf("discord: the bot cannot write to you (do you share a server with it?): %w", err)
	}
	text := "Your code to link this Discord account to XMPP: " + code + "\nEnter it in your XMPP client within 15 minutes. If you did not ask for it, ignore this message."
	if _, err := postMessage(ctx, t.bot, ch, outgoing{Content: text}); err != nil {
		return err
	}
	t.mu.Lock()
	t.codes[user] = linkCode{code: code, expires: time.Now().Add(linkCodeTTL)}
	t.mu.Unlock()
	return nil
}

// checkLinkCode checks and consumes a code.
func (t *Transport) checkLinkCode(user, code string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	lc, ok := t.codes[user]
	if !ok || time.Now().After(lc.expires) {
		delete(t.codes, user)
		return fmt.Errorf("discord: no code is waiting for this user, or it expired; start again: %w", bridge.ErrAuth)
	}
	if subtle.ConstantTimeCompare([]byte(lc.code), []byte(code)) != 1 {
		lc.attempts++
		if lc.attempts >= linkCodeAttempts {
			delete(t.codes, user)
		} else {
			t.codes[user] = lc
		}
		return fmt.Errorf("discord: wrong code: %w", bridge.ErrAuth)
	}
	delete(t.codes, user)
	return nil
}

// Links. A Discord user is linked to one XMPP account at a time: the
// link's secret is kept in the State ("link/USER") and in the account's
// settings, and a login whose secret is not the kept one is refused (the
// Discord user was linked again since, elsewhere). The Discord user ends a
// link by writing "unlink" to the bot.

// linkSetting is the account setting holding the link's secret.
const linkSetting = "link"

// unlinkCommand is what a linked Discord user writes to the bot to end
// the link.
const unlinkCommand = "unlink"

// newLink records a link of user and returns its secret, or refuses one
// when user is linked already.
func (t *Transport) newLink(user string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.recall(linkKey(user)); ok {
		return "", errAlreadyLinked()
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("discord: link secret: %w", err)
	}
	secret := hex.EncodeToString(b[:])
	if err := t.state.Put(linkKey(user), secret); err != nil {
		return "", fmt.Errorf("discord: keep the link: %w: %w", stateErr("put", linkKey(user), err), bridge.ErrTemporary)
	}
	return secret, nil
}

// errAlreadyLinked is the refusal of a second link, with what to do.
func errAlreadyLinked() error {
	return fmt.Errorf("%w. If that is you, write %q to the bot on Discord to end the old link, then register again: %w",
		ErrAlreadyLinked, unlinkCommand, bridge.ErrInvalidInput)
}

// checkLink refuses the login of a bot-linked account whose link is not
// the kept one. An account from before links were kept adopts the link.
func (t *Transport) checkLink(user, secret string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	kept, ok := t.recall(linkKey(user))
	switch {
	case !ok:
		t.remember(linkKey(user), secret)
		return nil
	case kept != secret:
		return fmt.Errorf("discord: this Discord user was unlinked, or linked to another XMPP address since; register again to link it: %w", bridge.ErrAuth)
	}
	return nil
}

// unlink ends the link of user (who wrote "unlink" to the bot): the
// account's session is logged out, and the user told on Discord.
func (t *Transport) unlink(ctx context.Context, user, channel string) {
	t.mu.Lock()
	_, linked := t.recall(linkKey(user))
	if linked {
		if err := t.state.Delete(linkKey(user)); err != nil {
			t.log.Error("could not end a link", "err", stateErr("delete", linkKey(user), err))
		}
	}
	t.mu.Unlock()
	text := "This Discord account is not linked to XMPP."
	if linked {
		text = "This Discord account is no longer linked to XMPP. To link it again, register on the XMPP gateway."
		if s, ok := t.fanout.Session(MakeAccountID(kindBot, user)); ok {
			s.(*Session).markLoggedOut(ctx, "The Discord user ended the link (wrote \""+unlinkCommand+"\" to the bot). Register again to link it.")
		}
	}
	if _, err := postMessage(ctx, t.bot, channel, outgoing{Content: text, AllowedMentions: defaultMentions()}); err != nil {
		t.log.Warn("could not answer an unlink", "err", err)
	}
}
