package discord

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
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
	return bridge.AccountData{
		ID: MakeAccountID(kindBot, user), Name: fmt.Sprintf("%s (@%s, through the gateway's bot)", u.display(), u.Username),
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
