package discordfake_test

import (
	"slices"
	"testing"

	"github.com/bwmarrin/discordgo"
)

// Thread members are joined and left through
// /channels/{id}/thread-members/@me: the owner is the first, a public
// thread takes anyone of the guild, a private one nobody new, and only
// threads have members.
func TestThreadMembers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	alice, err := discordgo.New(f.userToken)
	if err != nil {
		t.Fatal(err)
	}
	alice.Client = clientFor(f)
	bob, err := discordgo.New(f.fake.IssueUserToken(f.bob.ID))
	if err != nil {
		t.Fatal(err)
	}
	bob.Client = clientFor(f)
	root := f.fake.Post(f.alice.ID, f.general.ID, "let's discuss")
	public := f.fake.StartThread(f.alice.ID, f.general.ID, root, "discussion")
	private, err := alice.ThreadStartComplex(f.general.ID, &discordgo.ThreadStart{Name: "secret", Type: discordgo.ChannelTypeGuildPrivateThread})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		do       func() error
		wantCode int // 0: success
		thread   string
		want     []string
	}{
		{"the owner first", func() error { return nil }, 0, public.ID, []string{f.alice.ID}},
		{"bob joins", func() error { return bob.ThreadJoin(public.ID) }, 0, public.ID, []string{f.alice.ID, f.bob.ID}},
		{"bob joins again", func() error { return bob.ThreadJoin(public.ID) }, 0, public.ID, []string{f.alice.ID, f.bob.ID}},
		{"alice leaves", func() error { return alice.ThreadLeave(public.ID) }, 0, public.ID, []string{f.bob.ID}},
		{"alice leaves again", func() error { return alice.ThreadLeave(public.ID) }, 0, public.ID, []string{f.bob.ID}},
		{"not a thread", func() error { return bob.ThreadJoin(f.general.ID) }, 50024, public.ID, []string{f.bob.ID}},
		{"a private thread", func() error { return bob.ThreadJoin(private.ID) }, 50001, private.ID, []string{f.alice.ID}},
		{"no such channel", func() error { return bob.ThreadJoin("1") }, 10003, public.ID, []string{f.bob.ID}},
	}
	for _, s := range steps {
		if err := s.do(); restCode(err) != s.wantCode && (s.wantCode != 0 || err != nil) {
			t.Fatalf("%s: %v, want code %d", s.name, err, s.wantCode)
		}
		if c, _ := f.fake.Channel(s.thread); !slices.Equal(c.Members, s.want) {
			t.Fatalf("%s: members of %s %v, want %v", s.name, s.thread, c.Members, s.want)
		}
	}
}
