package slack

import (
	"encoding/json"
	"fmt"
	"slices"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// Decoding of Socket Mode frames. A frame is decoded once, with its Events
// API payload and the inner event inside it (eventBody): the fields the
// router and the sessions read come out of that one pass, and only events
// other than messages and reactions are decoded again, from their raw
// bytes, by the session that handles them. Before, each frame was decoded
// four times over (frame, payload, head of the inner event, then the
// event itself): a fifth of the CPU of a message from Slack.
//
// The decoder is github.com/go-json-experiment/json, the Go team's
// prototype of the standard library's encoding/json/v2, with the options
// that give encoding/json's semantics (frameJSON): it decodes a frame
// about 2.5 times faster than encoding/json with a fifth of its
// allocations (BenchmarkDecodeFrame), and decoding frames was a seventh of
// xgate's CPU samples for a message from Slack.

// frameJSON are the options of every decoding of a frame: encoding/json's
// semantics (names matched without regard to case, duplicate names and
// invalid UTF-8 accepted, null leaving a field as it was), so that a frame
// reads as it did with encoding/json.
var frameJSON = jsonv1.DefaultOptionsV1()

// decodeJSON decodes b into v as encoding/json.Unmarshal does.
func decodeJSON(b []byte, v any) error {
	return jsonv2.Unmarshal(b, v, frameJSON)
}

// socketFrame is what is read of a Socket Mode message. Payload is the
// Events API callback of an events_api frame; the payloads of other frame
// types (interactivity, slash commands), of other shapes, are not read.
type socketFrame struct {
	Type       string    `json:"type"`
	EnvelopeID string    `json:"envelope_id"`
	Reason     string    `json:"reason"`
	Payload    *callback `json:"payload"`
}

// rawFrame is a Socket Mode message whose payload is left undecoded.
type rawFrame struct {
	Type       string         `json:"type"`
	EnvelopeID string         `json:"envelope_id"`
	Reason     string         `json:"reason"`
	Payload    jsontext.Value `json:"payload"`
}

// decodeFrame decodes a Socket Mode message in one pass. A frame whose
// payload is no Events API callback is read again with its payload left
// undecoded: a payload of another shape in a frame of another type is no
// error. On an error, what could be read of the frame is returned with it
// (an events_api frame whose payload does not decode still names its
// envelope).
func decodeFrame(data []byte) (socketFrame, error) {
	var f socketFrame
	err := decodeJSON(data, &f)
	if err == nil {
		if f.Type != "events_api" {
			f.Payload = nil
		}
		return f, nil
	}
	var r rawFrame
	if decodeJSON(data, &r) != nil {
		return socketFrame{}, err // not a frame at all
	}
	f = socketFrame{Type: r.Type, EnvelopeID: r.EnvelopeID, Reason: r.Reason}
	if r.Type != "events_api" {
		return f, nil
	}
	return f, fmt.Errorf("slack: events_api payload: %w", err)
}

// callback is the Events API outer event of an events_api envelope.
type callback struct {
	Type           string `json:"type"`
	TeamID         string `json:"team_id"`
	EventID        string `json:"event_id"`
	EventContext   string `json:"event_context"`
	Authorizations []struct {
		TeamID string `json:"team_id"`
		UserID string `json:"user_id"`
		IsBot  bool   `json:"is_bot"`
	} `json:"authorizations"`
	Event eventBody `json:"event"`
}

// eventBody is an inner event: its raw bytes, what the router reads of it
// (head), and, for messages and reactions, the event decoded in the same
// pass.
type eventBody struct {
	raw      json.RawMessage
	head     innerHead
	msg      *msgEvent      // when head.Type is "message"
	reaction *reactionEvent // when head.Type is reaction_added or reaction_removed
}

// innerHead is what the router reads of an inner event.
type innerHead struct {
	Type    string
	Subtype string
	Channel string // the conversation, given as an ID or as an object with one
	Item    string // the conversation of the item (reactions)
}

// eventFields is the union of the fields read of the inner events decoded
// in one pass. Fields whose JSON type differs between events (user is an
// ID in a message and an object in user_change; channel an ID or an
// object) are read leniently.
type eventFields struct {
	Type            string        `json:"type"`
	Subtype         string        `json:"subtype"`
	User            lenientID     `json:"user"`
	BotID           string        `json:"bot_id"`
	Text            string        `json:"text"`
	TS              string        `json:"ts"`
	ThreadTS        string        `json:"thread_ts"`
	Files           []wireFile    `json:"files"`
	Edited          *editedMark   `json:"edited"`
	Metadata        *wireMetadata `json:"metadata"`
	Channel         lenientID     `json:"channel"`
	ChannelType     string        `json:"channel_type"`
	DeletedTS       string        `json:"deleted_ts"`
	Message         *wireMsg      `json:"message"`
	PreviousMessage *wireMsg      `json:"previous_message"`
	Topic           *string       `json:"topic"` // channel_topic, group_topic
	Reaction        string        `json:"reaction"`
	Item            *struct {
		Type    string `json:"type"`
		Channel string `json:"channel"`
		TS      string `json:"ts"`
	} `json:"item"`
}

// editedMark is the "edited" field of a message.
type editedMark = struct {
	User string `json:"user"`
	TS   string `json:"ts"`
}

// lenientID reads a JSON string, or the "id" of a JSON object; anything
// else reads as "".
type lenientID string

// UnmarshalJSONFrom implements jsonv2.UnmarshalerFrom.
func (l *lenientID) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*l = ""
	switch dec.PeekKind() {
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		*l = lenientID(tok.String())
		return nil
	case '{':
		v, err := dec.ReadValue()
		if err != nil {
			return err
		}
		var obj struct {
			ID string `json:"id"`
		}
		if decodeJSON(v, &obj) == nil {
			*l = lenientID(obj.ID)
		}
		return nil
	default:
		return dec.SkipValue()
	}
}

// UnmarshalJSONFrom implements jsonv2.UnmarshalerFrom: it keeps a copy of
// the event's bytes and decodes them. An event whose fields do not fit the
// union (a field of an unexpected type) is read again for its head only,
// as before.
func (e *eventBody) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	b := []byte(slices.Clone(v)) // v is only valid until the decoder reads on
	*e = eventBody{raw: b}
	var f eventFields
	if err := decodeJSON(b, &f); err != nil {
		return e.readHead(b)
	}
	e.head = innerHead{Type: f.Type, Subtype: f.Subtype, Channel: string(f.Channel)}
	if f.Item != nil {
		e.head.Item = f.Item.Channel
	}
	switch f.Type {
	case "message":
		e.msg = &msgEvent{
			wireMsg: wireMsg{
				Type: f.Type, Subtype: f.Subtype, User: string(f.User), BotID: f.BotID, Text: f.Text,
				TS: f.TS, ThreadTS: f.ThreadTS, Files: f.Files, Edited: f.Edited, Metadata: f.Metadata,
			},
			Channel: string(f.Channel), ChannelType: f.ChannelType, DeletedTS: f.DeletedTS,
			Message: f.Message, PreviousMessage: f.PreviousMessage, Topic: f.Topic,
		}
	case "reaction_added", "reaction_removed":
		ev := &reactionEvent{User: string(f.User), Reaction: f.Reaction}
		if f.Item != nil {
			ev.Item.Type, ev.Item.Channel, ev.Item.TS = f.Item.Type, f.Item.Channel, f.Item.TS
		}
		e.reaction = ev
	}
	return nil
}

// readHead reads only the head of an event that did not decode as a
// whole.
func (e *eventBody) readHead(b []byte) error {
	var h struct {
		Type    string    `json:"type"`
		Subtype string    `json:"subtype"`
		Channel lenientID `json:"channel"`
		Item    struct {
			Channel string `json:"channel"`
		} `json:"item"`
	}
	if err := decodeJSON(b, &h); err != nil {
		return err
	}
	e.head = innerHead{Type: h.Type, Subtype: h.Subtype, Channel: string(h.Channel), Item: h.Item.Channel}
	return nil
}

// payload writes the event back as the payload of an envelope, with what
// envelopeEvent reads of it, for parseEnvelope to read again (a parked
// event, see bridge.Fanout).
func (in *inbound) payload() ([]byte, error) {
	return json.Marshal(struct {
		Type         string          `json:"type"`
		TeamID       string          `json:"team_id"`
		EventID      string          `json:"event_id,omitempty"`
		EventContext string          `json:"event_context,omitempty"`
		Event        json.RawMessage `json:"event"`
	}{"event_callback", in.team, in.eventID, in.eventContext, in.raw})
}

// maxPayload bounds the payload of one envelope.
const maxPayload = 4 << 20

// parseEnvelope reads the payload of an events_api envelope.
func parseEnvelope(payload []byte) (*inbound, error) {
	if len(payload) > maxPayload {
		return nil, fmt.Errorf("slack: envelope payload of %d bytes", len(payload))
	}
	var cb callback
	if err := decodeJSON(payload, &cb); err != nil {
		return nil, fmt.Errorf("slack: envelope payload: %w", err)
	}
	return envelopeEvent(&cb)
}

// envelopeEvent checks the callback of an events_api envelope and returns
// its event for the router.
func envelopeEvent(cb *callback) (*inbound, error) {
	if cb.Type != "event_callback" {
		return nil, fmt.Errorf("slack: envelope payload of type %q", truncate(cb.Type, 40))
	}
	team := cb.TeamID
	if team == "" && len(cb.Authorizations) > 0 {
		team = cb.Authorizations[0].TeamID
	}
	head := cb.Event.head
	if head.Type == "" || !validID(team, teamKinds) {
		return nil, fmt.Errorf("slack: event without type or team")
	}
	in := &inbound{
		team: team, eventID: cb.EventID, eventContext: cb.EventContext,
		typ: head.Type, subtype: head.Subtype, raw: cb.Event.raw,
		msg: cb.Event.msg, reaction: cb.Event.reaction,
	}
	ch := head.Channel
	if ch == "" {
		ch = head.Item
	}
	switch head.Type {
	case "channel_created", "channel_rename", "group_rename":
		// About the workspace's list of conversations: no conversation's
		// members to route by.
		ch = ""
	}
	if ch != "" && !validID(ch, "CDG") {
		return nil, fmt.Errorf("slack: event in conversation %q", truncate(ch, 40))
	}
	in.channel = ch
	return in, nil
}
