// Package attach re-hosts attachments: it fetches a file a network keeps
// behind the session's credentials, checks its size and type, and hands
// the bytes to an Uploader that stores them where XMPP users can fetch
// them (an XEP-0363 upload slot, plugged in by the XMPP side).
//
// It owns the download half: credentials through the caller's http.Client
// and Authorize hook, a size limit enforced before and while reading, MIME
// detection, and errors that say why a file could not be had (refused
// credentials, gone, too large, temporary) without showing credentials or
// query strings.
//
// A Fetcher is a value configured once and safe for concurrent use if its
// Client and Authorize are. Files are held in memory, at most MaxSize
// bytes each: an upload slot needs the size before the first byte. The
// package imports nothing of xgate, so that bridge may use it; a transport
// maps its errors to bridge's sentinels.
package attach
