package store

import (
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"
)

// Room is a remote group chat (a channel, a thread, a group SMS) bridged as
// a MUC room on one transport instance. Chat is the bridge's name of the
// chat, opaque to the store; Local is the room's JID localpart. Like a
// contact's, the mapping is made once and never changes, so room JIDs stay
// stable.
type Room struct {
	Transport string
	Chat      string
	Local     string
	// Parent is the chat's parent (a Discord guild or category, the
	// channel of a thread), opaque like Chat; empty if none.
	Parent string
	Name   string
	Topic  string
}

// roomRecord is the JSON value in rooms_by_chat; transport and chat live
// in the key.
type roomRecord struct {
	Local  string `json:"local"`
	Parent string `json:"parent,omitempty"`
	Name   string `json:"name,omitempty"`
	Topic  string `json:"topic,omitempty"`
}

func roomBuckets(tx *bbolt.Tx) (byChat, byLocal *bbolt.Bucket, err error) {
	if byChat, err = bucket(tx, bucketRoomsByChat); err != nil {
		return nil, nil, err
	}
	if byLocal, err = bucket(tx, bucketRoomsByLocal); err != nil {
		return nil, nil, err
	}
	return byChat, byLocal, nil
}

// PutRoom stores a room in both directions in one transaction. Its name,
// topic and parent may change; if the chat is already mapped to another
// localpart, or the localpart to another chat, it returns ErrConflict and
// changes nothing.
func (db *DB) PutRoom(r Room) error {
	if err := checkIDs("transport", r.Transport, "chat", r.Chat, "localpart", r.Local); err != nil {
		return fmt.Errorf("store: put room: %w", err)
	}
	v, err := json.Marshal(roomRecord{Local: r.Local, Parent: r.Parent, Name: r.Name, Topic: r.Topic})
	if err != nil {
		return fmt.Errorf("store: put room: %w", err)
	}
	ck, lk := joinKey(r.Transport, r.Chat), joinKey(r.Transport, r.Local)
	err = db.update(func(tx *bbolt.Tx) error {
		byChat, byLocal, err := roomBuckets(tx)
		if err != nil {
			return err
		}
		if old := byChat.Get(ck); old != nil {
			var rec roomRecord
			if err := json.Unmarshal(old, &rec); err != nil {
				return fmt.Errorf("room %q: %v: %w", ck, err, ErrCorrupt)
			}
			if rec.Local != r.Local {
				return fmt.Errorf("chat already mapped to localpart %q: %w", rec.Local, ErrConflict)
			}
		}
		if oldChat := byLocal.Get(lk); oldChat != nil && string(oldChat) != r.Chat {
			return fmt.Errorf("localpart already mapped to chat %q: %w", oldChat, ErrConflict)
		}
		if err := byChat.Put(ck, v); err != nil {
			return err
		}
		return byLocal.Put(lk, []byte(r.Chat))
	})
	if err != nil {
		return fmt.Errorf("store: put room %s %q -> %q: %w", r.Transport, r.Chat, r.Local, err)
	}
	return nil
}

// RoomByChat returns the room of a chat, or ErrNotFound.
func (db *DB) RoomByChat(transport, chat string) (Room, error) {
	if err := checkIDs("transport", transport, "chat", chat); err != nil {
		return Room{}, fmt.Errorf("store: room by chat: %w", err)
	}
	var r Room
	err := db.view(func(tx *bbolt.Tx) error {
		byChat, _, err := roomBuckets(tx)
		if err != nil {
			return err
		}
		v := byChat.Get(joinKey(transport, chat))
		if v == nil {
			return ErrNotFound
		}
		r, err = decodeRoom(transport, chat, v)
		return err
	})
	if err != nil {
		return Room{}, fmt.Errorf("store: room %s chat %q: %w", transport, chat, err)
	}
	return r, nil
}

// RoomByLocal returns the room with a JID localpart, or ErrNotFound.
func (db *DB) RoomByLocal(transport, localpart string) (Room, error) {
	if err := checkIDs("transport", transport, "localpart", localpart); err != nil {
		return Room{}, fmt.Errorf("store: room by localpart: %w", err)
	}
	var r Room
	err := db.view(func(tx *bbolt.Tx) error {
		byChat, byLocal, err := roomBuckets(tx)
		if err != nil {
			return err
		}
		chat := byLocal.Get(joinKey(transport, localpart))
		if chat == nil {
			return ErrNotFound
		}
		v := byChat.Get(joinKey(transport, string(chat)))
		if v == nil {
			return fmt.Errorf("localpart %q names chat %q without a room: %w", localpart, chat, ErrCorrupt)
		}
		r, err = decodeRoom(transport, string(chat), v)
		return err
	})
	if err != nil {
		return Room{}, fmt.Errorf("store: room %s localpart %q: %w", transport, localpart, err)
	}
	return r, nil
}

// Rooms returns the rooms of a transport instance, ordered by chat.
func (db *DB) Rooms(transport string) ([]Room, error) {
	if err := checkID("transport", transport); err != nil {
		return nil, fmt.Errorf("store: rooms: %w", err)
	}
	var out []Room
	err := db.view(func(tx *bbolt.Tx) error {
		byChat, _, err := roomBuckets(tx)
		if err != nil {
			return err
		}
		prefix := prefixKey(transport)
		return scanPrefix(byChat, prefix, func(k, v []byte) error {
			r, err := decodeRoom(transport, string(k[len(prefix):]), v)
			if err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: rooms of %s: %w", transport, err)
	}
	return out, nil
}

// DeleteRoom removes both directions of a room, or returns ErrNotFound.
func (db *DB) DeleteRoom(transport, chat string) error {
	if err := checkIDs("transport", transport, "chat", chat); err != nil {
		return fmt.Errorf("store: delete room: %w", err)
	}
	ck := joinKey(transport, chat)
	err := db.update(func(tx *bbolt.Tx) error {
		byChat, byLocal, err := roomBuckets(tx)
		if err != nil {
			return err
		}
		v := byChat.Get(ck)
		if v == nil {
			return ErrNotFound
		}
		r, err := decodeRoom(transport, chat, v)
		if err != nil {
			return err
		}
		lk := joinKey(transport, r.Local)
		if string(byLocal.Get(lk)) == chat {
			if err := byLocal.Delete(lk); err != nil {
				return err
			}
		}
		return byChat.Delete(ck)
	})
	if err != nil {
		return fmt.Errorf("store: delete room %s %q: %w", transport, chat, err)
	}
	return nil
}

func decodeRoom(transport, chat string, v []byte) (Room, error) {
	var rec roomRecord
	if err := json.Unmarshal(v, &rec); err != nil || rec.Local == "" {
		return Room{}, fmt.Errorf("room %s %q: bad record: %w", transport, chat, ErrCorrupt)
	}
	return Room{Transport: transport, Chat: chat, Local: rec.Local, Parent: rec.Parent, Name: rec.Name, Topic: rec.Topic}, nil
}
