package store

import (
	"fmt"
	"os"
)

// Stats are counts for metrics and admin commands.
type Stats struct {
	Accounts    int   // remote accounts, all users and transports
	Contacts    int   // contact mappings (pairs)
	MessageRefs int   // message-ID pairs
	OutboxItems int   // queued items, all queues
	FileBytes   int64 // size of the database file
	// Commits counts the write transactions committed through this
	// handle since Open (several writers' calls may share one).
	Commits uint64
}

// Stats returns the record counts and the file size. The counts are kept
// in memory: read from the file by the first call after Open (which walks
// the counted buckets once), then updated by every commit, so later calls
// cost the same whatever the size of the store. They include every
// committed write.
func (db *DB) Stats() (Stats, error) {
	if err := db.ensureCounts(); err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	c := &db.counts
	c.mu.Lock()
	s := Stats{Accounts: c.accounts, Contacts: c.contacts, MessageRefs: c.refs, OutboxItems: c.outbox}
	c.mu.Unlock()
	fi, err := os.Stat(db.path)
	if err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	s.FileBytes = fi.Size()
	s.Commits = db.commits.Load()
	return s, nil
}
