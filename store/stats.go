package store

import (
	"fmt"
	"os"

	"go.etcd.io/bbolt"
)

// Stats are counts for metrics and admin commands.
type Stats struct {
	Accounts    int   // remote accounts, all users and transports
	Contacts    int   // contact mappings (pairs)
	MessageRefs int   // message-ID pairs
	OutboxItems int   // queued items, all queues
	FileBytes   int64 // size of the database file
}

// Stats counts records. It walks the pages of the counted buckets without
// decoding any record, and reads the outbox counter.
func (db *DB) Stats() (Stats, error) {
	var s Stats
	err := db.view(func(tx *bbolt.Tx) error {
		for _, c := range []struct {
			bucket string
			n      *int
		}{
			{bucketAccounts, &s.Accounts},
			{bucketContactsByRemote, &s.Contacts},
			{bucketMsgByXMPP, &s.MessageRefs},
		} {
			b, err := bucket(tx, c.bucket)
			if err != nil {
				return err
			}
			*c.n = b.Stats().KeyN
		}
		meta, err := bucket(tx, bucketMeta)
		if err != nil {
			return err
		}
		n, err := outboxLen(meta)
		if err != nil {
			return err
		}
		s.OutboxItems = int(n)
		s.FileBytes = tx.Size()
		if fi, err := os.Stat(db.path); err == nil {
			s.FileBytes = fi.Size()
		}
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("store: stats: %w", err)
	}
	return s, nil
}
