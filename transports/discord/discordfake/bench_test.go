package discordfake_test

import (
	"testing"
)

// BenchmarkSendMessage measures a message create round trip through
// discordgo's REST client and the fake.
func BenchmarkSendMessage(b *testing.B) {
	f := newFixture(b)
	bot, _ := f.client(b, "Bot "+f.botToken, botIntents)
	for b.Loop() {
		if _, err := bot.ChannelMessageSend(f.general.ID, "hello"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGatewayDelivery measures a message from a Discord user to a bot:
// Post, MESSAGE_CREATE on the Gateway, decoded by discordgo and handed to
// its handler.
func BenchmarkGatewayDelivery(b *testing.B) {
	f := newFixture(b)
	ctx := testCtx(b)
	_, events := f.open(b, "Bot "+f.botToken, botIntents)
	next(ctx, b, events, "READY")
	for b.Loop() {
		f.fake.Post(f.alice.ID, f.general.ID, "hi")
		next(ctx, b, events, "MESSAGE_CREATE")
	}
}
