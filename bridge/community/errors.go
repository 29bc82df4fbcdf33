package community

import "errors"

// Errors of community bridging.
var (
	// ErrConfig: a bridge group's configuration is invalid.
	ErrConfig = errors.New("community: invalid configuration")
	// ErrRoomGone: the room no longer exists or refuses the component
	// (destroyed, members-only, unreachable service). Posts to it are
	// dropped and reported.
	ErrRoomGone = errors.New("community: the room is gone")
	// ErrBarred: the room kicked or banned the puppet of this person; it
	// is not joined again, and the person's posts are dropped for the
	// room and reported.
	ErrBarred = errors.New("community: the puppet was kicked or banned")
	// errNotJoined: the room says an occupant is not in it (any more).
	errNotJoined = errors.New("community: not in the room")
	// errTimeout: the room did not answer in time.
	errTimeout = errors.New("community: the room did not answer in time")
)
