package bridge

import (
	"errors"
	"sync"

	"github.com/xgate-im/xgate/store"
)

// roomCache keeps the room mapping (store.Room, both directions) of one
// gateway instance in memory: every room message looks its room up by
// chat and then by localpart, and reading the store for each cost a tenth
// of a fanned-out message. The store stays the truth: a miss reads it,
// and every write of the bridge goes through put, which writes the store
// first and then the cache, so that a renamed room (its Name or Topic)
// is never read stale. A mapping that is removed from the store is
// dropped with forget (the bridge removes none: room JIDs are for good). Only found rooms are kept: a chat without a room
// yet is read from the store again next time (and then mapped).
type roomCache struct {
	db        *store.DB
	transport string

	mu      sync.RWMutex
	byChat  map[string]store.Room
	byLocal map[string]store.Room
}

// newRoomCache returns an empty cache of one gateway instance's rooms.
func newRoomCache(db *store.DB, transport string) *roomCache {
	return &roomCache{db: db, transport: transport, byChat: map[string]store.Room{}, byLocal: map[string]store.Room{}}
}

// byChatID returns the room of a chat, or an error wrapping
// store.ErrNotFound.
func (c *roomCache) byChatID(chat string) (store.Room, error) {
	c.mu.RLock()
	rm, ok := c.byChat[chat]
	c.mu.RUnlock()
	if ok {
		return rm, nil
	}
	rm, err := c.db.RoomByChat(c.transport, chat)
	if err != nil {
		return rm, err
	}
	return c.keep(rm, false), nil
}

// byLocalpart returns the room with a localpart, or an error wrapping
// store.ErrNotFound.
func (c *roomCache) byLocalpart(local string) (store.Room, error) {
	c.mu.RLock()
	rm, ok := c.byLocal[local]
	c.mu.RUnlock()
	if ok {
		return rm, nil
	}
	rm, err := c.db.RoomByLocal(c.transport, local)
	if err != nil {
		return rm, err
	}
	return c.keep(rm, false), nil
}

// put stores a room (store.DB.PutRoom: ErrConflict when either direction
// is taken by another) and then keeps it.
func (c *roomCache) put(rm store.Room) error {
	rm.Transport = c.transport
	if err := c.db.PutRoom(rm); err != nil {
		if errors.Is(err, store.ErrConflict) {
			c.forget(rm.Chat) // what the cache holds may be what lost
		}
		return err
	}
	c.keep(rm, true)
	return nil
}

// forget drops a chat's room from the cache (after it is removed from the
// store, or when what the cache holds of it is in doubt).
func (c *roomCache) forget(chat string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rm, ok := c.byChat[chat]; ok {
		delete(c.byLocal, rm.Local)
		delete(c.byChat, chat)
	}
}

// keep records a room written to the store (written) or read from it,
// and returns what the cache holds then: a read does not replace what a
// write, which may have come after it, put there.
func (c *roomCache) keep(rm store.Room, written bool) store.Room {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.byChat[rm.Chat]; ok {
		if !written {
			return old
		}
		if old.Local != rm.Local {
			delete(c.byLocal, old.Local)
		}
	}
	c.byChat[rm.Chat] = rm
	c.byLocal[rm.Local] = rm
	return rm
}

// mapping returns the gateway instance's room mapping, made on first use.
func (r *rooms) mapping() *roomCache {
	r.mapOnce.Do(func() { r.roomMap = newRoomCache(r.db, r.name) })
	return r.roomMap
}
