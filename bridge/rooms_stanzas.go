package bridge

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"

	"github.com/xgate-im/xgate/xmpp"
	"github.com/xgate-im/xgate/xmpp/disco"
	"github.com/xgate-im/xgate/xmpp/form"
	"github.com/xgate-im/xgate/xmpp/jid"
)

// Room stanzas: plain functions of what the caller resolved about a room.
// They do no I/O.

// Namespaces of the room side.
const (
	NSMUC         = "http://jabber.org/protocol/muc"
	NSMUCUser     = "http://jabber.org/protocol/muc#user"
	NSMUCRoomInfo = "http://jabber.org/protocol/muc#roominfo"
	NSOccupantID  = "urn:xmpp:occupant-id:0"
)

// XEP-0045 status codes the gateway sends.
const (
	statusNonAnonymous = 100 // the room shows real JIDs
	statusSelf         = 110 // this presence is about you
	statusNickChanged  = 210 // the room changed your nick
	statusRemoved      = 321 // removed: the account is no longer in the chat
)

// occupant is one occupant as a presence describes it.
type occupant struct {
	Nick string
	// RealJID is the occupant's JID (a contact JID for a remote person,
	// the user's full JID for themselves), shown since rooms are
	// non-anonymous; zero to leave it out.
	RealJID jid.JID
	Role    Role
	// ID is the XEP-0421 occupant id.
	ID string
	// Presence is the person's presence on the network, when known. A
	// member who is offline stays an occupant, shown extended away.
	Presence *Presence
	// Photo is what the user's vCard of the person showed of their
	// picture: its XEP-0153 hash goes with the presence when known.
	Photo photo
}

// occupantID returns the XEP-0421 id of an occupant: stable for a person
// (a remote user ID, or a user's bare JID) in a room, and telling nothing
// of who it is.
func occupantID(room jid.JID, who string) string {
	sum := sha256.Sum256([]byte(room.Bare().String() + "\x00" + who))
	return base64.RawURLEncoding.EncodeToString(sum[:15])
}

// mucAffiliation returns the XEP-0045 affiliation and role of a group
// role.
func mucAffiliation(r Role) (affiliation, role string) {
	switch r {
	case RoleOwner:
		return "owner", "moderator"
	case RoleAdmin:
		return "admin", "moderator"
	case RoleModerator:
		return "member", "moderator"
	}
	return "member", "participant"
}

// occupantPresence is the presence of an occupant in room for one of the
// user's resources: available, or unavailable when it left. statuses are
// XEP-0045 status codes.
func occupantPresence(room, to jid.JID, o occupant, unavailable bool, statuses ...int) *xmpp.Presence {
	from, err := room.Bare().WithResource(o.Nick)
	if err != nil {
		from = room.Bare()
	}
	p := &xmpp.Presence{Header: xmpp.Header{From: from, To: to}}
	if pr := o.Presence; pr != nil && !unavailable {
		applyPresence(p, *pr)
		if pr.Show == ShowOffline {
			p.Type, p.Show = xmpp.PresenceAvailable, "xa"
		}
	}
	aff, role := mucAffiliation(o.Role)
	if unavailable {
		p.Type, role = xmpp.PresenceUnavailable, "none"
	}
	item := xmpp.NewElement(NSMUCUser, "item", "affiliation", aff, "role", role)
	if !o.RealJID.IsZero() {
		item.SetAttr("jid", o.RealJID.String())
	}
	x := xmpp.NewElement(NSMUCUser, "x").Append(item)
	for _, s := range statuses {
		x.Append(xmpp.NewElement(NSMUCUser, "status", "code", strconv.Itoa(s)))
	}
	p.Extra = append(p.Extra, x)
	if o.ID != "" {
		p.Extra = append(p.Extra, xmpp.NewElement(NSOccupantID, "occupant-id", "id", o.ID))
	}
	if x := o.Photo.element(); x != nil && !unavailable {
		p.Extra = append(p.Extra, x)
	}
	return p
}

// subjectMessage is the message that gives a room's subject: the last
// thing a joining occupant gets. An empty subject is an empty <subject/>.
func subjectMessage(room, to jid.JID, id, subject string) *xmpp.Message {
	m := &xmpp.Message{Header: xmpp.Header{From: room.Bare(), To: to, ID: id, Type: xmpp.MessageGroupchat}, Subject: subject}
	if subject == "" {
		m.Extra = []*xmpp.Element{xmpp.NewElement("", "subject")}
	}
	return m
}

// roomMessageStanza converts a message of a room for one resource: c.From
// is the sender's occupant JID (the user's own nick for a message they
// wrote elsewhere). The id is also the room's XEP-0359 stanza-id, which
// clients use to name the message in reactions, retractions and replies.
// A message of the room's history carries a XEP-0203 delay from the room.
func roomMessageStanza(c chatStanza, ev MessageEvent, history bool) *xmpp.Message {
	ev.FromSelf, ev.SenderName = false, ""
	ev.Historical = false
	m := messageStanza(c, ev)
	m.Type = xmpp.MessageGroupchat
	m.StanzaIDs = []xmpp.StanzaID{{ID: m.ID, By: c.From.Bare().String()}}
	for _, x := range m.Extra {
		if x.Name.Space == NSReply {
			// The author of the message replied to is not known here;
			// the id alone (the room's stanza-id) names it.
			x.SetAttr("to", "")
		}
	}
	if history && !ev.Time.IsZero() {
		m.Delay = &xmpp.Delay{Stamp: ev.Time, From: c.From.Bare().String()}
	}
	return m
}

// inRoom makes a converted 1:1 stanza (a correction, a retraction, a
// reaction, a chat state) a groupchat one.
func inRoom(m *xmpp.Message) *xmpp.Message {
	m.Type = xmpp.MessageGroupchat
	return m
}

// roomDisco is the disco#info of a room: a XEP-0045 room that is
// persistent (it is the remote chat), members-only (only members of the
// chat can join), non-anonymous (occupants show contact JIDs), public or
// hidden as the chat is, with XEP-0128 room information, and with a
// XEP-0313 archive when the network's history can be read.
func roomDisco(name, subject string, private bool, occupants int, archive bool) *disco.Info {
	info := &disco.Info{
		Identities: []disco.Identity{{Category: "conference", Type: "text", Name: name}},
		Features: []string{
			disco.NSInfo, NSMUC, NSOccupantID, xmpp.NSPing,
			"muc_persistent", "muc_membersonly", "muc_nonanonymous", "muc_unmoderated", "muc_unsecured",
		},
	}
	if archive {
		info.Features = append(info.Features, NSMAM)
	}
	if private {
		info.Features = append(info.Features, "muc_hidden")
	} else {
		info.Features = append(info.Features, "muc_public")
	}
	f := &form.Form{Type: form.TypeResult}
	f.Set("FORM_TYPE", NSMUCRoomInfo)
	f.Set("muc#roomconfig_roomname", name)
	f.Set("muc#roominfo_subject", subject)
	if occupants > 0 {
		f.Set("muc#roominfo_occupants", strconv.Itoa(occupants))
	}
	f.Field("FORM_TYPE").Type = form.FieldHidden
	info.Forms = []*form.Form{f}
	return info
}

// mucJoin returns the XEP-0045 <x/> of a join presence, or nil when the
// presence is not a join (a presence update of an occupant).
func mucJoin(p *xmpp.Presence) *xmpp.Element {
	for _, x := range p.Extra {
		if x.Name.Space == NSMUC && x.Name.Local == "x" {
			return x
		}
	}
	return nil
}
