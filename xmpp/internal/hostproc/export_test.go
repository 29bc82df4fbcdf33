package hostproc

// SetSkipNote replaces where skip announcements go until the returned
// function restores it.
func SetSkipNote(f func(line string)) (restore func()) {
	old := skipNote
	skipNote = f
	return func() { skipNote = old }
}
