package bridge

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/xgate-im/xgate/xmpp"
)

// NSVCard is XEP-0054 vcard-temp.
const NSVCard = "vcard-temp"

// NSVCardUpdate is XEP-0153 vCard-based avatars.
const NSVCardUpdate = "vcard-temp:x:update"

// handleVCard answers a vCard request for a contact JID from the profile
// the network gives, or the name and picture of the person's messages
// (accounts.personVCard).
func (rt *router) handleVCard(ctx context.Context, iq *xmpp.IQ) {
	if iq.Type != xmpp.IQGet {
		rt.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondNotAllowed, "Contacts' vCards are read-only"))
		return
	}
	if iq.To.Local() == "" {
		v := xmpp.NewElement(NSVCard, "vCard").Append(xmpp.TextElement("", "FN", rt.info.Name+" gateway"))
		rt.out.reply(ctx, iq, v)
		return
	}
	uid, err := rt.contacts.userFor(iq.To.Local())
	if err != nil {
		rt.out.replyError(ctx, iq, xmpp.NewStanzaError(xmpp.CondItemNotFound, ""))
		return
	}
	acc, err := rt.accounts.accountFor(iq.From, uid)
	if err != nil {
		rt.out.replyError(ctx, iq, userError(err))
		return
	}
	// A profile or a picture is network I/O: never block the dispatcher.
	rt.life.wg.Go(func() {
		pctx, cancel := context.WithTimeout(rt.life.ctx, 20*time.Second)
		defer cancel()
		v, shown, se := rt.accounts.personVCard(pctx, acc, uid)
		if se != nil {
			rt.out.replyError(ctx, iq, se)
			return
		}
		rt.out.reply(ctx, iq, v)
		rt.accounts.learnPhoto(pctx, acc, uid, shown)
	})
}

// vcardElement builds a vcard-temp element.
func vcardElement(p Profile) *xmpp.Element {
	v := xmpp.NewElement(NSVCard, "vCard")
	add := func(name, val string) {
		if val != "" {
			v.Append(xmpp.TextElement("", name, val))
		}
	}
	add("FN", p.Name)
	add("NICKNAME", p.Nick)
	add("TITLE", p.Title)
	add("URL", p.URL)
	if p.Email != "" {
		v.Append(xmpp.NewElement("", "EMAIL").Append(xmpp.NewElement("", "INTERNET"), xmpp.TextElement("", "USERID", p.Email)))
	}
	if p.Phone != "" {
		v.Append(xmpp.NewElement("", "TEL").Append(xmpp.NewElement("", "VOICE"), xmpp.TextElement("", "NUMBER", p.Phone)))
	}
	if len(p.Avatar) > 0 {
		typ := p.AvatarType
		if typ == "" {
			typ = "image/png"
		}
		v.Append(xmpp.NewElement("", "PHOTO").Append(
			xmpp.TextElement("", "TYPE", typ),
			xmpp.TextElement("", "BINVAL", base64.StdEncoding.EncodeToString(p.Avatar)),
		))
	}
	return v
}
